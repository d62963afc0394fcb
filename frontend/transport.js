// Play / pause / step / reset, speed, the time scrubber and the keyboard.
import { clear, h } from "./dom.js";
import { finite, fmt } from "./plots/common.js";

const SPEEDS = [1, 3, 10, 30, 100, 300, 1000, 3000, 10000, 0]; // 0: as fast as the server goes

export class Transport {
  /** `limits`: the catalog's server limits (no speed above `max_steps_per_second`). */
  constructor(app, root, banner, limits) {
    this.app = app;
    this.root = root;
    this.banner = banner;
    this.speeds = SPEEDS.filter((s) => s <= limits.max_steps_per_second);
    this.build();
    document.addEventListener("keydown", (e) => this.key(e));
  }

  build() {
    const btn = (name, text, title, onclick) =>
      h("button", { name, title, onclick: (e) => (e.currentTarget.blur(), onclick()) }, text);
    this.playBtn = btn("play", "▶ Play", "Play / pause (space)", () => (this.app.main?.playing ? this.app.pause() : this.app.play()));
    this.playBtn.classList.add("primary");
    this.speed = h(
      "select",
      { name: "speed", title: "steps per second", onchange: (e) => this.app.setSpeed(Number(e.target.value)) },
      this.speeds.map((s) => h("option", { value: s, selected: s === this.app.view.speed }, s ? `${s} steps/s` : "max speed")),
    );
    this.scrub = h("input", { type: "range", name: "scrubber", min: 0, max: 0, value: 0, step: 1, title: "Rewind: drag back in time (later steps are dropped)" });
    this.scrub.addEventListener("input", () => this.app.preview(Number(this.scrub.value)));
    this.scrub.addEventListener("change", () => {
      const k = Number(this.scrub.value);
      this.app.preview(null);
      if (k < this.app.main.step) this.app.rewind(k);
    });
    this.readout = h("div", { class: "readout", "aria-live": "polite" });
    this.conn = h("span", { class: "conn", title: "WebSocket connection" });
    clear(this.root).append(
      h("div", { class: "buttons" }, [
        this.playBtn,
        btn("step1", "Step", "One update (→)", () => this.app.stepBy(1)),
        btn("step10", "×10", "Ten updates", () => this.app.stepBy(10)),
        btn("reset", "Reset", "Back to the initial weights, keeping the settings in force", () => this.app.reset()),
        this.speed,
      ]),
      h("div", { class: "scrub" }, [h("span", { class: "scrub-label" }, "time"), this.scrub]),
      this.readout,
      this.conn,
    );
  }

  key(e) {
    const tag = e.target && e.target.tagName;
    if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA" || e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === " " || e.code === "Space") {
      e.preventDefault();
      if (this.app.main?.playing) this.app.pause();
      else this.app.play();
    } else if (e.key === "ArrowRight") {
      e.preventDefault();
      this.app.stepBy(1);
    }
  }

  connection(up) {
    this.conn.classList.toggle("down", !up);
    this.conn.textContent = up ? "live" : "reconnecting…";
  }

  /** Reflect the main run's state. */
  update(run) {
    const info = run.info;
    const playing = info.status === "running";
    this.playBtn.textContent = playing ? "❚❚ Pause" : "▶ Play";
    this.playBtn.disabled = info.status === "diverged" || info.status === "limit";
    if (document.activeElement !== this.scrub) {
      this.scrub.max = info.step;
      this.scrub.value = info.step;
    }
    // held-out metrics come from the history (state messages carry only the training ones)
    const held = run.history.evalsAt(info.step) || {};
    const valLoss = held.val_loss;
    const valAcc = held.val_accuracy;
    const pct = (v) => `${Math.round(100 * v)}%`;
    const parts = [`step ${info.step}`, `epoch ${fmt(info.epoch, 4)}`, `loss ${fmt(info.loss)}${finite(valLoss) ? ` (val ${fmt(valLoss)})` : ""}`];
    if (finite(info.accuracy)) parts.push(`acc ${pct(info.accuracy)}${finite(valAcc) ? ` (val ${pct(valAcc)})` : ""}`);
    if (playing && run.rate) parts.push(`${fmt(run.rate.achieved, 3)} of ${run.rate.asked} steps/s`);
    // each part stays on one line; a narrow bar wraps between them
    this.readout.replaceChildren(...parts.flatMap((p, k) => (k ? [" · ", h("span", {}, p)] : [h("span", {}, p)])));
    this.readout.title = finite(valLoss) ? "In brackets: the same measure on the held-out validation rows" : "";
    this.showBanner(run);
  }

  showBanner(run) {
    const info = run.info;
    clear(this.banner);
    this.banner.hidden = !(info.status === "diverged" || info.status === "limit");
    if (this.banner.hidden) return;
    if (info.status === "limit") {
      this.banner.append(h("b", {}, "Step limit reached. "), "Rewind or reset to keep training.");
      return;
    }
    const back = Math.max(0, info.step - 10);
    this.banner.append(
      h("b", {}, `Diverged at step ${info.step}. `),
      `${info.reason || "The loss is no longer finite."} `,
      "Too large a learning rate overshoots the valley and every step lands higher. Lower it, then ",
      h("button", { class: "small", name: "banner-rewind", onclick: () => this.app.rewind(back) }, `rewind to step ${back}`),
      " or ",
      h("button", { class: "small", name: "banner-reset", onclick: () => this.app.reset() }, "reset"),
      ".",
    );
  }
}
