// The left column, part 2: live training settings. Each change goes over the socket
// (`set`) and applies from the next step, without a reset: the path carries on.
import { clear, h } from "./dom.js";
import { field, logSlider, numberInput, selectInput, setQuietly, specField } from "./forms.js";
import { fmt } from "./plots/common.js";

export class TrainingControls {
  /** `catalog`: the Catalog (optimizers, schedules); `live(change)` sends a live change for the main run. */
  constructor(root, { catalog, live }) {
    this.root = root;
    this.catalog = catalog;
    this.live = live;
  }

  render(info) {
    const cat = this.catalog;
    const st = info.settings;
    const opt = st.optimizer;
    // the learning rate has its own slider; the other hyperparameters go in the details
    const { lr: lrSpec, ...specs } = cat.optimizers[opt.name];
    this.optName = opt.name;
    this.schedName = (st.schedule || {}).name;
    // the base learning rate (a schedule scales it; the hint shows the lr in force)
    this.lr = logSlider("learning-rate", { value: opt.lr ?? st.lr, bounds: lrSpec, onChange: (lr) => this.live({ lr }) });
    this.lrNow = h("small", { class: "lr-now", title: "The learning rate in force now: the base rate above, scaled by the schedule" });
    this.lr.el.querySelector(".row").append(this.lrNow);
    this.showLr(st.lr);
    const hyper = Object.entries(specs).map(([k, s]) => specField(k, s, opt[k], (v) => this.live({ optimizer: { [k]: v } })));
    const picker = selectInput("optimizer", Object.keys(cat.optimizers).map((n) => [n, n]), opt.name, (name) =>
      this.live({ optimizer: { name, lr: Number(this.lr.el.querySelector(".lr-box").value) } }),
    );
    // the picked optimizer's update rule (torch's notation) and when it helps, from the catalog
    const doc = cat.optimizer_docs?.[opt.name];
    const rule = doc ? h("div", { class: "opt-rule", id: `${picker.id}-rule` }, [h("code", {}, doc.rule), h("p", { class: "caption" }, doc.when)]) : null;
    if (rule) picker.setAttribute("aria-describedby", rule.id);
    clear(this.root).append(
      h("h3", {}, ["Training ", h("small", {}, "live: applies from the next step")]),
      field("optimizer", picker, "Switching keeps the learning rate and starts the new optimizer's state fresh"),
      rule,
      this.lr.el,
      this.batchField(info),
      h("details", { class: "hyper" }, [h("summary", {}, `${opt.name} hyperparameters`), ...hyper, ...this.extras(cat, st)]),
    );
  }

  batchField(info) {
    const n = info.n_samples;
    if (!n) return h("p", { class: "caption" }, "Analytic surface: every step uses the exact gradient.");
    const size = info.settings.batch_size;
    const full = h("input", { type: "checkbox", name: "full-batch", checked: size === null || size >= n });
    const slider = h("input", { type: "range", name: "batch-slider", min: 1, max: n, step: 1, value: size ?? n, disabled: full.checked, "aria-label": "batch size (slider)" });
    const box = h("input", { type: "number", name: "batch-size", min: 1, max: n, step: 1, value: size ?? n, disabled: full.checked, class: "batch-box", "aria-label": "batch size" });
    const send = (v) => this.live({ batch_size: v === null || v >= n ? null : v });
    full.addEventListener("change", () => {
      slider.disabled = box.disabled = full.checked;
      if (!full.checked && Number(box.value) >= n) box.value = slider.value = n > 32 ? 32 : Math.max(1, n >> 1);
      send(full.checked ? null : Number(box.value));
    });
    slider.addEventListener("input", () => (box.value = slider.value));
    slider.addEventListener("change", () => send(Number(slider.value)));
    box.addEventListener("change", () => {
      const v = Number.parseInt(box.value, 10);
      if (Number.isInteger(v) && v >= 1 && v <= n) {
        slider.value = v;
        send(v);
      }
    });
    this.batch = { n, full, slider, box };
    return h("div", { class: "field batch" }, [
      h("label", { for: "batch-slider" }, ["batch size ", h("small", {}, `1 = stochastic, ${n} = full batch`)]),
      h("div", { class: "row" }, [slider, box]),
      h("label", { class: "inline" }, [full, "full batch"]),
      h(
        "p",
        { class: "caption" },
        "Full batch: an accurate gradient, one slow step per pass. Batch size 1 (stochastic): fast, noisy steps; the noise can even help escape bad spots. Mini-batches (32 is common) sit in between.",
      ),
    ]);
  }

  extras(cat, st) {
    const sched = st.schedule || { name: "constant" };
    const spec = cat.schedules[sched.name];
    const out = [
      field(
        "lr schedule",
        selectInput("schedule", Object.keys(cat.schedules).map((n) => [n, n]), sched.name, (name) => this.live({ schedule: { name } })),
        spec ? `${spec.description} ${spec.formula}` : "",
      ),
    ];
    if (spec) {
      for (const [k, s] of Object.entries(spec.params)) {
        out.push(field(k, numberInput(k, s, sched[k] ?? s.default, (v) => this.live({ schedule: { ...sched, [k]: v } }))));
      }
    }
    out.push(
      field(
        "clip gradient norm",
        numberInput("clip_norm", { type: "float", min: 0 }, st.clip_norm, (v) => this.live({ clip_norm: v }), { nullable: true }),
        "Rescale any gradient longer than this (empty: no clipping); the remedy for exploding gradients",
      ),
    );
    return out;
  }

  /** The lr in force next to the base lr box, while a schedule is active. */
  showLr(lr) {
    const scheduled = Boolean(this.schedName && this.schedName !== "constant");
    this.lrNow.hidden = !scheduled || !Number.isFinite(lr);
    this.lrNow.textContent = `now ${fmt(lr, 3)}`;
  }

  /**
   * A steps frame of the main run. No state messages come while playing: show the lr of
   * the latest step until the next state message brings the settings (`settings.lr`).
   */
  onFrame(frame) {
    const lr = Array.isArray(frame.lr) ? frame.lr[frame.lr.length - 1] : frame.lr;
    if (frame.status === "running" && lr !== null && lr !== undefined) this.showLr(lr);
  }

  /** A state message: show the settings in force (without touching a field being edited). */
  update(info) {
    const st = info.settings;
    if (st.optimizer.name !== this.optName || (st.schedule || {}).name !== this.schedName) {
      const open = this.root.querySelector("details.hyper")?.open;
      this.render(info);
      if (open) this.root.querySelector("details.hyper").open = true;
      return;
    }
    this.lr.set(st.optimizer.lr ?? st.lr);
    this.showLr(st.lr);
    for (const input of this.root.querySelectorAll("[data-param]")) {
      const v = st.optimizer[input.dataset.param];
      if (v !== undefined && !Array.isArray(v)) setQuietly(input, v);
    }
    if (this.batch) {
      const { n, full, slider, box } = this.batch;
      const size = st.batch_size;
      if (document.activeElement !== box && document.activeElement !== slider) {
        full.checked = size === null || size >= n;
        slider.disabled = box.disabled = full.checked;
        slider.value = box.value = size ?? n;
      }
    }
  }
}
