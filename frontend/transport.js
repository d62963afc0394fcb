// Play / pause / step / reset, speed, the time slider, the keyboard and the divergence banner.
//
// The slider and the keys (←, →, Home, End) only *preview* a past step: the store's
// `preview` says which, every view shows it, and nothing on the server changes. "Continue
// from here" forks a branch at the previewed step (main.js keeps the old future).
import { clear, h } from "./dom.js";
import { finite, fmt } from "./plots/common.js";

export const SPEEDS = [1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 0]; // 0: as fast as the server goes

const pct = (v) => `${Math.round(100 * v)}%`;

/**
 * May a key press act as a page shortcut? Never while a form control, a button, a link or
 * anything editable has focus (Space on a focused button presses that button, arrows move
 * a focused slider), nor with Ctrl, Meta or Alt held.
 */
export function isShortcut(e) {
  const t = e.target;
  const tag = t && t.tagName;
  const focusable = ["INPUT", "SELECT", "TEXTAREA", "BUTTON", "A", "SUMMARY", "OPTION"];
  if (focusable.includes(tag) || (t && t.isContentEditable) || (t && t.closest && t.closest("[role=button],[role=slider],[role=tab],.modebar"))) return false;
  return !(e.ctrlKey || e.metaKey || e.altKey);
}

export class Transport {
  /**
   * `store`: the view store (`speed`, `preview`). `limits`: the catalog's limits.
   * `actions`: {main() -> Run, playing() -> bool, play(), pause(), stepBy(n), reset(),
   * continueFrom(step), recover(plan), refused(text)}.
   */
  constructor({ root, banner, store, limits, actions }) {
    this.root = root;
    this.banner = banner;
    this.store = store;
    this.actions = actions;
    this.speeds = SPEEDS.filter((s) => s <= limits.max_steps_per_second);
    this.recovery = null; // {for: "id@step", plan} from GET .../recovery
    this.build();
    document.addEventListener("keydown", (e) => this.key(e));
    store.subscribe(() => this.refresh(), ["preview", "speed"]);
  }

  build() {
    const btn = (name, text, title, onclick) =>
      h("button", { name, title, onclick: (e) => (e.currentTarget.blur(), onclick()) }, text);
    const a = this.actions;
    this.playBtn = btn("play", "▶ Play", "Play / pause (space)", () => this.playOrPause());
    this.playBtn.classList.add("primary");
    this.speed = h(
      "select",
      { name: "speed", title: "steps per second", "aria-label": "speed", onchange: (e) => this.store.set({ speed: Number(e.target.value) }) },
      this.speeds.map((s) => h("option", { value: s, selected: s === this.store.state.speed }, s ? `${s} steps/s` : "max speed")),
    );
    this.scrub = h("input", {
      type: "range",
      name: "scrubber",
      min: 0,
      max: 0,
      value: 0,
      step: 1,
      "aria-label": "preview a step",
      title: "Look back in time (← → Home End): nothing is deleted; 'Continue from here' branches",
    });
    this.scrub.addEventListener("input", () => this.preview(Number(this.scrub.value)));
    this.continueBtn = btn("continue-here", "Continue from here", "Branch: train on from the previewed step; the later steps stay as a branch", () => {
      const k = this.store.state.preview;
      if (k !== null) a.continueFrom(k);
    });
    this.liveBtn = btn("back-live", "Back to latest", "Stop previewing (End)", () => this.preview(null));
    this.previewBox = h("span", { class: "preview-bar", hidden: true }, [this.continueBtn, this.liveBtn]);
    this.readout = h("div", { class: "readout", "aria-live": "polite" });
    this.rate = h("span", { class: "rate" });
    this.conn = h("span", { class: "conn", title: "WebSocket connection" });
    this.drawerBtn = h(
      "button",
      { class: "drawer-toggle", name: "drawer", "aria-controls": "side", "aria-expanded": "false", title: "Settings: data, model and training", onclick: () => a.drawer?.() },
      "☰ Settings",
    );
    clear(this.root).append(
      h("div", { class: "buttons" }, [
        this.drawerBtn,
        this.playBtn,
        btn("step1", "Step", "One update (→)", () => this.stepBy(1)),
        btn("step10", "×10", "Ten updates", () => this.stepBy(10)),
        btn("reset", "Reset", "Back to the initial weights, keeping the settings in force (undo brings the run back)", () => a.reset()),
        this.speed,
      ]),
      h("div", { class: "scrub" }, [h("span", { class: "scrub-label" }, "time"), this.scrub]),
      this.previewBox,
      this.readout,
      this.rate,
      this.conn,
    );
  }

