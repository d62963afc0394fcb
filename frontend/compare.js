// Compare: up to 6 more runs from the same start (same config and initial weights), each with
// its own optimizer, learning rate or batch size, on one shared plane and one loss chart.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { RUN_COLORS, fmt } from "./plots/common.js";
import { createContour } from "./plots/contour.js";

export const MAX_RUNS = 7; // the main run and up to 6 compared runs (the surface overlays at most 6)

export function describe(info) {
  const st = info.settings;
  const bs = st.batch_size === null || st.batch_size === undefined ? "full batch" : `batch ${st.batch_size}`;
  const mom = st.optimizer.momentum ? ` m${st.optimizer.momentum}` : "";
  return `${st.optimizer.name}${mom} lr ${fmt(st.lr, 3)}${info.n_samples ? `, ${bs}` : ""}`;
}

export class ComparePanel {
  /**
   * `catalog`: the Catalog (optimizers and their hyperparameters, the steps-per-call limit);
   * `store`: the view store (readouts follow a previewed step); `main()`, `compare()`: the
   * runs; `add(info)`, `remove(run)`: change the comparison; `busy`: the progress indicator.
   */
  constructor(root, { catalog, store, main, compare, add, remove, busy }) {
    this.root = root;
    this.catalog = catalog;
    this.store = store;
    this.main = main;
    this.compare = compare;
    this.onAdd = add;
    this.onRemove = remove;
    this.busy = busy;
  }

  render() {
    const cat = this.catalog;
    const main = this.main();
    if (!main) return;
    const st = main.info.settings;
    const n = main.info.n_samples;
    const opt = h("select", { name: "cmp-optimizer" }, Object.keys(cat.optimizers).map((o) => h("option", { value: o, selected: o === st.optimizer.name }, o)));
    const lrSpec = cat.optimizers[st.optimizer.name].lr;
    const lr = h("input", { type: "number", name: "cmp-lr", step: "any", min: lrSpec.min, max: lrSpec.max, value: st.lr, class: "short" });
    // momentum, for the optimizers that take it (its bounds from the first one that does)
    const withMomentum = Object.keys(cat.optimizers).filter((o) => cat.takes(o, "momentum"));
    const mSpec = withMomentum.length ? cat.optimizers[withMomentum[0]].momentum : { min: 0, max: 1 };
    const momentum = h("input", { type: "number", name: "cmp-momentum", step: "any", min: mSpec.min, max: mSpec.max, value: 0.9, class: "short" });
    const showMomentum = () => (momentum.disabled = !cat.takes(opt.value, "momentum"));
    opt.addEventListener("change", showMomentum);
    showMomentum();
    const batch = h("input", { type: "number", name: "cmp-batch", step: 1, min: 1, max: n || 1, value: st.batch_size ?? n ?? 1, class: "short", disabled: !n });
    const status = h("span", { class: "caption cmp-status" });
    const full = this.compare().length + 1 >= MAX_RUNS;
    const add = h(
      "button",
      {
        name: "cmp-add",
        class: "primary small",
        disabled: full,
        onclick: async () => {
          status.textContent = "starting…";
          const optimizer = { name: opt.value, lr: Number(lr.value) };
          if (cat.takes(opt.value, "momentum") && Number(momentum.value) > 0) optimizer.momentum = Number(momentum.value);
          try {
            await this.add(optimizer, n ? Number(batch.value) : null);
            status.textContent = "";
          } catch (err) {
            status.textContent = err.message;
          }
        },
      },
      "Add run",
    );
    const rows = [main, ...this.compare()].map((run, k) =>
      h("li", {}, [
        h("span", { class: "swatch", style: { background: run.color } }),
        h("span", { class: "run-name" }, run.label),
        h("span", { class: "run-loss" }, this.readout(run)),
        k === 0 ? h("small", {}, " (main)") : h("button", { class: "small", name: "cmp-remove", onclick: () => this.onRemove(run) }, "remove"),
      ]),
    );
    this.rowsEl = h("ul", { class: "runs" }, rows);
    clear(this.root).append(
      h("p", { class: "caption" }, "Same data, same initial weights, a different optimizer, learning rate or batch size: every run is drawn on one shared plane, and play / step / reset drive them all on one clock, so they are compared at the same step."),
      h("div", { class: "panel-bar" }, [
        h("label", { class: "inline" }, ["optimizer ", opt]),
        h("label", { class: "inline" }, ["lr ", lr]),
        h("label", { class: "inline", title: `for ${withMomentum.join(", ")}` }, ["momentum ", momentum]),
        h("label", { class: "inline" }, ["batch ", batch]),
        add,
        status,
      ]),
      this.rowsEl,
      full ? h("p", { class: "caption" }, `At most ${MAX_RUNS - 1} runs to compare at once.`) : "",
      this.lossesSection(main),
    );
  }

