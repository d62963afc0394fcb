// Epochs the way Keras counts them: fit(epochs=N, batch_size=B) is N passes over the
// data of ceil(n / B) updates each. "Run N epochs", "go to epoch e" and the chapter's
// checkpoint table (the loss at the start of epochs 0 / 500 / 1000 / 1500), filled from
// the run itself.
import { api } from "./api.js";
import { clear, h } from "./dom.js";
import { fmt } from "./plots/common.js";

export const CHAPTER_EPOCHS = [0, 500, 1000, 1500];

/** Updates one epoch takes at the run's batch size now (1 for full batch or no data). */
export function stepsPerEpoch(info) {
  const n = info.n_samples;
  const b = info.settings.batch_size;
  return !n || b === null || b === undefined ? 1 : Math.ceil(n / b);
}

export class EpochPanel {
  /**
   * `main()`: the main run; `busy`: the progress indicator; `maxPerCall`: the server's
   * steps per call; `catalog`: the Catalog (field names); `actions`: {preview(step), pause()}.
   */
  constructor(root, { main, busy, maxPerCall, catalog, actions }) {
    this.root = root;
    this.indexFields = catalog.columns.index; // a catch-up step asks for the index alone
    this.historyFields = catalog.historyFields.join(",");
    this.main = main;
    this.busy = busy;
    this.maxPerCall = maxPerCall;
    this.actions = actions;
    this.epochs = [...CHAPTER_EPOCHS];
    this.filled = null;
    this.fillAt = -1e9;
    this.fillBusy = false;
  }

  get visible() {
    return this.root.offsetParent !== null;
  }

  render() {
    const main = this.main();
    if (!main) return;
    const info = main.info;
    const spe = stepsPerEpoch(info);
    const b = info.settings.batch_size;
    const runN = h("input", { type: "number", name: "run-epochs", min: 1, max: 100000, step: 1, value: 100, class: "short", "aria-label": "epochs to run" });
    const goE = h("input", { type: "number", name: "goto-epoch", min: 0, step: 1, value: 500, class: "short", "aria-label": "epoch to go to" });
    this.status = h("span", { class: "caption epoch-status", "aria-live": "polite" });
    this.list = h("input", { type: "text", name: "checkpoint-epochs", value: this.epochs.join(", "), "aria-label": "checkpoint epochs", class: "epochs-list" });
    this.list.addEventListener("change", () => {
      const parsed = this.list.value
        .split(/[\s,]+/)
        .filter(Boolean)
        .map((t) => Number(t));
      if (!parsed.length || parsed.some((e) => !Number.isInteger(e) || e < 0) || parsed.length > 12) {
        this.status.textContent = "Checkpoint epochs: up to 12 whole numbers ≥ 0, separated by commas.";
        return;
      }
      this.epochs = [...new Set(parsed)].sort((x, y) => x - y);
      this.list.value = this.epochs.join(", ");
      this.fill(true);
    });
    this.table = h("table", { class: "update checkpoints" });
    const n = info.n_samples;
    const keras = n
      ? `model.fit(X, y, epochs=N, batch_size=${b ?? n}) does exactly this: N passes over the ${n} rows, ${spe} update${spe > 1 ? "s" : ""} each (ceil(${n} / ${b ?? n})).`
      : "An analytic surface has no data: an epoch is one update.";
    clear(this.root).append(
      h("p", { class: "caption" }, ["Frameworks hide the loop behind fit(). ", keras]),
      h("div", { class: "panel-bar" }, [
        h("label", { class: "inline" }, ["run ", runN, " epochs"]),
        h("button", { class: "small primary", name: "run-epochs-go", onclick: () => this.run(Number(runN.value)) }, "Run"),
        h("label", { class: "inline" }, ["go to epoch ", goE]),
        h("button", { class: "small", name: "goto-epoch-go", onclick: () => this.goTo(Number(goE.value)) }, "Go"),
        this.status,
      ]),
      h("div", { class: "panel-bar" }, [h("label", { class: "inline" }, ["checkpoints at epochs ", this.list])]),
      this.table,
    );
    this.fill(true);
  }

