// Wires the page: the view store, the main run and its branches, compared runs, the
// transport, stream callbacks and the URL hash. Widgets get the store and explicit
// callbacks; none of them reaches back into this object.
import { api } from "./api.js";
import { BranchBar, MAX_BRANCHES } from "./branches.js";
import { Busy } from "./busy.js";
import { Catalog } from "./catalog.js";
import { Charts } from "./charts.js";
import { LockStep } from "./clock.js";
import { ComparePanel, MAX_RUNS, colorFor, describe } from "./compare.js";
import { SetupControls } from "./controls.js";
import { $ } from "./dom.js";
import { EpochPanel } from "./epochs.js";
import { ExportPanel, downloadPng } from "./exporting.js";
import { BackpropPanel, CurvaturePanel, setupTabs } from "./inspect.js";
import { Landscape } from "./landscape.js";
import { Lesson, lessonLink } from "./lesson.js";
import { buildLayout, notice } from "./layout.js";
import { loadPlotly } from "./plotly.js";
import { Run } from "./run.js";
import { stats } from "./scheduler.js";
import { DEFAULT_CONFIG, VIEW, decodeHash, encodeHash, presetView, sameRun, storage } from "./state.js";
import { ViewStore } from "./store.js";
import { TrainingControls } from "./training.js";
import { Transport } from "./transport.js";
import { UpdatePanel } from "./update.js";

/** What the views of a run depend on: the same value means nothing to fetch again. */
function revision(run) {
  const i = run.info;
  return JSON.stringify([run.id, i.step, i.status, i.events ? i.events.length : 0]);
}

class App {
  /** `catalog`: the Catalog, handed to each widget that builds lists from it. */
  constructor(catalog, view) {
    this.catalog = catalog;
    this.store = new ViewStore({ ...view, preview: null });
    this.main = null;
    this.compare = [];
    this.branches = []; // [{id, label, from: [parent index, step] | null, events, step, loss}]
    this.current = 0; // which branch is the main run
    this.undoAction = null; // {label, run()}: the last reset or continue-from-here
    this.pending = null; // settings typed while the run is diverged: applied after the rewind
    this.recoveryKey = null;
    this.hashAt = 0;
    this.lastHash = location.hash;
    const store = this.store;
    const ui = buildLayout((el, name) => downloadPng(el, name).catch((e) => notice(e.message)));
    this.ui = ui;
    this.busy = new Busy($("#busy"));
    const main = () => this.main;
    const compare = () => this.compare;
    const runs = () => this.runs;
    this.clock = new LockStep({
      runs,
      speed: () => store.state.speed,
      maxSteps: catalog.limits.max_steps_per_call,
      onStop: () => this.refreshTransport(),
    });
    this.setup = new SetupControls($("#setup"), { catalog, newRun: (config, opts) => this.newRun(config, opts) });
    this.training = new TrainingControls($("#training"), { catalog, live: (change) => this.live(change) });
    this.transport = new Transport({
      root: $("#transport"),
      banner: $("#banner"),
      store,
      limits: catalog.limits,
      actions: {
        main,
        playing: () => this.playing,
        rate: () => (this.clock.running ? this.clock.rate : this.main?.rate),
        play: () => this.play(),
        pause: () => this.pause(),
        stepBy: (n) => this.stepBy(n),
        reset: () => this.reset(),
        continueFrom: (k) => this.continueFrom(k),
        recover: (plan) => this.recover(plan),
        refused: (text) => notice(text, "info"),
        drawer: () => this.toggleDrawer(),
      },
    });
    // narrow screens: the settings column is a drawer (Escape or the backdrop closes it)
    this.backdrop = document.createElement("div");
    this.backdrop.className = "drawer-backdrop";
    this.backdrop.addEventListener("click", () => this.toggleDrawer(false));
    document.body.append(this.backdrop);
    document.addEventListener("keydown", (e) => e.key === "Escape" && document.body.classList.contains("drawer-open") && this.toggleDrawer(false));
    this.branchBar = new BranchBar($("#branches"), {
      show: (k) => this.switchTo(k),
      compare: (k) => this.compareBranch(k),
      close: (k) => this.closeBranch(k),
      undo: () => this.undo(),
    });
    this.landscape = new Landscape({ surfaceEl: ui.plot.surface, contourEl: ui.plot.contour, noteEl: ui.note.surface, toolbarEl: ui.tools.surface, catalog, store, main, compare, busy: this.busy });
    this.charts = new Charts({ lossEl: ui.plot.losscurve, normsEl: ui.plot.norms, dataEl: ui.plot.data, dataNote: ui.note.data, lossTools: ui.tools.losscurve, store, main, compare });
    this.update = new UpdatePanel($("#update"), { store, main });
    this.epochs = new EpochPanel(ui.panels.epochs, {
      main,
      busy: this.busy,
      catalog,
      maxPerCall: catalog.limits.max_steps_per_call,
      actions: { preview: (k) => this.transport.preview(k), pause: () => this.pause() },
    });
    this.backprop = new BackpropPanel(ui.panels.backprop, { store, main });
    this.curvature = new CurvaturePanel(ui.panels.curvature, { store, main, busy: this.busy });
    this.comparePanel = new ComparePanel(ui.panels.compare, {
      catalog,
      store,
      main,
      compare,
      add: (info) => this.addCompareRun(info),
      remove: (run) => this.removeCompareRun(run),
      busy: this.busy,
    });
    this.exportPanel = new ExportPanel(ui.panels.export, { main, figures: () => this.figures(), maxPerCall: catalog.limits.max_steps_per_call });
    this.lesson = new Lesson($("#lesson"), {
      entry: $("#lesson-entry"),
      store,
      catalog,
      main,
      busy: this.busy,
      actions: {
        newRun: (config) => this.newRun(config, { freshView: true }),
        play: (speed) => (store.set({ speed }), this.play()),
        pause: () => this.pause(),
        showTab: (name) => (store.set({ tab: name }), $(`#lower [data-tab="${name}"]`).click()),
        notice,
      },
    });
    // one place decides what a change of view means for the page
    store.subscribe((changed) => {
      if (changed.some((n) => n in VIEW)) this.saveHash(true);
      if (changed.includes("speed") && this.playing) this.play();
      if (changed.includes("preview")) this.refreshPanels(true);
    });
    addEventListener("hashchange", () => this.onHashChange());
  }