  /** Binary targets: the same start trained with cross-entropy and with MSE of a sigmoid. */
  lossesSection(main) {
    const cfg = main.info.config;
    const binary = this.catalog.outputOf(cfg.loss) === "sigmoid" && !(cfg.model && cfg.model.function);
    if (!binary) return "";
    this.lossBox = h("div", { class: "loss-pair" });
    const go = h("button", { class: "small", name: "compare-losses", onclick: () => this.compareLosses().catch((e) => (this.lossBox.textContent = e.message)) }, "Compare losses");
    return h("section", { class: "losses" }, [
      h("p", { class: "caption" }, [
        h("b", {}, "Cross-entropy or MSE? "),
        "Both runs start from the same weights with a sigmoid output; only the loss differs. ",
        go,
      ]),
      this.lossBox,
    ]);
  }

  async compareLosses() {
    const main = this.main();
    const cfg = structuredClone(main.info.config);
    const other = structuredClone(cfg);
    other.loss = "mse";
    other.model = { ...(other.model || {}), output: "sigmoid" };
    delete other.preset; // a tweak of the preset: its start weights stay (init_params)
    const info = await api.create(other);
    this.onAdd(info);
    const plane = { mode: "axes", params: [0, 1], center: "initial", resolution: 41 };
    const a = await api.surface(main.id, plane);
    const b = await api.surface(info.id, { ...plane, extent: a.extent });
    const pair = [
      [a, `${cfg.loss} (cross-entropy)`, "Steep walls where the prediction is confidently wrong: the gradient stays large until the point is classified, so descent keeps moving."],
      [b, "mse of a sigmoid", "Flat tails where the sigmoid saturates: a confidently wrong prediction barely changes the loss, so its gradient vanishes and descent crawls."],
    ];
    clear(this.lossBox).append(
      ...pair.map(([s, title, text]) => {
        const el = h("div", { class: "plot short" });
        const box = h("figure", {}, [h("figcaption", {}, [h("b", {}, title), ` — ${text}`]), el]);
        const path = { name: title, color: RUN_COLORS[0], a: s.path.a, b: s.path.b };
        queueMicrotask(() => createContour(el).draw({ x: s.x, y: s.y, z: s.z, labels: s.labels, runs: [path], current: null, arrows: null }));
        return box;
      }),
    );
  }

  /** Readouts only (called on frames). */
  update() {
    if (!this.rowsEl || this.root.offsetParent === null) return;
    const runs = [this.main(), ...this.compare()];
    [...this.rowsEl.querySelectorAll(".run-loss")].forEach((el, k) => {
      if (runs[k]) el.textContent = this.readout(runs[k]);
    });
  }

  /** `step T · loss L`, or at the previewed step the loss each run had there. */
  readout(run) {
    const at = this.store.state.preview;
    if (at === null || at > run.step) return `step ${run.step} · loss ${fmt(run.info.loss)}`;
    const row = run.history.evalsAt(at);
    return `at step ${at} · loss ${fmt(row ? row.loss : null)}${row && row.step !== at ? ` (step ${row.step})` : ""}`;
  }

  /**
   * A run from the main run's config (complete, as the server normalised it: same data,
   * same seed, same start) with another optimizer or batch size, caught up to its step.
   */
  async add(optimizer, batchSize) {
    const main = this.main();
    const config = JSON.parse(JSON.stringify(main.info.config));
    config.optimizer = optimizer;
    if (main.info.n_samples) config.batch_size = batchSize === null || batchSize >= main.info.n_samples ? null : batchSize;
    let info = await api.create(config);
    const T = main.step;
    // the step calls only catch up: ask for the index column alone
    const body = { evaluate: "last", fields: this.catalog.columns.index };
    const catchUp = (signal) => api.stepTo(info.id, 0, T, { maxPerCall: this.catalog.limits.max_steps_per_call, body, signal });
    try {
      if (T > 0) await this.busy.track(`Training the new run to step ${T}`, catchUp);
    } catch (err) {
      api.remove(info.id).catch(() => {});
      throw err;
    }
    if (T > 0) info = await api.get(info.id);
    this.onAdd(info);
  }
}

export function colorFor(index) {
  return RUN_COLORS[index % RUN_COLORS.length];
}