  /** Train `epochs` more epochs (through as many calls as the server's budgets need). */
  async run(epochs) {
    const main = this.main();
    if (!main || !Number.isInteger(epochs) || epochs < 1 || epochs > 100000) {
      this.status.textContent = "Epochs: a whole number from 1 to 100000.";
      return;
    }
    if (main.status === "diverged" || main.status === "limit") {
      this.status.textContent = "The run cannot train on: see the banner.";
      return;
    }
    this.actions.pause();
    const target = main.step + epochs * stepsPerEpoch(main.info);
    await this.trainTo(main, target, `Training ${epochs} epoch${epochs > 1 ? "s" : ""}`);
  }

  /** Epoch `e`: ahead of the run, train to it; behind, preview it. */
  async goTo(e) {
    const main = this.main();
    if (!main || !Number.isInteger(e) || e < 0) {
      this.status.textContent = "Epoch: a whole number ≥ 0.";
      return;
    }
    const target = e * stepsPerEpoch(main.info);
    if (target <= main.step) {
      this.actions.preview(target);
      this.status.textContent = `Epoch ${e} is step ${target}: previewing it.`;
      return;
    }
    this.actions.pause();
    await this.trainTo(main, target, `Training to epoch ${e}`);
  }

  async trainTo(main, target, label) {
    const start = main.step;
    try {
      await this.busy.track(label, async (signal) => {
        const onCall = (res) => (this.status.textContent = `${label}: step ${res.step} of ${target}${res.truncated ? " (continuing)" : ""}`);
        const body = { evaluate: "last", fields: this.indexFields };
        await api.stepTo(main.id, start, target, { maxPerCall: this.maxPerCall, body, signal, onCall });
      });
      this.status.textContent = `${label}: done, at step ${main.step >= target ? target : main.step}.`;
    } catch (err) {
      this.status.textContent = err.name === "AbortError" ? `${label}: stopped (the steps made are kept).` : err.message;
    }
    this.fill(true);
  }

  /** The checkpoint table: the full-data loss at the start of each listed epoch. */
  async fill(force = false) {
    const main = this.main();
    if (!main || !this.table || !this.visible) return;
    if (this.fillBusy) {
      if (force) this.fillAgain = true; // once more when the one in flight ends
      return;
    }
    if (!force && performance.now() - this.fillAt < 1500) return;
    this.fillBusy = true;
    const spe = stepsPerEpoch(main.info);
    const T = main.step;
    try {
      const rows = [];
      for (const e of this.epochs) {
        const s = e * spe;
        let loss = null;
        if (s <= T) {
          const res = await api.trajectory(main.id, { start: s, stop: s + 1, fields: this.historyFields });
          loss = res.columns.loss[0];
        }
        rows.push({ e, s, loss });
      }
      this.filled = rows;
      clear(this.table).append(
        h("thead", {}, h("tr", {}, ["at epoch", "training step", "loss, 4 dp", "full-data loss"].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          {},
          rows.map((r) =>
            h("tr", { dataset: { epoch: String(r.e) } }, [
              h("th", { scope: "row" }, String(r.e)),
              h("td", {}, String(r.s)),
              h("td", { class: "loss4" }, r.loss === null ? "not reached" : r.loss.toFixed(4)),
              h("td", {}, r.loss === null ? "" : fmt(r.loss, 10)),
            ]),
          ),
        ),
      );
    } catch (err) {
      this.status.textContent = `checkpoints: ${err.message}`;
    } finally {
      this.fillBusy = false;
      this.fillAt = performance.now();
      if (this.fillAgain) {
        this.fillAgain = false;
        this.fill(true);
      }
    }
  }
}
