// The left column, part 1: presets, data, model, loss and seed (a change starts a new run).
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { field, numberInput, selectInput } from "./forms.js";
import { DEFAULT_CONFIG } from "./state.js";

const clone = (v) => JSON.parse(JSON.stringify(v));
const sameNumbers = (a, b) => Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i]);
/** The init select's entry for explicit start weights (`config.init_params`). */
const EXPLICIT_START = "__start";
/** Data options every dataset form takes (not in the catalog's per-generator options). */
const GENERIC = { validation_split: 0, standardize: false };

/** The generic data options of `data` that differ from their defaults (kept across a dataset change). */
function generic(data) {
  const out = {};
  for (const [k, def] of Object.entries(GENERIC)) if (data && data[k] !== undefined && data[k] !== def) out[k] = data[k];
  return out;
}

/** Set a generic data option; the default drops the key, so configs stay minimal. */
function setGeneric(data, key, value) {
  if (value === GENERIC[key]) delete data[key];
  else data[key] = value;
}

export class SetupControls {
  /** `catalog`: the Catalog; `newRun(config)` starts a session from a config. */
  constructor(root, { catalog, newRun }) {
    this.root = root;
    this.catalog = catalog;
    this.newRun = newRun;
    this.csvInfo = null;
  }

  /** Rebuild from a session's config (a new main session). */
  render(info) {
    const cat = this.catalog;
    this.config = clone(info.config);
    const c = this.config;
    const isFunction = Boolean(c.model && c.model.function);
    clear(this.root).append(
      this.presets(cat, c.preset),
      h("section", { class: "group" }, [
        h("h3", {}, "Data"),
        ...(isFunction ? [h("p", { class: "caption" }, "An analytic surface needs no data.")] : this.dataFields(cat, c.data || {}, info.n_samples)),
      ]),
      h("section", { class: "group" }, [h("h3", {}, "Model"), ...this.modelFields(cat, c, isFunction)]),
    );
  }

  /**
   * Start a new run: the shown config with one change. The shown config is the server's
   * complete copy, so the new one states every choice and inherits nothing it did not say.
   * A tweak of a field keeps the preset (and its start weights, unless `redraw`); `leaves`
   * (another dataset, model kind or layer shape) drops the preset and the start weights,
   * which belong to the old shape.
   */
  restart(mutate, { leaves = false, redraw = leaves, keepStart = false } = {}) {
    const c = clone(this.config);
    mutate(c);
    if (keepStart && c.init_params) {
      // the same start weights when they still fit the model (a loss change, bce -> mse):
      // a fair comparison starts from one point; if they do not fit, fresh ones are drawn
      const fresh = clone(c);
      fresh.init_params = null;
      if (JSON.stringify(c) === JSON.stringify(this.config)) return;
      this.newRun(c, { fallback: fresh });
      return;
    }
    // zeros suits the chapter's single neuron; hidden layers need symmetry broken
    const m = c.model || {};
    if (m.hidden && m.hidden.length && m.init === "zeros" && !this.pickedZeros) m.init = "xavier";
    if (leaves) delete c.preset;
    if (redraw) c.init_params = null;
    // a box that loses focus fires "change" again with the value already in force:
    // that is no new setting, so the run (and what it has trained) stays
    if (JSON.stringify(c) === JSON.stringify(this.config)) return;
    this.newRun(c);
  }

  presets(cat, active) {
    const names = Object.keys(cat.presets);
    const desc = h("p", { class: "caption preset-desc" }, active ? cat.presets[active].description : "Custom settings (no preset).");
    return h("section", { class: "group" }, [
      h("h3", {}, "Presets"),
      h(
        "div",
        { class: "presets" },
        names.map((name) =>
          h(
            "button",
            {
              class: `preset${name === active ? " active" : ""}`,
              title: cat.presets[name].description,
              dataset: { preset: name },
              onclick: () => this.newRun({ preset: name }, { freshView: true }),
            },
            name,
          ),
        ),
      ),
      desc,
    ]);
  }

  /** `nTrain`: the session's training rows (after any validation split). */
  dataFields(cat, data, nTrain) {
    const out = [];
    const custom = data.csv !== undefined || data.X !== undefined;
    const options = Object.keys(cat.datasets).map((n) => [n, n]);
    if (custom) options.push(["__custom", this.csvInfo ? this.csvInfo.label : "custom data"]);
    out.push(
      field(
        "dataset",
        selectInput("dataset", options, custom ? "__custom" : data.name, (name) =>
          this.restart(
            (c) => {
              c.data = { name, ...generic(c.data) };
              c.loss = cat.lossForTask(cat.datasets[name].task);
              if (c.model && c.model.function) c.model = { hidden: [], init: "xavier" };
            },
            { leaves: true },
          ),
        ),
        custom ? "" : cat.datasets[data.name]?.description,
      ),
    );
    const spec = custom ? null : cat.datasets[data.name];
    if (spec) {
      for (const [opt, s] of Object.entries(spec.options)) {
        out.push(
          field(
            opt,
            numberInput(opt, s, data[opt] ?? s.default, (v) => this.restart((c) => (c.data[opt] = v))),
          ),
        );
      }
    }
    out.push(...this.genericFields(data, nTrain), this.csvUpload());
    return out;
  }

