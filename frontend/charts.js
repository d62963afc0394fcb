// The live 2-D charts: loss curve, per-layer gradient norms and the data view.
import { api } from "./api.js";
import { objectiveLabel } from "./catalog.js";
import { h } from "./dom.js";
import { createDataView } from "./plots/dataview.js";
import { createGradNorms } from "./plots/gradnorms.js";
import { createLossCurve } from "./plots/losscurve.js";
import { invalidate } from "./scheduler.js";

const POINTS = 800; // drawn per series; the history itself stays complete

export class Charts {
  /**
   * `store`: the view store (ylog, preview); `main()`, `compare()`: the runs drawn;
   * `lossTools`: where the loss chart's log toggle goes.
   */
  constructor({ lossEl, normsEl, dataEl, dataNote, lossTools, store, main, compare }) {
    this.store = store;
    this.main = main;
    this.compare = compare;
    this.loss = createLossCurve(lossEl);
    this.norms = createGradNorms(normsEl);
    this.data = createDataView(dataEl, dataNote);
    this.dataBusy = false;
    this.dataAt = -1e9;
    this.dataDue = false;
    this.dataStep = undefined;
    // the box shows the scale drawn (the data may pick log); ticking it is the user's choice
    this.logBox = h("input", { type: "checkbox", name: "ylog", checked: store.state.ylog === true });
    this.logBox.addEventListener("change", () => store.set({ ylog: this.logBox.checked }));
    lossTools.append(h("label", { class: "inline" }, [this.logBox, "log scale"]));
    store.subscribe(() => this.draw(), ["ylog"]);
    store.subscribe(() => (this.draw(), this.refreshData(true)), ["preview"]);
  }

  get marker() {
    return this.store.state.preview;
  }

  lossData() {
    const main = this.main();
    const runs = [main, ...this.compare()].map((run) => {
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
    // live changes, marked at the step they applied from
    const events = (main.info.events || []).map(([step, change]) => ({ step, text: changeText(change) }));
    return { runs, ylog: this.store.state.ylog, marker: this.marker, events, yTitle: objectiveLabel(main.info.config) };
  }

  normsData() {
    const main = this.main();
    const layers = main.info.layers || [];
    if (!layers.length) {
      const sc = main.history.scalars.decimated(POINTS);
      return { step: sc.step, norms: sc.grad_norm.map((g) => [g]), layers: ["gradient"] };
    }
    const ev = main.history.evals.decimated(POINTS);
    return { step: ev.step, norms: ev.layer_grad_norms, layers, marker: this.marker };
  }

  draw() {
    if (!this.main()) return;
    invalidate(
      "losscurve",
      () => {
        const out = this.loss.draw(this.lossData());
        this.logBox.checked = this.loss.log; // the scale drawn, whoever chose it
        return out;
      },
      { adaptive: true },
    );
    invalidate("norms", () => this.norms.draw(this.normsData()), { adaptive: true });
  }

  /** Fetch the model's predictions again (at most one request in flight, ~4 a second), at the previewed step if any. */
  async refreshData(force = false) {
    const main = this.main();
    if (!main) return;
    const at = this.marker;
    if (!force && at !== null && this.dataStep === at) return; // a preview does not change while playing
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
      this.dataStep = at;
      let d = await api.data(main.id, 50, at);
      const stop = at ?? main.step;
      if (d.kind === "surface" && stop > 0) d = { kind: "slice", label: objectiveLabel(main.info.config), ...(await api.slice(main.id, { start: 0, stop })) };
      if (this.main() === main) invalidate("data", () => this.data.draw(d), { adaptive: true });
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

/** A live change in a few words, for its mark on the loss chart (`lr 0.1`, `batch size 16`). */
export function changeText(change) {
  const parts = [];
  for (const [k, v] of Object.entries(change)) {
    const name = k.replaceAll("_", " ");
    if (k === "optimizer") parts.push(Object.entries(v).map(([n, x]) => (n === "name" ? x : `${n} ${x}`)).join(" "));
    else if (v === null) parts.push(`${name}: none`);
    else if (typeof v === "object") parts.push(`${name} ${v.name ?? JSON.stringify(v)}`);
    else parts.push(`${name} ${v}`);
  }
  return parts.join(", ");
}
