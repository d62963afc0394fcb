// Columnar step history kept in the page, sorted by step.
//
// The server keeps the complete trajectory; the page keeps what the stream sent it
// (frames are already decimated) and thins the oldest rows past a cap, so memory stays
// bounded on long runs. Drawing asks for at most a few thousand evenly spaced rows.

/** Evenly spaced indices into n rows, at most k of them, always the first and the last. */
export function spacedIndices(n, k) {
  if (n <= k) return Array.from({ length: n }, (_, i) => i);
  const out = [];
  const stride = (n - 1) / (k - 1);
  let prev = -1;
  for (let i = 0; i < k; i++) {
    const idx = Math.round(i * stride);
    if (idx !== prev) out.push(idx);
    prev = idx;
  }
  return out;
}

function lowerBound(arr, value) {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (arr[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class Table {
  /** `fields`: column names besides `step`. */
  constructor(fields, cap = 200000) {
    this.fields = fields;
    this.cap = cap;
    this.version = 0;
    this.clear();
  }

  clear() {
    this.cols = { step: [] };
    for (const f of this.fields) this.cols[f] = [];
    this.version++;
  }

  get length() {
    return this.cols.step.length;
  }

  get lastStep() {
    const s = this.cols.step;
    return s.length ? s[s.length - 1] : -1;
  }

  /** The row index of the last row with step <= `step` (or -1). */
  indexAtOrBefore(step) {
    return lowerBound(this.cols.step, step + 1) - 1;
  }

  /**
   * Merge a block of rows sorted by step (`{step: [...], field: [...] | scalar}`); rows
   * of this table inside the block's step range are replaced (a newer view wins).
   */
  merge(block) {
    const steps = block.step;
    if (!steps || steps.length === 0) return;
    const n = steps.length;
    const lo = lowerBound(this.cols.step, steps[0]);
    const hi = lowerBound(this.cols.step, steps[n - 1] + 1);
    const append = lo === this.length;
    for (const name of ["step", ...this.fields]) {
      let values = block[name];
      if (!Array.isArray(values)) values = new Array(n).fill(values === undefined ? null : values);
      const col = this.cols[name];
      if (append) {
        for (let i = 0; i < n; i++) col.push(values[i]);
      } else {
        col.splice(lo, hi - lo, ...values);
      }
    }
    if (this.length > this.cap) this.compact();
    this.version++;
  }

  /** Drop rows after `step` (after a rewind or reset). */
  truncate(step) {
    const keep = lowerBound(this.cols.step, step + 1);
    if (keep === this.length) return;
    for (const name of ["step", ...this.fields]) this.cols[name].length = keep;
    this.version++;
  }

  /** Thin the oldest three quarters by two (the newest rows stay dense). */
  compact() {
    const cut = Math.floor(this.length * 0.75);
    for (const name of ["step", ...this.fields]) {
      const col = this.cols[name];
      const thinned = col.slice(0, cut).filter((_, i) => i % 2 === 0);
      this.cols[name] = thinned.concat(col.slice(cut));
    }
  }

  /** At most `k` evenly spaced rows of the given fields, as plain arrays. */
  decimated(k, fields = this.fields, from = 0) {
    const start = from > 0 ? lowerBound(this.cols.step, from) : 0;
    const idx = spacedIndices(this.length - start, k).map((i) => i + start);
    const out = { step: idx.map((i) => this.cols.step[i]) };
    for (const f of fields) out[f] = idx.map((i) => this.cols[f][i]);
    return out;
  }

  last(field) {
    const col = this.cols[field];
    return col.length ? col[col.length - 1] : undefined;
  }
}

/** Everything the page keeps about one run's steps. */
export class RunHistory {
  constructor() {
    this.scalars = new Table(["epoch", "batch_loss", "grad_norm", "lr", "batch_size"]);
    this.evals = new Table(["loss", "accuracy", "val_loss", "val_accuracy", "layer_grad_norms"]);
    this.plane = new Table(["a", "b", "loss", "height", "off"]);
  }

  get lastStep() {
    return Math.max(this.scalars.lastStep, this.evals.lastStep);
  }

  get version() {
    return this.scalars.version + this.evals.version + this.plane.version;
  }

  clear() {
    this.scalars.clear();
    this.evals.clear();
    this.plane.clear();
  }

  truncate(step) {
    this.scalars.truncate(step);
    this.evals.truncate(step);
    this.plane.truncate(step);
  }

  /** A `steps` frame from the socket. */
  addFrame(frame) {
    if (frame.from <= this.lastStep) this.truncate(frame.from - 1);
    this.scalars.merge({
      step: frame.step,
      epoch: frame.epoch,
      batch_loss: frame.batch_loss,
      grad_norm: frame.grad_norm,
      lr: frame.lr,
      batch_size: frame.batch_size,
    });
    const ev = frame.eval;
    if (ev) this.evals.merge(ev);
  }

  /** Trajectory columns from GET .../trajectory (initial load, gap after a reconnect). */
  addColumns(cols) {
    if (!cols.step || !cols.step.length) return;
    this.scalars.merge(cols);
    const has = cols.step.map((_, i) => cols.loss && cols.loss[i] !== null);
    const pick = (name) => cols[name]?.filter((_, i) => has[i]); // missing: null-filled by merge
    this.evals.merge({
      step: pick("step"),
      loss: pick("loss"),
      accuracy: pick("accuracy"),
      val_loss: pick("val_loss"),
      val_accuracy: pick("val_accuracy"),
      layer_grad_norms: pick("layer_grad_norms"),
    });
  }

  /** An evaluated field (e.g. `val_accuracy`) at the latest evaluated step <= `step`, or null. */
  evalAt(step, field) {
    const i = this.evals.indexAtOrBefore(step);
    return i >= 0 ? (this.evals.cols[field][i] ?? null) : null;
  }

  /** The full-data loss at `step`, if this page has it. */
  lossAt(step) {
    const i = this.evals.indexAtOrBefore(step);
    return i >= 0 && this.evals.cols.step[i] === step ? this.evals.cols.loss[i] : null;
  }
}