  /** Validation split (a slider to 0.5 plus a box up to the server's 0.9) and standardize. */
  genericFields(data, n) {
    const split = data.validation_split ?? 0;
    const slider = h("input", { type: "range", id: "validation-slider", name: "validation-slider", min: 0, max: 0.5, step: 0.05, value: split, "aria-label": "validation split" });
    const box = h("input", { type: "number", name: "validation_split", min: 0, max: 0.9, step: 0.05, value: split, class: "split-box", "aria-label": "validation split" });
    const send = (v) => this.restart((c) => setGeneric(c.data, "validation_split", v));
    slider.addEventListener("input", () => (box.value = slider.value));
    slider.addEventListener("change", () => send(Number(slider.value)));
    box.addEventListener("change", () => {
      const v = Number(box.value);
      const ok = box.value.trim() !== "" && Number.isFinite(v) && v >= 0 && v <= 0.9;
      box.classList.toggle("invalid", !ok);
      if (!ok) return;
      slider.value = Math.min(v, 0.5);
      send(v);
    });
    const held = split > 0 && n ? `, ${n} rows left to train on` : "";
    const std = h("input", { type: "checkbox", name: "standardize", checked: Boolean(data.standardize) });
    std.addEventListener("change", () => this.restart((c) => setGeneric(c.data, "standardize", std.checked)));
    return [
      h("div", { class: "field split", title: "Fraction of the rows held out (seeded) to measure the loss on data the model never trains on; 0 = none" }, [
        h("label", { for: "validation-slider" }, ["validation split ", h("small", {}, split > 0 ? `${Math.round(100 * split)}% held out${held}` : "0 = none")]),
        h("div", { class: "row" }, [slider, box]),
      ]),
      h("label", { class: "inline", title: "Rescale each feature to mean 0 and standard deviation 1 (statistics of the training rows)" }, [std, "standardize features"]),
    ];
  }

  csvUpload() {
    const status = h("p", { class: "caption csv-status" }, this.csvInfo ? this.csvInfo.summary : "");
    const target = h("input", { name: "csv-target", type: "text", placeholder: "target column (default: last)", class: "target" });
    const file = h("input", { name: "csv-file", type: "file", accept: ".csv,text/csv,text/plain" });
    file.addEventListener("change", async () => {
      const f = file.files && file.files[0];
      if (!f) return;
      status.textContent = "checking…";
      status.classList.remove("error");
      try {
        const text = await f.text();
        const res = await api.uploadCsv(text, target.value.trim());
        this.csvInfo = {
          label: f.name,
          summary: `${f.name}: ${res.n_samples} rows, ${res.n_features} features (${res.feature_names.join(", ")}) → ${res.target_name}, ${res.task}`,
        };
        this.restart(
          (c) => {
            c.data = { ...res.data, ...generic(c.data) };
            c.loss = res.suggested_loss;
            if (c.model && c.model.function) c.model = { hidden: [], init: "xavier" };
          },
          { leaves: true },
        );
      } catch (err) {
        status.textContent = err.message;
        status.classList.add("error");
      }
    });
    return h("details", { class: "csv", open: Boolean(this.csvInfo) }, [h("summary", {}, "Upload a CSV"), file, target, status]);
  }

