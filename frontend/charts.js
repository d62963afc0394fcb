// The live 2-D charts: loss curve, per-layer gradient norms and the data view.
import { api } from "./api.js";
import { objectiveLabel } from "./catalog.js";
import { createDataView } from "./plots/dataview.js";
import { createGradNorms } from "./plots/gradnorms.js";
import { createLossCurve } from "./plots/losscurve.js";
import { invalidate } from "./scheduler.js";

const POINTS = 800; // drawn per series; the history itself stays complete

export class Charts {
  constructor(app, { lossEl, normsEl, dataEl, dataNote }) {
    this.app = app;
    this.loss = createLossCurve(lossEl);
    this.norms = createGradNorms(normsEl);
    this.data = createDataView(dataEl, dataNote);
    this.marker = null;
    this.dataBusy = false;
    this.dataAt = -1e9;
    this.dataDue = false;
  }

  lossData() {
    const runs = [this.app.main, ...this.app.compare].map((run) => {
      const ev = run.history.evals.decimated(POINTS);
      const sc = run.history.scalars.decimated(POINTS);
      // held-out loss: only rows that have it (none without a validation split)
      const has = ev.val_loss.map((v) => v !== null && v !== undefined);
      return {
        name: run.label,
        color: run.color,
        step: ev.step,
        loss: ev.loss,
        valStep: ev.step.filter((_, i) => has[i]),
        valLoss: ev.val_loss.filter((_, i) => has[i]),
        batchStep: sc.step,
        batchLoss: sc.batch_loss,
      };
    });
    return { runs, ylog: this.app.view.ylog, marker: this.marker, yTitle: objectiveLabel(this.app.main.info.config) };
  }

  normsData() {
    const main = this.app.main;
    const layers = main.info.layers || [];
    if (!layers.length) {
      const sc = main.history.scalars.decimated(POINTS);
      return { step: sc.step, norms: sc.grad_norm.map((g) => [g]), layers: ["gradient"] };
    }
    const ev = main.history.evals.decimated(POINTS);
    return { step: ev.step, norms: ev.layer_grad_norms, layers };
  }

  draw() {
    if (!this.app.main) return;
    invalidate("losscurve", () => this.loss.draw(this.lossData()), { adaptive: true });
    invalidate("norms", () => this.norms.draw(this.normsData()), { adaptive: true });
  }

  setMarker(step) {
    this.marker = step;
    this.draw();
  }

  /** Fetch the model's predictions again (at most one request in flight, ~4 a second). */
  async refreshData(force = false) {
    const main = this.app.main;
    if (!main) return;
    if (this.dataBusy) {
      this.dataDue = true;
      return;
    }
    if (!force && performance.now() - this.dataAt < 250) {
      if (!this.dataTimer) this.dataTimer = setTimeout(() => ((this.dataTimer = null), this.refreshData()), 260);
      return;
    }
    this.dataBusy = true;
    try {
      let d = await api.data(main.id, 50);
      if (d.kind === "surface" && main.step > 0) d = { kind: "slice", label: objectiveLabel(main.info.config), ...(await api.slice(main.id, { start: 0, stop: main.step })) };
      if (this.app.main === main) invalidate("data", () => this.data.draw(d), { adaptive: true });
    } catch (err) {
      if (err.status !== 404) console.warn("data view:", err.message);
    } finally {
      this.dataBusy = false;
      this.dataAt = performance.now();
      if (this.dataDue) {
        this.dataDue = false;
        this.refreshData();
      }
    }
  }
}
