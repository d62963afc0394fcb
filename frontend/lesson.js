// The guided lesson: the chapter's ideas in its order, each a stop on a live run.
//
// The stops are data from the catalog (`catalog.lesson`: a config, a view, two or three
// sentences, a question with one-click choices, how far to run and the kind of answer).
// Each stop's run is an ordinary session made through the page's own newRun; the answer is
// read from that run's numbers by the reader of its `kind` (answers.js), never from the text.
// The stop shown is the view setting `lesson` (so `#lesson=N` links and reloads work like
// every other setting); progress (visited stops, predictions) is kept in localStorage.
import { READERS } from "./answers.js";
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { SPEEDS, isShortcut } from "./transport.js";

const PROGRESS_KEY = "gradscape.lesson";
/**
 * The run a `#lesson=N` link without a config opens first (so no other session is made),
 * with its preset's own view for the settings the link leaves open (`explicit`).
 */
export function lessonLink(catalog, view, explicit) {
  const stop = catalog.lesson[(view.lesson ?? 0) - 1];
  return stop ? { config: stop.config, events: [], step: 0, presetLink: Boolean(stop.config.preset), explicit } : null;
}

/** Progress across reloads: visited stops, predictions, answers, the last stop, each stop's run. */
function loadProgress() {
  try {
    const p = JSON.parse(localStorage.getItem(PROGRESS_KEY) || "{}");
    return { visited: p.visited || [], predictions: p.predictions || {}, answers: p.answers || {}, runs: p.runs || {}, last: p.last ?? null };
  } catch {
    return { visited: [], predictions: {}, answers: {}, runs: {}, last: null };
  }
}

function saveProgress(p) {
  try {
    localStorage.setItem(PROGRESS_KEY, JSON.stringify(p));
  } catch {
    // storage can be disabled: the lesson still works, it just forgets
  }
}

export class Lesson {
  /**
   * `root`: the lesson panel; `entry`: the line that offers it in free play. `store`: the view store (`lesson` is the stop shown, `tab` the lower panel); `catalog`:
   * the Catalog (its `lesson` stops, record fields, limits); `main()`: the main run; `busy`:
   * the progress indicator; `actions`: {newRun(config), play(speed), pause(), showTab(name),
   * notice(text)}.
   */
  constructor(root, { entry, store, catalog, main, busy, actions }) {
    this.root = root;
    this.entry = entry; // where free play offers the lesson (or the way back to it)
    this.store = store;
    this.catalog = catalog;
    this.stops = catalog.lesson;
    this.main = main;
    this.busy = busy;
    this.actions = actions;
    this.progress = loadProgress();
    this.answer = null; // {stop, runId, answer, because} for the stop shown
    this.reading = null;
    const g = catalog.record_field_groups;
    this.fields = [...g.index, ...g.per_step, ...g.evaluated, ...g.per_layer].join(",");
    this.arrayFields = [...g.index, ...g.evaluated, ...g.array].join(",");
    if (store.state.lesson !== null && !this.at) store.set({ lesson: null }); // `#lesson=99`: free play
    store.subscribe(() => this.render(), ["lesson"]);
    document.addEventListener("keydown", (e) => this.key(e));
    addEventListener("hashchange", () => this.onHashChange());
    this.render();
  }

  /** The stop shown (1-based) or null in free play. */
  get at() {
    const k = this.store.state.lesson;
    return Number.isInteger(k) && k >= 1 && k <= this.stops.length ? k : null;
  }

  get stop() {
    return this.at ? this.stops[this.at - 1] : null;
  }

  // ---- navigation
  /** Go to stop `k` with a fresh run of its config (its prediction, if made, is kept). */
  async go(k) {
    const n = Math.max(1, Math.min(this.stops.length, k));
    this.actions.pause();
    this.answer = null;
    this.settingUp = true; // until the stop's own run is the page's, the old one answers nothing
    try {
      this.store.set({ lesson: n, preview: null });
      await this.setUp();
    } finally {
      this.settingUp = false;
    }
    this.render();
  }

  /** Start the stop's own run (a fresh session from its config). */
  async setUp() {
    const stop = this.stop;
    if (!stop) return;
    await this.actions.newRun(stop.config);
    const run = this.main();
    if (run) this.progress.runs[stop.number] = run.id;
    saveProgress(this.progress);
    this.render();
  }

  /** Leave for free play: the stop's run stays the page's run. */
  leave() {
    this.progress.last = this.at;
    saveProgress(this.progress);
    this.store.set({ lesson: null });
  }

  /** Back to the last stop: its run if the page still shows it, else a fresh one. */
  async resume() {
    const k = this.progress.last || 1;
    const main = this.main();
    if (main && this.progress.runs[k] === main.id) this.store.set({ lesson: k });
    else await this.go(k);
  }

