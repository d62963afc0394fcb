// Feedback on slow work: any wait longer than ~300 ms shows what the server is computing,
// for how long so far, and a button that cancels it (the request is aborted; the server
// stops the work when the client goes away).
import { h } from "./dom.js";

export const SHOW_AFTER_MS = 300;

export class Busy {
  constructor(root) {
    this.root = root;
    this.jobs = new Set();
    this.timer = null;
  }

  /**
   * Track `work(signal)` (a promise-returning function given an AbortSignal) labelled
   * `label`; resolves or rejects as it does (an AbortError when cancelled).
   */
  async track(label, work) {
    const ctl = new AbortController();
    const job = { label, ctl, start: performance.now() };
    this.jobs.add(job);
    this.schedule();
    try {
      return await work(ctl.signal);
    } finally {
      this.jobs.delete(job);
      this.render();
    }
  }

  schedule() {
    if (this.timer) return;
    this.timer = setInterval(() => this.render(), 100);
  }

  render() {
    const now = performance.now();
    if (!this.jobs.size && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    let shown = 0;
    for (const j of this.jobs) {
      if (now - j.start < SHOW_AFTER_MS) continue;
      shown++;
      if (!j.el) {
        j.time = h("span", { class: "elapsed" });
        j.el = h("span", { class: "job", role: "status" }, [
          h("span", { class: "spinner", "aria-hidden": "true" }),
          `${j.label}… `,
          j.time,
          " ",
          h("button", { class: "small", name: "cancel-work", onclick: () => j.ctl.abort() }, "cancel"),
        ]);
        this.root.append(j.el);
      }
      j.time.textContent = `${((now - j.start) / 1000).toFixed(1)} s`;
    }
    for (const el of [...this.root.children]) if (![...this.jobs].some((j) => j.el === el)) el.remove();
    this.root.hidden = !shown;
  }
}
