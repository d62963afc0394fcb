// One training session seen from the page: its state, its stream and its local history.
import { Stream, api } from "./api.js";
import { RunHistory } from "./history.js";

const MAX_FILL_ROWS = 2000;

export class Run {
  /**
   * `info`: a SessionInfo. `on`: {state(run, msg), frame(run, frame), error(run, message),
   * connection(run, up)}. `catalog`: the Catalog (the history's columns and fields).
   */
  constructor(info, on, catalog) {
    this.info = info;
    this.id = info.id;
    this.on = on;
    this.history = new RunHistory(catalog.columns);
    this.fields = catalog.historyFields.join(",");
    this.params = info.params;
    this.resuming = true;
    this.filling = null;
    this.stream = new Stream(this.id, {
      onMessage: (msg) => this.handle(msg),
      onOpen: () => {
        this.resuming = true;
        this.on.connection?.(this, true);
      },
      onClose: () => this.on.connection?.(this, false),
      onGone: () => this.on.error?.(this, "this session no longer exists on the server"),
    });
    this.playedWith = null;
    this.rate = null;
    this.onVisible = () => this.resume();
    document.addEventListener("visibilitychange", this.onVisible);
  }

  get step() {
    return this.info.step;
  }

  get status() {
    return this.info.status;
  }

  get playing() {
    return this.info.status === "running";
  }

  send(message) {
    // remember how it was played: a run the server paused for want of readers resumes so
    if (message.type === "play") this.playedWith = message;
    else if (message.type !== "set" && message.type !== "sync") this.playedWith = null;
    this.stream.send(message);
  }

  /**
   * Play again, at the same rate, a run the server paused because no viewer read it (the
   * tab was hidden, the laptop slept, the socket dropped), once this page can see it.
   */
  resume() {
    if (!this.info.unread || !this.playedWith || document.visibilityState === "hidden") return;
    if (!this.stream.open) return; // the state after the reconnect calls again
    this.stream.send(this.playedWith);
  }

  /**
   * Step on to `target` over the socket; resolves once the run is there, stopped
   * (diverged, at the limit), refused, or after 30 s (a lock-step clock's tick).
   */
  stepTo(target) {
    const n = target - this.step;
    if (n <= 0 || this.status === "diverged" || this.status === "limit") return Promise.resolve();
    this.settle(true);
    return new Promise((resolve) => {
      this.waiter = { target, resolve, timer: setTimeout(() => this.settle(true), 30000) };
      this.send({ type: "step", steps: n });
    });
  }

  settle(force = false) {
    const w = this.waiter;
    if (!w) return;
    if (!force && this.step < w.target && this.status !== "diverged" && this.status !== "limit") return;
    this.waiter = null;
    clearTimeout(w.timer);
    w.resolve();
  }

  close() {
    this.settle(true);
    document.removeEventListener("visibilitychange", this.onVisible);
    this.stream.close();
  }

  handle(msg) {
    switch (msg.type) {
      case "state": {
        const { type, events_from: from, ...info } = msg;
        // After the first state the server sends only what changed: the new events
        // (from index `events_from`) and no param_names (a run's never change).
        if (from) info.events = (this.info.events || []).slice(0, from).concat(info.events);
        if (!("param_names" in info)) info.param_names = this.info.param_names;
        this.info = info;
        this.params = info.params;
        if (info.step < this.history.lastStep) this.history.truncate(info.step);
        if (this.resuming) {
          this.resuming = false;
          if (info.step > this.history.lastStep) this.fill(this.history.lastStep + 1, info.step);
        }
        this.on.state(this, msg);
        this.resume();
        this.settle();
        break;
      }
      case "steps":
        this.history.addFrame(msg);
        this.rate = msg.rate || null; // {asked, achieved}: only while the server falls short
        if (msg.params) this.params = msg.params;
        this.info = { ...this.info, step: msg.to, status: msg.status, reason: msg.reason };
        if (msg.eval && msg.eval.step.length) {
          const k = msg.eval.step.length - 1;
          if (msg.eval.step[k] === msg.to) {
            this.info.loss = msg.eval.loss[k];
            this.info.accuracy = msg.eval.accuracy[k];
          }
        }
        this.info.epoch = msg.epoch[msg.epoch.length - 1];
        this.on.frame(this, msg);
        this.settle();
        break;
      case "status":
        if (msg.status) this.info = { ...this.info, status: msg.status, reason: msg.reason ?? this.info.reason };
        this.on.state(this, msg);
        this.settle();
        break;
      case "error":
        this.on.error?.(this, msg.message);
        this.settle(true);
        break;
      default:
        throw new Error(`unknown message type ${msg.type}`);
    }
  }

  /** Fetch steps [from, to] the stream did not send (first load, after a reconnect). */
  async fill(from, to) {
    const count = to - from + 1;
    const every = Math.max(1, Math.ceil(count / MAX_FILL_ROWS));
    const start = to - every * Math.floor((to - from) / every); // so the slice ends on `to`
    const job = api
      .trajectory(this.id, { start, stop: to + 1, every, fields: this.fields })
      .then((res) => {
        const cols = res.columns;
        // the stream may have rewound meanwhile: keep only rows the session still has
        const keep = cols.step.map((k) => k <= this.info.step);
        const sel = {};
        for (const [k, v] of Object.entries(cols)) sel[k] = v.filter((_, i) => keep[i]);
        this.history.addColumns(sel);
        this.on.frame(this, null);
      })
      .catch((err) => this.on.error?.(this, `could not load the history: ${err.message}`));
    this.filling = job;
    return job;
  }
}
