// Wires the page: the session, its stream, the controls and every view.
import { api } from "./api.js";
import { Catalog } from "./catalog.js";
import { Charts } from "./charts.js";
import { ComparePanel, MAX_RUNS, colorFor, describe } from "./compare.js";
import { SetupControls } from "./controls.js";
import { $, h } from "./dom.js";
import { ExportPanel, downloadPng } from "./exporting.js";
import { BackpropPanel, CurvaturePanel, setupTabs } from "./inspect.js";
import { Landscape } from "./landscape.js";
import { buildLayout, notice } from "./layout.js";
import { Run } from "./run.js";
import { stats } from "./scheduler.js";
import { DEFAULT_CONFIG, decodeHash, encodeHash, sameRun, storage } from "./state.js";
import { TrainingControls } from "./training.js";
import { Transport } from "./transport.js";

class App {
  /** `catalog`: the Catalog, handed to each widget that builds lists from it. */
  constructor(catalog, view) {
    this.catalog = catalog;
    this.view = view;
    this.main = null;
    this.compare = [];
    const ui = buildLayout((el, name) => downloadPng(el, name).catch((e) => notice(e.message)));
    this.ui = ui;
    this.setup = new SetupControls($("#setup"), { catalog, newRun: (config, opts) => this.newRun(config, opts) });
    this.training = new TrainingControls($("#training"), { catalog, live: (change) => this.live(change) });
    this.transport = new Transport(this, $("#transport"), $("#banner"), catalog.limits);
    this.landscape = new Landscape(this, { surfaceEl: ui.plot.surface, contourEl: ui.plot.contour, noteEl: ui.note.surface, toolbarEl: ui.tools.surface, catalog });
    this.charts = new Charts(this, { lossEl: ui.plot.losscurve, normsEl: ui.plot.norms, dataEl: ui.plot.data, dataNote: ui.note.data });
    this.buildLossToggle(ui.tools.losscurve);
    this.backprop = new BackpropPanel(this, ui.panels.backprop);
    this.curvature = new CurvaturePanel(this, ui.panels.curvature);
    this.comparePanel = new ComparePanel(this, ui.panels.compare, catalog);
    this.exportPanel = new ExportPanel(this, ui.panels.export, () => this.figures(), catalog.limits.max_steps_per_call);
    this.hashAt = 0;
  }

  buildLossToggle(tools) {
    const box = h("input", { type: "checkbox", name: "ylog", checked: this.view.ylog });
    box.addEventListener("change", () => {
      this.view.ylog = box.checked;
      this.saveView();
      this.charts.draw();
    });
    tools.append(h("label", { class: "inline" }, [box, "log scale"]));
  }

  figures() {
    const titles = { surface: "Loss surface", contour: "Loss contours and path", losscurve: "Loss", norms: "Gradient norm per layer", data: "Data and prediction" };
    const out = Object.entries(titles).map(([id, title]) => ({ el: this.ui.plot[id], title }));
    out.push({ el: this.curvature.plotEl, title: "Curvature: λmax against 2 / lr" });
    return out;
  }

  get runs() {
    return this.main ? [this.main, ...this.compare] : [];
  }

  /** Which session to show: the link's run, else the one in localStorage, else pass-fail. */
  async start(run) {
    const storedId = storage.sessionId;
    const stored = storedId ? await api.get(storedId).catch(() => null) : null;
    let info = null;
    if (run) {
      if (stored && sameRun(stored, run)) info = stored;
      else if (run.step > 0 || run.events.length) {
        info = await api.importRun({ format_version: 1, config: run.config, events: run.events, step: run.step }).catch((e) => (notice(`Could not rebuild the linked run: ${e.message}`), null));
      } else {
        info = await api.create(run.config).catch((e) => (notice(`Could not start the linked run: ${e.message}`), null));
      }
    }
    info = info || stored || (await api.create(DEFAULT_CONFIG));
    this.setMain(info);
    setupTabs($("#lower"), this.view, (name) => this.showTab(name));
  }

  setMain(info) {
    for (const run of this.runs) run.close();
    const old = this.runs.filter((r) => r.id !== info.id);
    this.compare = [];
    for (const r of old) api.removeWhenIdle(r.id).catch(() => {});
    this.main = this.makeRun(info, 0);
    storage.sessionId = info.id;
    this.setup.render(info);
    this.training.render(info);
    this.landscape.setSession(info);
    this.transport.update(this.main);
    this.showTab(this.view.tab);
    this.charts.draw();
    this.charts.refreshData(true);
    this.saveHash(true);
  }

  makeRun(info, index) {
    const on = {
      state: (r, msg) => this.onState(r, msg),
      frame: (r, frame) => this.onFrame(r, frame),
      error: (r, message) => notice(r === this.main ? message : `${r.label}: ${message}`),
      connection: (r, up) => r === this.main && this.transport.connection(up),
    };
    const run = new Run(info, on, this.catalog);
    run.label = describe(info);
    run.color = colorFor(index);
    return run;
  }

  /** Start a session from `config`; `freshView`: a preset picked anew, so its own view too. */
  async newRun(config, { freshView = false } = {}) {
    try {
      const info = await api.create(config);
      if (freshView) Object.assign(this.view, { plane: "auto", axes: null, zlog: false }, this.presetView(config.preset));
      this.setMain(info);
    } catch (err) {
      notice(err.message);
    }
  }