  /** Preview step `k` (null: the latest), clamped to the run. */
  preview(k) {
    const main = this.actions.main();
    if (!main) return;
    const T = main.step;
    const step = k === null || k === undefined ? null : Math.max(0, Math.min(T, Math.round(k)));
    this.store.set({ preview: step === null || step >= T ? null : step });
  }

  stopped(run) {
    return run.status === "diverged" || run.status === "limit";
  }

  /** Why a run cannot train on, or null. */
  refusal(run) {
    if (run.status === "diverged") return `The run diverged at step ${run.step}: rewind (see the banner) or reset before training on.`;
    if (run.status === "limit") return `The run is at the server's step limit (${run.step} steps): reset or branch from an earlier step.`;
    return null;
  }

  playOrPause() {
    const main = this.actions.main();
    if (!main) return;
    if (this.actions.playing()) return this.actions.pause();
    const why = this.refusal(main);
    if (why) return this.actions.refused(why);
    this.actions.play();
  }

  stepBy(n) {
    const main = this.actions.main();
    if (!main) return;
    const why = this.refusal(main);
    if (why) return this.actions.refused(why);
    this.actions.stepBy(n);
  }

  key(e) {
    if (!isShortcut(e)) return;
    const main = this.actions.main();
    if (!main) return;
    const at = this.store.state.preview;
    if (e.key === " " || e.code === "Space") {
      e.preventDefault();
      this.playOrPause();
    } else if (e.key === "ArrowLeft") {
      e.preventDefault();
      this.preview((at ?? main.step) - 1);
    } else if (e.key === "ArrowRight") {
      e.preventDefault();
      if (at === null) this.stepBy(1); // at the latest step → trains one step, as Playground's
      else this.preview(at + 1);
    } else if (e.key === "Home") {
      e.preventDefault();
      this.preview(0);
    } else if (e.key === "End") {
      e.preventDefault();
      this.preview(null);
    }
  }

  connection(up) {
    this.conn.classList.toggle("down", !up);
    this.conn.textContent = up ? "live" : "reconnecting…";
  }

  refresh() {
    const main = this.actions.main();
    if (main) this.update(main);
  }

  /** Reflect the main run (at the previewed step, if one is previewed). */
  update(run) {
    const info = run.info;
    const playing = this.actions.playing();
    const at = this.store.state.preview;
    this.playBtn.textContent = playing ? "❚❚ Pause" : "▶ Play";
    this.playBtn.setAttribute("aria-disabled", String(this.stopped(run)));
    this.playBtn.classList.toggle("refused", this.stopped(run));
    for (const o of this.speed.options) o.selected = Number(o.value) === this.store.state.speed;
    this.scrub.max = info.step;
    if (document.activeElement !== this.scrub || at === null) this.scrub.value = at ?? info.step;
    this.previewBox.hidden = at === null;
    this.root.classList.toggle("previewing", at !== null);
    this.readout.replaceChildren(...this.readoutParts(run, at));
    this.rate.replaceChildren(...this.rateParts(run, playing));
    this.showBanner(run);
  }