  /** Open or close the settings drawer (narrow screens); focus follows. */
  toggleDrawer(open = !document.body.classList.contains("drawer-open")) {
    document.body.classList.toggle("drawer-open", open);
    const btn = this.transport.drawerBtn;
    btn.setAttribute("aria-expanded", String(open));
    if (open) $("#side").querySelector("button, input, select")?.focus();
    else btn.focus();
  }

  /** The view settings (read-only: change them through `store.set`). */
  get view() {
    return this.store.state;
  }

  get runs() {
    return this.main ? [this.main, ...this.compare] : [];
  }

  get playing() {
    return this.clock.running || Boolean(this.main?.playing);
  }

  figures() {
    const titles = { surface: "Loss surface", contour: "Loss contours and path", losscurve: "Loss", norms: "Gradient norm per layer", data: "Data and prediction" };
    const out = Object.entries(titles).map(([id, title]) => ({ el: this.ui.plot[id], title }));
    out.push({ el: this.curvature.plotEl, title: "Curvature: λmax against 2 / lr" });
    return out;
  }

  // ---- opening a run: a link, the tab's stored session, or the chapter's example
  /** Which session to show: the link's run (and its branches), else the stored one, else pass-fail. */
  async start(link) {
    link = link || lessonLink(this.catalog, this.view, decodeHash(location.hash).explicit); // `#lesson=N`: its run first
    const storedId = storage.sessionId;
    const stored = storedId ? await api.get(storedId).catch(() => null) : null;
    let info = null;
    let tree = null;
    if (link) {
      if (link.presetLink) this.store.set(presetView(this.catalog, link.config.preset, link.explicit));
      if (stored && sameRun(stored, link) && !(link.branches && link.branches.length > 1)) info = stored;
      else if (link.branches && link.branches.length > 1) tree = await this.openTree(link);
      else info = await this.openRun(link.config, link.events, link.step);
      if (tree) info = tree.info;
    }
    info = info || stored || (await api.create(DEFAULT_CONFIG));
    if (!tree) this.branches = [{ id: info.id, from: null }];
    else this.branches = tree.branches;
    this.current = tree ? tree.current : 0;
    this.setMain(info);
    setupTabs($("#lower"), this.view, (name) => this.showTab(name));
  }