  key(e) {
    if (!this.at || !isShortcut(e)) return;
    if (e.key === "]") {
      e.preventDefault();
      if (this.at < this.stops.length) this.go(this.at + 1);
    } else if (e.key === "[") {
      e.preventDefault();
      if (this.at > 1) this.go(this.at - 1);
    }
  }

  /** `#lesson=N` typed or pasted without a config: go there (a config is the page's to open). */
  onHashChange() {
    const q = new URLSearchParams(location.hash.replace(/^#/, ""));
    if (q.has("config")) return;
    const k = Number.parseInt(q.get("lesson") || "", 10);
    if (Number.isInteger(k) && k !== this.at) this.go(k);
  }

  /** A link that opens this stop with the run's config and the settings in force (for teachers). */
  teacherLink() {
    const info = this.main()?.info;
    if (!info || !this.at) return null;
    const config = structuredClone(info.config);
    for (const [k, v] of Object.entries(info.settings)) if (k in config) config[k] = structuredClone(v);
    const q = new URLSearchParams({ lesson: String(this.at), config: JSON.stringify(config) });
    return `${location.origin}${location.pathname}#${q.toString()}`;
  }

  // ---- predicting, running, answering
  predict(choice) {
    const stop = this.stop;
    this.progress.predictions[stop.number] = choice;
    saveProgress(this.progress);
    this.render();
    this.root.querySelector("button[name=lesson-run]")?.focus();
  }

  /** Steps (or epochs) still to take before the stop can be answered, for the main run. */
  remaining(run) {
    const r = this.stop.run;
    if (r.epochs) return Math.max(0, Math.ceil(r.epochs - (run.info.epoch || 0)));
    return Math.max(0, r.steps - run.step);
  }

  stopped(run) {
    return run.status === "diverged" || run.status === "limit";
  }

  /** Train the main run as far as the stop asks, through the same step calls as Epochs. */
  async run() {
    const main = this.main();
    const stop = this.stop;
    if (!main || !stop) return;
    this.actions.pause();
    const label = stop.run.epochs ? `Running ${stop.run.epochs} epochs` : `Running to step ${stop.run.steps}`;
    const maxPerCall = this.catalog.limits.max_steps_per_call;
    try {
      await this.busy.track(label, async (signal) => {
        if (stop.run.epochs) {
          const left = this.remaining(main);
          if (left > 0 && !this.stopped(main)) await api.step(main.id, { epochs: left, fields: this.catalog.columns.index }, signal);
          return;
        }
        // every step's full-data loss is evaluated, so the charts draw the whole descent
        await api.stepTo(main.id, main.step, stop.run.steps, { maxPerCall, body: { fields: this.catalog.columns.index }, signal });
      });
    } catch (err) {
      this.actions.notice(err.name === "AbortError" ? "Stopped: the steps made are kept." : err.message);
      return;
    }
    await this.read();
  }

  /** Play the run at a speed that gets it to the stop's point in a few seconds, to watch it. */
  watch() {
    const main = this.main();
    const stop = this.stop;
    if (!main || !stop) return;
    const steps = stop.run.steps ?? stop.run.epochs * 4;
    const speed = SPEEDS.find((s) => s > 0 && steps / s <= 4) ?? SPEEDS.filter((s) => s > 0).pop();
    this.watching = main.id;
    this.actions.play(speed);
  }

  /** The main run changed (a frame or state): answer once it has gone as far as the stop asks. */
  onRun(run) {
    if (!this.stop || this.settingUp || run !== this.main()) return;
    if (this.progress.runs[this.at] !== run.id) {
      this.progress.runs[this.at] = run.id; // the run this stop shows (its own, a link's, a variant)
      saveProgress(this.progress);
    }
    if (this.answer && this.answer.runId !== run.id) {
      this.answer = null; // another run (a reset, a branch, new settings): answer it afresh
      this.render();
    }
    if (this.answer) return;
    const there = this.remaining(run) === 0 || this.stopped(run);
    if (there && this.watching === run.id) {
      this.watching = null;
      this.actions.pause(); // watched to the stop's point: the answer reads up to it
    }
    if (there) this.read();
    else this.renderRunButton();
  }

  /** Read the stop's answer from the run's numbers (the session as the server has it now). */
  async read() {
    const stop = this.stop;
    const main = this.main();
    if (!stop || !main || this.reading) return;
    const reader = READERS[stop.kind];
    this.reading = stop.number;
    try {
      const info = await api.get(main.id);
      const target = stop.run.steps ?? info.step;
      const stopAt = Math.min(target, info.step) + 1;
      const traj = async (arrays = false) => (await api.trajectory(main.id, { start: 0, stop: stopAt, fields: arrays ? this.arrayFields : this.fields })).columns;
      const got = await reader({ id: main.id, info, target, options: stop.options || {}, traj, catalog: this.catalog });
      if (this.stop !== stop || this.main() !== main) return; // moved on meanwhile
      this.answer = { stop: stop.number, runId: main.id, ...got };
      this.progress.answers[stop.number] = got.answer;
      saveProgress(this.progress);
      this.render();
    } catch (err) {
      if (this.stop === stop) this.actions.notice(`Could not read the answer: ${err.message}`);
    } finally {
      this.reading = null;
    }
  }

  // ---- drawing
  /**
   * The element that shows the stop's view, what to call it, and (for a tab) the tab to open:
   * a plot card (`#card-<view>`), a section (`#<view>`) or a tab of the lower panel.
   */
  focusTarget(view) {
    const card = document.getElementById(`card-${view}`);
    if (card) return { el: card, name: `the ${card.querySelector("h2")?.textContent || view} chart`, tab: null };
    const section = document.getElementById(view);
    if (section) return { el: section, name: `the ${(section.getAttribute("aria-label") || view).replace(/^the /, "")} card`, tab: null };
    const button = document.querySelector(`#lower [data-tab="${view}"]`);
    return { el: document.getElementById("lower"), name: `the ${button?.textContent || view} tab`, tab: view };
  }

  highlight() {
    for (const el of document.querySelectorAll(".lesson-focus")) el.classList.remove("lesson-focus");
    document.body.classList.toggle("in-lesson", Boolean(this.stop));
    if (!this.stop) {
      this.tabOpenedFor = null;
      return;
    }
    const { el, tab } = this.focusTarget(this.stop.view);
    // open the stop's tab once on arrival; the student may look at other tabs meanwhile
    if (tab && this.tabOpenedFor !== this.stop.number && this.store.state.tab !== tab) this.actions.showTab(tab);
    this.tabOpenedFor = this.stop.number;
    if (el) el.classList.add("lesson-focus");
  }

  render() {
    const stop = this.stop;
    if (stop && !this.progress.visited.includes(stop.number)) this.progress.visited.push(stop.number);
    if (stop) {
      this.progress.last = stop.number;
      saveProgress(this.progress);
    }
    if (this.answer && (!stop || this.answer.stop !== stop.number)) this.answer = null;
    this.highlight();
    clear(this.root);
    this.renderEntry();
    this.root.hidden = !stop;
    if (!stop) return;
    this.root.setAttribute("aria-label", `guided lesson, stop ${stop.number} of ${this.stops.length}`);
    const predicted = this.progress.predictions[stop.number] ?? null;
    this.heading = h("h2", { tabindex: "-1", id: "lesson-title" }, [h("small", {}, `Lesson · stop ${stop.number} of ${this.stops.length}`), " ", stop.idea]);
    const look = this.focusTarget(stop.view);
    const parts = [
      h("header", { class: "lesson-head" }, [this.heading, this.dots()]),
      h("p", { class: "lesson-text" }, stop.text),
      h("p", { class: "lesson-look" }, [
        "Look at ",
        h("button", { class: "link", name: "lesson-look", onclick: () => look.el?.scrollIntoView({ behavior: "smooth", block: "center" }) }, look.name),
        ", outlined on the page.",
      ]),
      this.questionBox(stop, predicted),
      this.runBar(),
      this.answerBox(stop, predicted),
      stop.try && this.answer ? h("p", { class: "caption lesson-try" }, stop.try) : null,
      this.navBar(stop.number),
    ];
    this.root.append(...parts.filter(Boolean));
    this.renderRunButton();
    const main = this.main();
    if (main && !this.answer) this.onRun(main); // a run already far enough: answer it now
  }

  /** The question and its one-click choices (the prediction made is pressed). */
  questionBox(stop, predicted) {
    const choices = Object.entries(stop.choices).map(([id, text]) =>
      h("button", { class: "choice", name: `lesson-choice-${id}`, dataset: { choice: id }, "aria-pressed": String(predicted === id), onclick: () => this.predict(id) }, text),
    );
    return h("div", { class: "lesson-question", role: "group", "aria-labelledby": "lesson-q" }, [
      h("p", { id: "lesson-q", class: "lesson-q" }, [h("b", {}, "Predict first: "), stop.question]),
      h("div", { class: "choices" }, choices),
    ]);
  }

  runBar() {
    this.runBtn = h("button", { class: "primary", name: "lesson-run", onclick: () => this.run() }, "");
    this.watchBtn = h("button", { name: "lesson-watch", onclick: () => this.watch(), title: "Play it on the page and watch it get there" }, "Watch it play");
    this.runNote = h("span", { class: "caption lesson-run-note" });
    return h("div", { class: "lesson-runbar" }, [this.runBtn, this.watchBtn, this.runNote]);
  }

  navBar(k) {
    const n = this.stops.length;
    return h("nav", { class: "lesson-nav", "aria-label": "lesson navigation" }, [
      h("button", { name: "lesson-back", disabled: k <= 1, onclick: () => this.goFocus(k - 1), title: "Previous stop ([)" }, "← Back"),
      h("button", { name: "lesson-next", class: this.answer ? "primary" : null, disabled: k >= n, onclick: () => this.goFocus(k + 1), title: "Next stop (])" }, "Next →"),
      h("button", { name: "lesson-restart", onclick: () => this.go(k), title: "A fresh run of this stop's setup" }, "Restart this stop"),
      h("button", { name: "lesson-print", onclick: () => window.print(), title: "A one-page handout of this stop" }, "Print handout"),
      h("button", { name: "lesson-link", onclick: () => this.copyLink(), title: "A link to this stop with this run's settings: prepare variants for a class" }, "Link with these settings"),
      h("button", { name: "lesson-leave", onclick: () => this.leave(), title: "Free play with this run; come back any time" }, "Leave lesson (free play)"),
      h("span", { class: "caption" }, "Keys: [ back, ] next"),
    ]);
  }

  async goFocus(k) {
    await this.go(k);
    this.heading?.focus();
  }

  dots() {
    const p = this.progress;
    return h(
      "ol",
      { class: "lesson-dots", "aria-label": "stops" },
      this.stops.map((s) => {
        const k = s.number;
        const guess = p.predictions[k];
        const got = p.answers[k];
        const mark = guess && got ? (guess === got ? "right" : "wrong") : p.visited.includes(k) ? "visited" : "new";
        const state = { right: "predicted right", wrong: "predicted wrong", visited: "visited", new: "not visited" }[mark];
        return h("li", {}, h("button", { class: `dot ${mark}`, name: `lesson-stop-${k}`, "aria-current": k === this.at ? "true" : null, "aria-label": `stop ${k}: ${s.idea} (${state})`, title: `${k}. ${s.idea}`, onclick: () => this.goFocus(k) }, String(k)));
      }),
    );
  }

  answerBox(stop, predicted) {
    const a = this.answer && this.answer.stop === stop.number ? this.answer : null;
    const box = h("div", { class: "lesson-answer", "aria-live": "polite", dataset: { answer: a ? a.answer : "" } });
    if (!a) return box;
    const said = stop.choices[a.answer] ?? a.answer;
    const verdict = predicted === null ? "You did not predict." : predicted === a.answer ? "You predicted it." : `You predicted “${stop.choices[predicted]}”.`;
    box.classList.add(predicted === null ? "neutral" : predicted === a.answer ? "right" : "wrong");
    box.append(h("p", {}, [h("b", {}, `The run says: ${said}. `), verdict]), h("p", { class: "lesson-because" }, a.because));
    return box;
  }

  renderRunButton() {
    const main = this.main();
    const stop = this.stop;
    if (!this.runBtn || !stop || !main) return;
    const left = this.remaining(main);
    const predicted = this.progress.predictions[stop.number] ?? null;
    const what = stop.run.epochs ? `${stop.run.epochs} epochs` : `${stop.run.steps} update${stop.run.steps > 1 ? "s" : ""}`;
    const done = left === 0 || this.stopped(main);
    this.runBtn.textContent = done ? `Ran ${what}` : `▶ Run ${what}`;
    this.runBtn.disabled = this.watchBtn.disabled = done || predicted === null;
    this.watchBtn.hidden = done;
    this.runNote.textContent = done ? (this.answer ? "" : "Reading the answer from the run…") : predicted === null ? "Pick a prediction first: then run it at once, or watch it play." : "";
  }

  /** Free play offers the lesson, or the way back to its last stop; in the lesson, nothing. */
  renderEntry() {
    clear(this.entry);
    this.entry.hidden = Boolean(this.stop);
    if (this.stop) return;
    const last = this.progress.last;
    const go = () => (last ? this.resume() : this.go(1));
    this.entry.append(
      h("button", { class: "small primary", name: "lesson-start", onclick: go, title: `The chapter in ${this.stops.length} stops, each on a live run: what to look at, a prediction, and the run's own answer` }, last ? `Back to lesson (stop ${last})` : "▶ Guided lesson"),
      " ",
      last ? "" : `the chapter in ${this.stops.length} stops, on live runs`,
    );
  }

  async copyLink() {
    const link = this.teacherLink();
    if (!link) return;
    try {
      await navigator.clipboard.writeText(link);
      this.actions.notice("Link copied: it opens this stop with these settings.", "info");
    } catch {
      window.prompt("Copy this link:", link);
    }
  }
}