  readoutParts(run, at) {
    const info = run.info;
    const k = at ?? info.step;
    const held = run.history.evalsAt(k) || {};
    const exact = at === null || (held.step === k && finite(held.loss));
    const loss = at === null ? info.loss : held.loss;
    const acc = at === null ? info.accuracy : held.accuracy;
    const epoch = at === null ? info.epoch : run.history.scalarsAt(k)?.epoch;
    const parts = [at === null ? `step ${k}` : `previewing step ${k} of ${info.step}`];
    if (finite(epoch)) parts.push(`epoch ${fmt(epoch, 4)}`);
    const val = finite(held.val_loss) ? ` (val ${fmt(held.val_loss)})` : "";
    if (finite(loss)) parts.push(`loss ${fmt(loss)}${exact ? "" : ` (at step ${held.step})`}${val}`);
    if (finite(acc)) parts.push(`acc ${pct(acc)}${finite(held.val_accuracy) ? ` (val ${pct(held.val_accuracy)})` : ""}`);
    this.readout.title = val ? "In brackets: the same measure on the held-out validation rows" : "";
    // each part stays on one line; a narrow bar wraps between them
    return parts.flatMap((p, i) => (i ? [" · ", h("span", {}, p)] : [h("span", {}, p)]));
  }

  /** The achieved steps/s beside the requested one, and why it is lower. */
  rateParts(run, playing) {
    const r = this.actions.rate ? this.actions.rate() : run.rate;
    if (!playing || !r) return [];
    const why = r.reason ? ` (${r.reason})` : "";
    return [h("span", { class: "short-rate", title: "The server runs slower than asked" }, `${fmt(r.achieved, 3)} of ${r.asked} steps/s${why}`)];
  }

  /** The recovery plan for the diverged run (from GET .../recovery), or null while loading. */
  setRecovery(key, plan) {
    this.recovery = { key, plan };
    this.refresh();
  }

  showBanner(run) {
    const info = run.info;
    const key = JSON.stringify([run.id, info.step, info.status, info.reason, this.recovery]);
    if (key === this.bannerKey) return; // unchanged: a rebuild mid-click would lose the click
    this.bannerKey = key;
    clear(this.banner);
    this.banner.hidden = !(info.status === "diverged" || info.status === "limit");
    if (this.banner.hidden) return;
    if (info.status === "limit") {
      this.banner.append(h("b", {}, "Step limit reached. "), "Preview an earlier step and continue from there, or reset.");
      return;
    }
    const planKey = `${run.id}@${info.step}`;
    const plan = this.recovery && this.recovery.key === planKey ? this.recovery.plan : null;
    const a = this.actions;
    const button = (name, text, onclick) => h("button", { class: "small", name, onclick }, text);
    this.banner.append(h("b", {}, `Diverged at step ${info.step}. `), `${info.reason || "The loss is no longer finite."} `);
    if (!plan) {
      this.banner.append(h("span", { class: "caption" }, "Finding where the loss began to climb…"));
    } else if (plan.error) {
      this.banner.append(`${plan.error} `, button("banner-reset", "reset", () => a.reset()));
    } else {
      const pending = plan.pending && Object.keys(plan.pending).length ? plan.pending : null;
      this.banner.append(`${plan.message} `); // the cause with its numbers (λmax and 2 / λmax, or the gradient's growth)
      const fixText = plan.fix ? Object.entries(plan.fix).map(([k, v]) => `${k === "clip_norm" ? "clip at" : k} ${fmt(v, 3)}`).join(", ") : null;
      if (fixText) this.banner.append(button("banner-fix", `Rewind to step ${plan.rewind_to} with ${fixText}`, () => a.recover({ ...plan, apply: plan.fix })));
      const typed = pending ? Object.entries(pending).map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : fmt(v, 3)}`).join(", ") : null;
      const plain = typed ? `Rewind to step ${plan.rewind_to} with ${typed}` : `Rewind to step ${plan.rewind_to}`;
      this.banner.append(" ", button("banner-rewind", plain, () => a.recover({ ...plan, apply: null })), " or ", button("banner-reset", "reset", () => a.reset()), ".");
    }
  }
}