  /**
   * View defaults a preset brings with it (the first picture should be the honest one): an
   * analytic surface spans decades of loss, so it opens in log10 loss.
   */
  presetView(preset) {
    const model = this.catalog.presets[preset]?.config.model;
    return model && model.function ? { zlog: true } : {};
  }

  addCompareRun(info) {
    if (this.compare.length + 1 >= MAX_RUNS) return;
    this.compare.push(this.makeRun(info, this.compare.length + 1));
    if (this.main.playing) this.compare.at(-1).send(this.playMessage());
    this.comparePanel.render();
    this.landscape.request();
    this.charts.draw();
  }

  removeCompareRun(run) {
    run.close();
    api.removeWhenIdle(run.id).catch(() => {});
    this.compare = this.compare.filter((r) => r !== run);
    this.compare.forEach((r, k) => (r.color = colorFor(k + 1)));
    this.comparePanel.render();
    this.landscape.request();
    this.charts.draw();
  }

  // ---- transport: the main run and every compared run move together
  playMessage() {
    return { type: "play", steps_per_second: this.view.speed > 0 ? this.view.speed : null };
  }

  play() {
    for (const run of this.runs) if (run.status !== "diverged" && run.status !== "limit") run.send(this.playMessage());
  }

  pause() {
    for (const run of this.runs) run.send({ type: "pause" });
  }

  stepBy(n) {
    if (this.main?.playing) this.pause();
    for (const run of this.runs) if (run.status !== "diverged" && run.status !== "limit") run.send({ type: "step", steps: n });
  }

  reset() {
    for (const run of this.runs) run.send({ type: "reset" });
  }

  rewind(step) {
    for (const run of this.runs) run.send({ type: "rewind", step: Math.min(step, run.step) });
  }

  setSpeed(speed) {
    this.view.speed = speed;
    this.saveView();
    if (this.main?.playing) this.play();
  }

  preview(step) {
    this.charts.setMarker(step);
  }

  /** A live change (lr, batch size, optimizer, schedule, clipping) for the main run. */
  live(change) {
    const st = this.main.info.settings;
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    const diff = {};
    for (const [k, v] of Object.entries(change)) {
      if (k === "optimizer") {
        const changed = Object.entries(v).some(([h, x]) => !same(st.optimizer[h], x));
        if (changed) diff.optimizer = v;
      } else if (k === "schedule") {
        if (!same(st.schedule, v)) diff.schedule = v;
      } else if (k in st.optimizer) {
        // a top-level optimizer hyperparameter (the lr) is shorthand for optimizer.<k>
        if (!same(st.optimizer[k], v)) diff[k] = v;
      } else if (!same(st[k], v)) {
        diff[k] = v;
      }
    }
    if (Object.keys(diff).length) this.main.send({ type: "set", ...diff }); // no no-op events
  }

  // ---- stream callbacks
  onState(run, msg) {
    if (run !== this.main) {
      run.label = describe(run.info);
      this.comparePanel.update();
      this.charts.draw();
      return;
    }
    const wasPlaying = this.wasPlaying;
    this.wasPlaying = run.playing;
    run.label = describe(run.info);
    this.transport.update(run);
    if (msg.type === "state") this.training.update(run.info);
    if (!run.playing) {
      this.landscape.request();
      this.charts.refreshData(true);
      if (wasPlaying || msg.type === "state") this.refreshPanels(true);
    }
    this.charts.draw();
    this.saveHash(!run.playing);
  }

  onFrame(run, frame) {
    this.landscape.onFrame(run, frame);
    this.charts.draw();
    if (run !== this.main) return this.comparePanel.update();
    if (frame) this.training.onFrame(frame);
    this.transport.update(run);
    this.charts.refreshData(!run.playing);
    this.refreshPanels(!run.playing);
    this.comparePanel.update();
    this.saveHash(false);
  }

  refreshPanels(force) {
    this.backprop.refresh(force);
    this.curvature.refresh(force);
  }

  showTab(name) {
    this.view.tab = name;
    if (!this.main) return;
    this.saveView();
    if (name === "compare") this.comparePanel.render();
    if (name === "export") this.exportPanel.render();
    if (name === "backprop") this.backprop.refresh(true);
    if (name === "curvature") this.curvature.refresh(true);
  }

  // ---- the URL hash: the run and the view, so a copied link reproduces both
  saveView() {
    this.saveHash(true);
  }

  saveHash(now) {
    if (!this.main) return;
    if (!now && performance.now() - this.hashAt < 1000) return;
    this.hashAt = performance.now();
    const info = this.main.info;
    const hash = encodeHash({ config: info.config, events: info.events, step: info.step }, this.view);
    if (hash !== location.hash) history.replaceState(null, "", hash);
  }
}

async function boot() {
  const { run, view } = decodeHash(location.hash);
  let catalog;
  try {
    catalog = new Catalog(await api.catalog());
  } catch (err) {
    notice(`Cannot reach the gradscape server: ${err.message}`);
    return;
  }
  const app = new App(catalog, view);
  window.gradscape = { app, stats };
  try {
    await app.start(run);
  } catch (err) {
    notice(err.message);
  }
}

window.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  notice(e.reason && e.reason.message ? e.reason.message : String(e.reason));
});

boot();