  /** A session for config + events at `step` (rebuilt bit for bit by the server), or null. */
  async openRun(config, events, step) {
    const rebuild = step > 0 || (events && events.length);
    if (rebuild) loadPlotly(); // the server replays for a while: parse plotly.js meanwhile
    const job = rebuild
      ? (signal) => api.importRun({ format_version: 1, config, events, step }, signal)
      : () => api.create(config);
    return this.busy.track(rebuild ? `Rebuilding the linked run to step ${step}` : "Starting the linked run", job).catch((e) => {
      notice(`Could not open the linked run: ${e.message}`);
      return null;
    });
  }

  /** Every branch of a link (same config; each its own events and step). */
  async openTree(link) {
    const branches = [];
    let info = null;
    const current = Math.min(link.branch || 0, link.branches.length - 1);
    for (const [k, b] of link.branches.slice(0, MAX_BRANCHES).entries()) {
      const got = await this.openRun(link.config, b.events, b.step);
      if (!got) return null;
      branches.push({ id: got.id, from: b.from || null, step: got.step, loss: got.loss, label: describe(got) });
      if (k === current) info = got;
    }
    return info ? { info, branches, current } : null;
  }

  /** A link pasted into an open tab: open it as a fresh page would (no reload). */
  async onHashChange() {
    if (location.hash === this.lastHash) return;
    this.lastHash = location.hash;
    const { run, view, explicit } = decodeHash(location.hash);
    if (!run) return;
    this.pause();
    this.store.set({ ...view, preview: null });
    const old = this.branches.map((b) => b.id);
    const link = { ...run, explicit };
    let info = null;
    let tree = null;
    if (link.presetLink) this.store.set(presetView(this.catalog, link.config.preset, explicit));
    if (link.branches && link.branches.length > 1) tree = await this.openTree(link);
    else info = await this.openRun(link.config, link.events, link.step);
    if (tree) info = tree.info;
    if (!info) return;
    this.branches = tree ? tree.branches : [{ id: info.id, from: null }];
    this.current = tree ? tree.current : 0;
    this.undoAction = null;
    this.setMain(info);
    for (const id of old) if (!this.branches.some((b) => b.id === id)) api.removeWhenIdle(id).catch(() => {});
  }

  /** Show `info` as the main run; compared runs that are not branches are deleted. */
  setMain(info) {
    this.clock.stop();
    for (const run of this.runs) run.close();
    for (const r of this.runs) if (r.id !== info.id && !this.isBranch(r.id)) api.removeWhenIdle(r.id).catch(() => {});
    this.compare = [];
    this.pending = null;
    this.recoveryKey = null;
    this.main = this.makeRun(info, 0);
    this.shown = revision(this.main); // what the views below are fetched for
    this.branches[this.current] = { ...this.branches[this.current], id: info.id };
    storage.sessionId = info.id;
    this.store.set({ preview: null });
    this.setup.render(info);
    this.training.render(info);
    this.landscape.setSession(info);
    this.transport.update(this.main);
    this.renderBranches();
    this.showTab(this.view.tab);
    this.charts.draw();
    this.charts.refreshData(true);
    this.saveHash(true);
  }

