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
  /** `columns`: the column names, the sorting index (the step) first. */
  constructor(columns, cap = 200000) {
    this.columns = columns;
    this.index = columns[0];
    this.cap = cap;
    this.version = 0;
    this.clear();
  }

  clear() {
    this.cols = Object.fromEntries(this.columns.map((c) => [c, []]));
    this.version++;
  }

  /** The index column (the steps, ascending). */
  get steps() {
    return this.cols[this.index];
  }

  get length() {
    return this.steps.length;
  }

  get lastStep() {
    const s = this.steps;
    return s.length ? s[s.length - 1] : -1;
  }

  /** The row index of the last row with step <= `step` (or -1). */
  indexAtOrBefore(step) {
    return lowerBound(this.steps, step + 1) - 1;
  }

  /**
   * Merge a block of rows sorted by step (`{step: [...], column: [...] | scalar}`, other
   * keys ignored, absent columns null); rows of this table inside the block's step range
   * are replaced (a newer view wins).
   */
  merge(block) {
    const steps = block[this.index];
    if (!steps || steps.length === 0) return;
    const n = steps.length;
    const lo = lowerBound(this.steps, steps[0]);
    const hi = lowerBound(this.steps, steps[n - 1] + 1);
    const append = lo === this.length;
    for (const name of this.columns) {
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
    const keep = lowerBound(this.steps, step + 1);
    if (keep === this.length) return;
    for (const name of this.columns) this.cols[name].length = keep;
    this.version++;
  }

  /** Thin the oldest three quarters by two (the newest rows stay dense). */
  compact() {
    const cut = Math.floor(this.length * 0.75);
    for (const name of this.columns) {
      const col = this.cols[name];
      const thinned = col.slice(0, cut).filter((_, i) => i % 2 === 0);
      this.cols[name] = thinned.concat(col.slice(cut));
    }
  }

  /** At most `k` evenly spaced rows from step `from` on, every column, as plain arrays. */
  decimated(k, from = 0) {
    const start = from > 0 ? lowerBound(this.steps, from) : 0;
    const idx = spacedIndices(this.length - start, k).map((i) => i + start);
    const out = {};
    for (const c of this.columns) out[c] = idx.map((i) => this.cols[c][i]);
    return out;
  }

  /** Row `i` as `{column: value}` (undefined values past the end). */
  row(i) {
    const out = {};
    for (const c of this.columns) out[c] = this.cols[c][i];
    return out;
  }

  /** The newest value of one column (undefined when empty). */
  last(column) {
    const col = this.cols[column];
    return col.length ? col[col.length - 1] : undefined;
  }
}

/** Columns of a run's path on the current plane: position (a, b), its own height z (the
 * true loss, in the plot's z units), the surface height under it and its distance off it. */
const PLANE_COLUMNS = ["a", "b", "z", "height", "off"];

/** Everything the page keeps about one run's steps. */
export class RunHistory {
  /** `columns`: the catalog's table columns (`Catalog.columns`). */
  constructor(columns) {
    this.scalars = new Table(columns.scalars);
    this.evals = new Table(columns.evals);
    this.plane = new Table([...columns.index, ...PLANE_COLUMNS]);
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

  /** A `steps` frame from the socket: per-step columns, and the evaluated rows in `eval`. */
  addFrame(frame) {
    if (frame.from <= this.lastStep) this.truncate(frame.from - 1);
    this.scalars.merge(frame);
    if (frame.eval) this.evals.merge(frame.eval);
  }

  /** Trajectory columns from GET .../trajectory (initial load, gap after a reconnect). */
  addColumns(cols) {
    const steps = cols.step;
    if (!steps || !steps.length) return;
    this.scalars.merge(cols);
    // evaluated rows only: a step whose full-data loss was never computed has none
    const has = steps.map((_, i) => cols.loss && cols.loss[i] !== null);
    const rows = {};
    for (const c of this.evals.columns) if (cols[c]) rows[c] = cols[c].filter((_, i) => has[i]); // missing: null-filled by merge
    this.evals.merge(rows);
  }

  /** The evaluated row (`{loss, accuracy, val_loss, ...}`) of the latest evaluated step <= `step`, or null. */
  evalsAt(step) {
    const i = this.evals.indexAtOrBefore(step);
    return i >= 0 ? this.evals.row(i) : null;
  }

  /** The per-step row (`{step, epoch, batch_loss, ...}`) of the latest step <= `step`, or null. */
  scalarsAt(step) {
    const i = this.scalars.indexAtOrBefore(step);
    return i >= 0 ? this.scalars.row(i) : null;
  }

  /** The full-data loss at `step`, if this page has it. */
  lossAt(step) {
    const i = this.evals.indexAtOrBefore(step);
    return i >= 0 && this.evals.steps[i] === step ? this.evals.cols.loss[i] : null;
  }
}