  modelFields(cat, c, isFunction) {
    const model = c.model || {};
    const kinds = [["network", "network (layers)"], ...Object.keys(cat.functions).map((f) => [f, `function: ${f}`])];
    const out = [
      field(
        "model",
        selectInput("model-kind", kinds, isFunction ? model.function : "network", (kind) =>
          this.restart(
            (cfg) => {
              if (kind === "network") {
                const name = Object.keys(cat.datasets).includes("moons") ? "moons" : Object.keys(cat.datasets)[0];
                cfg.data = { name };
                cfg.loss = cat.lossForTask(cat.datasets[name].task);
                cfg.model = { hidden: [8], activation: "tanh", init: "xavier" };
              } else {
                cfg.data = null;
                cfg.loss = null;
                cfg.model = { function: kind };
                cfg.batch_size = null;
              }
            },
            { leaves: true },
          ),
        ),
      ),
    ];
    if (isFunction) {
      const spec = cat.functions[model.function];
      out.push(h("p", { class: "caption" }, spec.description));
      for (const [opt, s] of Object.entries(spec.options)) {
        out.push(field(opt, numberInput(opt, s, model[opt] ?? s.default, (v) => this.restart((cfg) => (cfg.model[opt] = v)))));
      }
      return out;
    }
    const sizes = model.hidden || [];
    const hidden = h("input", { name: "hidden", type: "text", value: sizes.join(", "), placeholder: "none: a single neuron" });
    hidden.addEventListener("change", () => {
      const text = hidden.value.trim();
      const next = text ? text.split(/[\s,]+/).map((t) => Number.parseInt(t, 10)) : [];
      const lim = cat.limits;
      const ok = next.every((n) => Number.isInteger(n) && n >= 1 && n <= lim.max_width) && next.length <= lim.max_hidden_layers;
      hidden.classList.toggle("invalid", !ok);
      if (ok && !sameNumbers(next, sizes)) this.restart((cfg) => (cfg.model.hidden = next), { leaves: true });
    });
    out.push(
      field("hidden layers", hidden, "Widths of the hidden layers, e.g. 16, 16 (empty: one neuron, like the chapter)"),
      sizes.length ? this.activationField(cat, model) : this.outputField(cat, c),
      this.initField(cat, c),
      field(
        "loss function",
        selectInput("loss-function", Object.keys(cat.losses).map((l) => [l, l]), c.loss, (l) => this.restart((cfg) => this.setLoss(cfg, l), { keepStart: true })),
        cat.losses[c.loss]?.description,
      ),
      this.outputChoice(cat, c),
      field("seed", numberInput("seed", { type: "int", min: 0, max: 4294967295 }, c.seed ?? 0, (v) => this.restart((cfg) => (cfg.seed = v), { redraw: true })), "Drives the initial weights and the shuffling"),
    );
    return out;
  }

  /** The hidden layers' activation (a network with hidden layers). */
  activationField(cat, model) {
    const activation = typeof model.activation === "string" ? model.activation : Object.keys(cat.activations)[0];
    return field(
      "activation",
      selectInput("activation", Object.keys(cat.activations).map((a) => [a, a]), activation, (a) => this.restart((cfg) => (cfg.model.activation = a))),
      cat.activations[activation],
    );
  }

  /** Another loss; an output choice the new loss does not take is dropped (mse's sigmoid). */
  setLoss(cfg, loss) {
    cfg.loss = loss;
    const options = this.catalog.losses[loss]?.output_options || [];
    if (cfg.model && "output" in cfg.model && !options.includes(cfg.model.output)) delete cfg.model.output;
  }

  /** A loss that lets the output activation be chosen (mse: identity or sigmoid on 0/1 targets). */
  outputChoice(cat, c) {
    const options = cat.losses[c.loss]?.output_options || [];
    if (options.length < 2) return "";
    const now = (c.model && c.model.output) || cat.outputOf(c.loss) || options[0];
    return field(
      "output",
      selectInput("model-output-choice", options.map((o) => [o, o]), now, (o) => this.restart((cfg) => (cfg.model = { ...(cfg.model || {}), output: o }), { keepStart: true })),
      cat.outputs?.[now]?.description,
    );
  }

  /** No hidden layer: the one neuron's activation is the output's, which the loss decides. */
  outputField(cat, c) {
    const loss = c.loss;
    const output = (c.model && c.model.output) || cat.outputOf(loss);
    const text = output ? `${output} output` : "no output activation";
    const el = h("output", { name: "model-output", class: "model-output" }, text);
    return field("activation", el, `No hidden layer: the neuron's activation is the output's, set by the loss (${loss} → ${output}). Add hidden layers to choose theirs.`);
  }

  /** How theta_0 is made: explicit start weights (the chapter's, or a preset's), or a scheme. */
  initField(cat, c) {
    const model = c.model || {};
    const scheme = typeof model.init === "string" ? model.init : model.init ? model.init.name : null;
    const options = Object.keys(cat.initialisers).map((a) => [a, a]);
    let value = scheme;
    let help = cat.initialisers[scheme];
    if (c.init_params) {
      // the page opens on the chapter's example (state.js): its start is the chapter's weights
      const chapter = sameNumbers(c.init_params, cat.presetStart(DEFAULT_CONFIG.preset));
      options.unshift([EXPLICIT_START, chapter ? "the chapter's weights" : "explicit start weights"]);
      value = EXPLICIT_START;
      help = `This run starts from ${chapter ? "the chapter's seeded weights" : "given weights"} (init_params); pick a scheme to draw new ones.`;
    }
    const select = selectInput("init", options, value, (a) => {
      if (a === EXPLICIT_START) return;
      this.pickedZeros = a === "zeros";
      this.restart((cfg) => (cfg.model.init = a), { redraw: true });
    });
    return field("init", select, help);
  }
}