  isBranch(id) {
    return this.branches.some((b) => b.id === id);
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
  async newRun(config, { freshView = false, fallback = null } = {}) {
    try {
      const info = await api.create(config).catch((err) => {
        if (fallback && err.status === 422) return api.create(fallback); // e.g. start weights that no longer fit
        throw err;
      });
      if (freshView) this.store.set({ plane: "auto", axes: null, zlog: false, ylog: null, ...presetView(this.catalog, config.preset) });
      const old = this.branches.map((b) => b.id).filter((id) => id !== this.main?.id);
      this.branches = [{ id: info.id, from: null }];
      this.current = 0;
      this.undoAction = null;
      this.setMain(info);
      for (const id of old) api.removeWhenIdle(id).catch(() => {});
    } catch (err) {
      notice(err.message);
    }
  }

  // ---- branches: continue from a previewed step without losing the old future
  remember() {
    const b = this.branches[this.current];
    const info = this.main?.info;
    if (b && info && b.id === info.id) Object.assign(b, { events: info.events, step: info.step, loss: info.loss, label: describe(info) });
  }

  branchesLeft() {
    return MAX_BRANCHES - this.branches.length;
  }

  /** Fork the main run at step `k`: the new branch trains on from there, the old one stays. */
  async continueFrom(k) {
    const main = this.main;
    if (!main) return;
    if (this.branchesLeft() <= 0) return notice(`At most ${MAX_BRANCHES} branches: close one (×) to continue from step ${k}.`);
    this.pause();
    this.remember();
    const info = main.info;
    const events = (info.events || []).filter(([s]) => s <= k);
    let fork;
    try {
      fork = await this.busy.track(`Rebuilding step ${k}`, (signal) => api.importRun({ format_version: 1, config: info.config, events, step: k }, signal));
    } catch (err) {
      return notice(err.name === "AbortError" ? "Cancelled." : `Could not branch: ${err.message}`);
    }
    const parent = this.current;
    this.branches.push({ id: fork.id, from: [parent, k], step: k, loss: fork.loss, label: describe(fork) });
    const keptCompare = this.compare.filter((r) => !this.isBranch(r.id));
    this.current = this.branches.length - 1;
    this.undoAction = {
      label: `continue from step ${k}`,
      run: async () => {
        const back = this.branches.indexOf(this.branches.find((b) => b.id === info.id));
        await this.dropBranch(this.branches.findIndex((b) => b.id === fork.id), back);
      },
    };
    this.setMain(fork);
    if (keptCompare.length) notice("Compared runs were closed: add them again from the branch", "info");
    if (this.branchesLeft() === 1) notice(`One more branch and this run is at its ${MAX_BRANCHES}-branch limit.`, "info");
  }

  /** Show branch `k` as the main run (the others stay on the server). */
  async switchTo(k) {
    if (k === this.current || !this.branches[k]) return;
    this.pause();
    this.remember();
    try {
      const info = await api.get(this.branches[k].id);
      this.current = k;
      this.setMain(info);
    } catch (err) {
      notice(`That branch is gone: ${err.message}`);
      this.branches.splice(k, 1);
      this.renderBranches();
    }
  }

  /** Draw branch `k` beside the main run on the same plane (it is not deleted on remove). */
  async compareBranch(k) {
    const b = this.branches[k];
    if (!b || k === this.current) return;
    const shown = this.compare.find((r) => r.id === b.id);
    if (shown) return this.removeCompareRun(shown);
    try {
      this.addCompareRun(await api.get(b.id));
    } catch (err) {
      notice(err.message);
    }
  }

  /** Close branch `k` (its session is deleted); the main one cannot be closed. */
  async closeBranch(k) {
    if (k === this.current || !this.branches[k]) return;
    if (!window.confirm(`Close this branch (step ${this.branches[k].step ?? "?"})? Its steps are deleted.`)) return;
    await this.dropBranch(k, this.current);
  }

  /** Delete branch `k`, then show branch `show` (indices before the deletion). */
  async dropBranch(k, show) {
    const gone = this.branches[k];
    if (!gone) return;
    const cmp = this.compare.find((r) => r.id === gone.id);
    if (cmp) this.removeCompareRun(cmp);
    // later branches forked from it now hang from its parent
    for (const b of this.branches) if (b.from && b.from[0] === k) b.from = gone.from ? [gone.from[0], b.from[1]] : null;
    this.branches.splice(k, 1);
    for (const b of this.branches) if (b.from && b.from[0] > k) b.from = [b.from[0] - 1, b.from[1]];
    const target = show > k ? show - 1 : show;
    const wasMain = gone.id === this.main?.id;
    if (wasMain) {
      this.current = -1;
      await this.switchToIndex(target);
    } else {
      if (this.current > k) this.current--;
      if (target !== this.current) await this.switchToIndex(target);
      else this.renderBranches();
    }
    api.removeWhenIdle(gone.id).catch(() => {});
    this.saveHash(true);
  }

  async switchToIndex(k) {
    const info = await api.get(this.branches[k].id);
    this.current = k;
    this.setMain(info);
  }

  async undo() {
    const u = this.undoAction;
    if (!u) return;
    this.undoAction = null;
    await u.run();
    notice(`Undone: ${u.label}.`, "info");
  }

  renderBranches() {
    this.remember();
    this.branchBar.render(this.branches, this.current, this.compare.map((r) => r.id), this.undoAction);
  }

  // ---- compared runs
  addCompareRun(info) {
    if (this.compare.length + 1 >= MAX_RUNS) return;
    const wasPlaying = this.playing;
    if (wasPlaying) this.pause();
    this.compare.push(this.makeRun(info, this.compare.length + 1));
    if (wasPlaying) this.play();
    this.comparePanel.render();
    this.renderBranches();
    this.landscape.request();
    this.charts.draw();
  }

  removeCompareRun(run) {
    run.close();
    if (!this.isBranch(run.id)) api.removeWhenIdle(run.id).catch(() => {});
    this.compare = this.compare.filter((r) => r !== run);
    this.compare.forEach((r, k) => (r.color = colorFor(k + 1)));
    if (!this.compare.length && this.clock.running) {
      this.clock.stop();
      this.play();
    }
    this.comparePanel.render();
    this.renderBranches();
    this.landscape.request();
    this.charts.draw();
  }

  // ---- transport: the main run and every compared run move together, on one clock
  playMessage() {
    return { type: "play", steps_per_second: this.view.speed > 0 ? this.view.speed : null };
  }

  play() {
    if (!this.main) return;
    this.store.set({ preview: null });
    if (this.compare.length) {
      for (const run of this.runs) if (run.playing) run.send({ type: "pause" });
      this.clock.start();
    } else if (this.main.status !== "diverged" && this.main.status !== "limit") {
      this.main.send(this.playMessage());
    }
    this.refreshTransport();
  }

  pause() {
    this.clock.stop();
    for (const run of this.runs) if (run.playing) run.send({ type: "pause" });
    this.refreshTransport();
  }

  stepBy(n) {
    if (this.playing) this.pause();
    this.store.set({ preview: null });
    const live = this.runs.filter((r) => r.status !== "diverged" && r.status !== "limit");
    if (!live.length) return;
    const target = Math.min(...live.map((r) => r.step)) + n;
    for (const run of live) run.stepTo(target);
  }

  /** Back to the initial weights with the settings in force, as a new branch (undo returns). */
  async reset() {
    const main = this.main;
    if (!main) return;
    this.pause();
    for (const run of this.compare) if (!this.isBranch(run.id)) run.send({ type: "reset" });
    if (this.branchesLeft() <= 0) {
      notice(`At ${MAX_BRANCHES} branches this reset cannot be undone.`, "info");
      main.send({ type: "reset" });
      return;
    }
    this.remember();
    const info = main.info;
    const config = structuredClone(info.config);
    // the settings in force become the new run's config (as the server's reset does)
    for (const [k, v] of Object.entries(info.settings)) if (k in config) config[k] = structuredClone(v);
    let fresh;
    try {
      fresh = await api.create(config);
    } catch (err) {
      return notice(`Could not reset: ${err.message}`);
    }
    const before = this.current;
    this.branches.push({ id: fresh.id, from: [before, 0], step: 0, label: describe(fresh) });
    this.current = this.branches.length - 1;
    const keep = this.compare.filter((r) => !this.isBranch(r.id)).map((r) => r.info);
    this.undoAction = {
      label: "reset",
      run: async () => {
        const back = this.branches.findIndex((b) => b.id === info.id);
        await this.dropBranch(this.branches.findIndex((b) => b.id === fresh.id), back);
      },
    };
    this.setMainKeeping(fresh, keep);
  }

  /** setMain, keeping compared runs (already reset on the server) in the comparison. */
  setMainKeeping(info, compared) {
    const ids = compared.map((c) => c.id);
    const saved = this.compare.filter((r) => ids.includes(r.id));
    this.compare = this.compare.filter((r) => !ids.includes(r.id));
    this.setMain(info);
    for (const r of saved) r.close();
    for (const c of compared) this.addCompareRun(c);
  }

  // ---- divergence: rewind to where the loss began to climb, with the fix that fits
  async loadRecovery(run) {
    const key = `${run.id}@${run.step}`;
    if (this.recoveryKey === key) return;
    this.recoveryKey = key;
    let plan;
    try {
      plan = await api.recovery(run.id);
    } catch (err) {
      plan = { error: err.message };
    }
    if (this.main !== run) return;
    this.transport.setRecovery(key, { ...plan, pending: this.pending });
  }

  /** Rewind to `plan.rewind_to`, then apply the settings typed meanwhile and the fix. */
  recover(plan) {
    const main = this.main;
    const change = { ...(this.pending || {}), ...(plan.apply || {}) };
    this.pending = null;
    this.recoveryKey = null;
    main.send({ type: "rewind", step: plan.rewind_to });
    if (Object.keys(change).length) main.send({ type: "set", ...change });
  }

  /** A live change (lr, batch size, optimizer, schedule, clipping) for the main run. */
  live(change) {
    const main = this.main;
    if (main.status === "diverged") {
      // a diverged run takes no steps: the change waits for the rewind that comes next
      const merged = { ...(this.pending || {}) };
      for (const [k, v] of Object.entries(change)) merged[k] = k === "optimizer" && merged.optimizer ? { ...merged.optimizer, ...v } : v;
      this.pending = merged;
      const key = `${main.id}@${main.step}`;
      if (this.transport.recovery && this.transport.recovery.key === key) this.transport.setRecovery(key, { ...this.transport.recovery.plan, pending: merged });
      notice("The run diverged: this applies right after the rewind (see the banner).", "info");
      return;
    }
    const st = main.info.settings;
    const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
    const diff = {};
    for (const [k, v] of Object.entries(change)) {
      if (k === "optimizer") {
        const changed = Object.entries(v).some(([name, x]) => !same(st.optimizer[name], x));
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
    if (Object.keys(diff).length) main.send({ type: "set", ...diff }); // no no-op events
  }

  // ---- stream callbacks
  onState(run, msg) {
    run.label = describe(run.info);
    if (run !== this.main) {
      this.comparePanel.update();
      this.charts.draw();
      return;
    }
    this.lesson.onRun(run);
    const wasPlaying = this.wasPlaying;
    this.wasPlaying = run.playing;
    if (run.status === "diverged") this.loadRecovery(run);
    this.refreshTransport();
    if (msg.type === "state") this.training.update(run.info);
    const at = this.store.state.preview;
    if (at !== null && at > run.step) this.store.set({ preview: null }); // rewound before it
    // (the state a socket sends as it opens repeats what the views were fetched for)
    const rev = revision(run);
    if (!this.playing && rev !== this.shown) {
      this.shown = rev;
      this.landscape.request();
      this.charts.refreshData(true);
      if (wasPlaying || msg.type === "state") this.refreshPanels(true);
    }
    this.charts.draw();
    this.saveHash(!this.playing);
  }

  onFrame(run, frame) {
    this.landscape.onFrame(run, frame);
    this.charts.draw();
    if (run !== this.main) return this.comparePanel.update();
    this.lesson.onRun(run);
    if (frame) this.training.onFrame(frame);
    if (run.status === "diverged") this.loadRecovery(run);
    this.refreshTransport();
    // (a null frame is history filled in behind the current step: the panels show that step)
    if (frame) this.refreshPanels(!this.playing); // the data view and compare readouts included
    this.saveHash(false);
  }

  refreshTransport() {
    if (this.main) this.transport.update(this.main);
  }

  refreshPanels(force) {
    this.update.refresh(force);
    this.epochs.fill(force);
    this.backprop.refresh(force);
    this.curvature.refresh(force);
    this.charts.refreshData(force);
    this.comparePanel.update();
  }

  showTab(name) {
    this.store.set({ tab: name });
    if (!this.main) return;
    if (name === "compare") this.comparePanel.render();
    if (name === "export") this.exportPanel.render();
    if (name === "epochs") this.epochs.render();
    if (name === "backprop") this.backprop.refresh(true);
    if (name === "curvature") this.curvature.refresh(true);
  }

  // ---- the URL hash: the run, its branches and the view, so a copied link reproduces them
  saveHash(now) {
    if (!this.main) return;
    if (!now && performance.now() - this.hashAt < 1000) return;
    this.hashAt = performance.now();
    this.remember();
    const info = this.main.info;
    const run = { config: info.config, events: info.events, step: info.step };
    if (this.branches.length > 1) {
      run.branches = this.branches.map((b) => ({ events: b.events || [], step: b.step || 0, from: b.from }));
      run.branch = this.current;
    }
    const hash = encodeHash(run, this.view);
    if (hash !== location.hash) {
      history.replaceState(null, "", hash);
      this.lastHash = location.hash;
    }
  }
}

async function boot() {
  const { run, view, explicit } = decodeHash(location.hash);
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
    await app.start(run ? { ...run, explicit } : null);
  } catch (err) {
    notice(err.message);
  } finally {
    // plotly.js runs once the first run's requests are out (a rebuild starts it sooner),
    // so the server computes the first surface while the page parses it
    loadPlotly();
  }
}

window.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  notice(e.reason && e.reason.message ? e.reason.message : String(e.reason));
});

boot();
