// The lower panel: backprop of one step and curvature over time (and the tab strip).
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { createBackprop } from "./plots/backprop.js";
import { fmt } from "./plots/common.js";
import { createCurvature } from "./plots/curvature.js";
import { invalidate } from "./scheduler.js";

/** Tabs: buttons [data-tab] show the matching [data-panel]. */
export function setupTabs(root, view, onShow) {
  const show = (name) => {
    for (const b of root.querySelectorAll("[data-tab]")) b.classList.toggle("active", b.dataset.tab === name);
    for (const p of root.querySelectorAll("[data-panel]")) p.hidden = p.dataset.panel !== name;
    onShow(name);
  };
  for (const b of root.querySelectorAll("[data-tab]")) b.addEventListener("click", () => show(b.dataset.tab));
  show(view.tab);
  return show;
}

/** Poll-on-demand helper: one request in flight, spaced by `gap` ms while playing. */
class Refresher {
  constructor(gap) {
    this.gap = gap;
    this.busy = false;
    this.at = -1e9;
  }

  due(force) {
    if (this.busy && force) this.again = true; // asked while busy: once more when it ends
    return !this.busy && (force || performance.now() - this.at > this.gap);
  }

  /** The request ended: true when a forced refresh came in meanwhile. */
  done() {
    this.busy = false;
    this.at = performance.now();
    const again = Boolean(this.again);
    this.again = false;
    return again;
  }
}

export class BackpropPanel {
  /** `store`: the view store (a previewed step is the one shown); `main()`: the main run. */
  constructor(root, { store, main }) {
    this.store = store;
    this.main = main;
    this.root = root;
    this.sel = { layer: 0, i: 0, j: 0 };
    this.follow = true;
    this.r = new Refresher(2000);
    this.stepBox = h("input", { type: "number", name: "bp-step", min: 1, value: 1, class: "short" });
    this.stepBox.addEventListener("change", () => {
      this.follow = false;
      this.refresh(true);
    });
    const now = h("button", { class: "small", name: "bp-now", onclick: () => ((this.follow = true), this.refresh(true)) }, "latest");
    this.out = h("div", { class: "bp" });
    this.widget = createBackprop(this.out, (sel) => {
      this.sel = sel;
      this.widget.render(this.widget.trace, sel);
    });
    clear(root).append(
      h("div", { class: "panel-bar" }, [h("label", { class: "inline" }, ["update at step ", this.stepBox]), now]),
      h("p", { class: "caption" }, [
        "Backpropagation is the chain rule: the forward pass saves each layer's values, the backward pass multiplies local slopes from the loss back to the input. ",
        "A slope near 0 (a saturated sigmoid) shrinks everything behind it: that is the vanishing gradient.",
      ]),
      this.out,
    );
  }

  get visible() {
    return this.root.offsetParent !== null;
  }

  async refresh(force = false) {
    const main = this.main();
    if (!main || !this.visible || !this.r.due(force)) return;
    if (main.info.config.model && main.info.config.model.function) {
      clear(this.out).append(h("p", { class: "caption" }, "An analytic surface has no layers: its gradient comes straight from the formula."));
      return;
    }
    const at = this.store.state.preview;
    const latest = Math.max(1, at ?? main.step);
    const k = this.follow ? latest : Math.min(Math.max(1, Number(this.stepBox.value) || 1), main.step + 1);
    this.stepBox.max = main.step + 1;
    this.stepBox.value = k;
    this.r.busy = true;
    try {
      // following the latest: no step, so a run that steps back as it diverges is never asked past its end
      const trace = await api.backprop(main.id, this.follow && at === null ? undefined : k);
      this.widget.render(trace, this.sel);
    } catch (err) {
      clear(this.out).append(h("p", { class: "caption" }, err.status === 404 || err.status === 405 ? "The server has no backprop endpoint yet." : err.message));
    } finally {
      if (this.r.done()) this.refresh(true);
    }
  }
}

export class CurvaturePanel {
  /** `store`: the view store (a previewed step is the one measured); `main()`; `busy`: the progress indicator. */
  constructor(root, { store, main, busy }) {
    this.store = store;
    this.main = main;
    this.busy = busy;
    this.root = root;
    this.r = new Refresher(3000);
    this.plotEl = h("div", { class: "plot short", id: "plot-curvature" });
    this.readout = h("p", { class: "curv-readout" });
    clear(root).append(
      h("p", { class: "caption" }, [
        "If the learning rate is too large you overshoot the valley. For plain gradient descent the edge is exact: ",
        "steps are stable while λmax (the sharpest curvature) stays below 2 / lr, and bounce ever higher once it climbs above.",
      ]),
      this.readout,
      this.plotEl,
    );
    this.plot = createCurvature(this.plotEl);
  }

  get visible() {
    return this.root.offsetParent !== null;
  }

  async refresh(force = false) {
    const main = this.main();
    if (!main || !this.visible || !this.r.due(force)) return;
    this.r.busy = true;
    const T = main.step;
    const at = this.store.state.preview ?? T;
    try {
      const every = Math.max(1, Math.ceil(T / 40));
      const asked = this.store.state.preview;
      const c = await this.busy.track(`Computing the curvature at step ${at}`, (signal) => api.curvature(main.id, { step: asked ?? undefined, series_every: every }, signal));
      const s = c.series;
      invalidate("curvature", () => this.plot.draw({ step: s.step, lambdaMax: s.lambda_max, lr: s.lr }));
      const ratio = c.lr_times_lambda;
      this.readout.className = `curv-readout ${c.stable ? "ok" : "bad"}`;
      this.readout.textContent =
        `Step ${c.step}: λmax = ${fmt(c.lambda_max)}, lr = ${fmt(c.lr)}, lr × λmax = ${fmt(ratio, 3)} ` +
        (c.stable ? `< 2: stable (the edge is lr = ${fmt(c.edge)}).` : `> 2: plain gradient descent overshoots (the edge is lr = ${fmt(c.edge)}).`);
    } catch (err) {
      this.readout.className = "curv-readout";
      this.readout.textContent = err.name === "AbortError" ? "Cancelled." : err.status === 404 || err.status === 405 ? "The server has no curvature endpoint yet." : err.message;
    } finally {
      if (this.r.done()) this.refresh(true);
    }
  }
}

