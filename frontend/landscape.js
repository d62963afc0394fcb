// The loss surface and its contours: which plane, when to refit it, the honest path.
import { api } from "./api.js";
import { objectiveLabel } from "./catalog.js";
import { clear } from "./dom.js";
import { axisTitles, planeNote, planeToolbar } from "./planebar.js";
import { PlaneMath, calmExtent, extent1d, heightAt, inBox } from "./planemath.js";
import { createContour } from "./plots/contour.js";
import { createSurface3d } from "./plots/surface3d.js";
import { invalidate } from "./scheduler.js";

const PATH_POINTS = 800;

export class Landscape {
  /**
   * `catalog`: the Catalog (surface modes, the grid resolution limit); `store`: the view
   * store (plane, axes, res, zlog, preview); `main()`, `compare()`: the runs drawn;
   * `busy`: the progress indicator slow fits report to.
   */
  constructor({ surfaceEl, contourEl, noteEl, toolbarEl, catalog, store, main, compare, busy }) {
    this.store = store;
    this.main = main;
    this.compare = compare;
    this.busy = busy;
    this.planeChoices = { modes: catalog.surface_modes, maxResolution: catalog.limits.max_resolution };
    this.surface3d = createSurface3d(surfaceEl);
    this.contour = createContour(contourEl);
    this.noteEl = noteEl;
    this.toolbarEl = toolbarEl;
    this.info = null;
    this.reset();
    store.subscribe(() => {
      if (this.info) this.buildToolbar(this.info);
      this.request();
    }, ["plane", "axes", "res", "zlog"]);
    store.subscribe(() => this.draw(), ["preview"]);
  }

  reset() {
    this.surface = null;
    this.math = null;
    this.arrows = null;
    this.error = null;
    this.inFlight = false;
    this.again = false;
    this.fitAt = -1e9;
    this.fitStep = 0;
    this.currentOff = 0;
    this.insane = false; // the last fit spans astronomical weights: not drawable
    this.calmTried = false;
  }

  get view() {
    return this.store.state;
  }

  /** A new main session: new toolbar (its parameter names), fresh plane. */
  setSession(info) {
    this.reset();
    this.info = info;
    this.buildToolbar(info);
    this.request();
  }

  buildToolbar(info) {
    planeToolbar(this.toolbarEl, this.view, info.param_names, this.planeChoices, (patch) => {
      // {} = recompute now; any other patch reaches request() through the store
      if (!this.store.set(patch).length) this.request();
    });
  }

  body() {
    const v = this.view;
    const main = this.main();
    const body = { center: "current", resolution: v.res, log_scale: v.zlog };
    if (v.plane !== "auto") body.mode = v.plane;
    if (v.plane === "axes") {
      const n = main.info.n_params;
      body.params = v.axes && v.axes.every((i) => i < n) ? v.axes : [0, Math.min(1, n - 1)];
    }
    if (main.status === "diverged") {
      // a blown-up current point is no place to centre a plane: take the best step seen
      const best = bestStep(main.history.evals);
      if (best !== null) body.center = best;
    }
    const overlay = this.compare().map((r) => r.id);
    if (overlay.length) body.overlay = overlay;
    const calm = this.surface && (main.status === "diverged" || this.exploded()) ? calmExtent(main.history.plane.cols, this.view.zlog) : null;
    if (calm) {
      // a blown-up path would stretch the view over astronomical losses: keep the plane,
      // frame the part of the path where the loss was still sane, and let the rest leave
      delete body.mode;
      delete body.params;
      body.plane = this.surface.plane;
      body.extent = calm;
    }
    return body;
  }

  /** Fit (or refit) the plane now; at most one request in flight. */
  async request() {
    const main = this.main();
    if (!main) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = true;
    try {
      const body = this.body();
      const label = `Computing the loss surface (${body.resolution}×${body.resolution}, ${main.info.n_params} parameters)`;
      const res = await this.busy.track(label, (signal) => api.surface(main.id, body, signal));
      if (this.main() === main) this.apply(res, main);
      this.error = this.insane && this.calmTried ? "The weights blew up beyond anything a plane can draw: rewind or reset (see the banner)." : null;
    } catch (err) {
      if (err.name === "AbortError") this.error = "Surface cancelled: ↻ computes it again (a smaller grid is faster).";
      else this.error = err.status === 404 || err.status === 405 ? "The server has no surface endpoint yet." : err.message;
    } finally {
      this.inFlight = false;
      this.fitAt = performance.now();
      // a blown-up fit: ask once more, framed on the part of the path that was still sane
      if (this.insane && !this.calmTried) (this.calmTried = true), (this.again = true);
      if (this.again) {
        this.again = false;
        this.request();
      }
    }
    this.draw();
  }

  apply(res, main) {
    const [[x0, x1], [y0, y1]] = res.extent;
    const span = Math.max(x1 - x0, y1 - y0);
    this.insane = !(Number.isFinite(span) && span < 1e12 && res.z.some((row) => row.some((v) => v !== null)));
    if (!this.insane) this.calmTried = false;
    this.surface = res;
    this.math = new PlaneMath(res.plane);
    this.exact = res.mode === "axes" && main.info.n_params === 2;
    this.fitStep = res.current ? res.current.step : main.step;
    this.currentOff = main.params ? this.math.offPlane(main.params) : 0;
    this.arrows = this.arrowsFrom(res.last_update);
    fillTable(main.history.plane, res.path);
    const overlays = new Map((res.overlays || []).map((o) => [o.id, o.path]));
    for (const run of this.compare()) fillTable(run.history.plane, overlays.get(run.id));
  }

  /** Is the loss now a million-fold above the best it reached (a run blowing up)? */
  exploded() {
    const loss = this.main().history.plane.cols.z;
    const [best] = extent1d(loss);
    const now = loss[loss.length - 1];
    if (!Number.isFinite(best) || now === null || now === undefined) return false;
    return this.view.zlog ? now - best > 6 : now > 1e6 * Math.max(best, 1e-12);
  }

  toZ(loss) {
    if (loss === null || loss === undefined || !Number.isFinite(loss)) return null;
    return this.view.zlog ? Math.log10(Math.max(loss, 1e-300)) : loss;
  }

  /** New steps: extend the path on the current plane; refit when the picture goes stale. */
  onFrame(run, frame) {
    if (frame && this.math && !this.inFlight) {
      const t = run.history.plane;
      const s = this.surface;
      const rows = { step: [], a: [], b: [], z: [], height: [], off: [] };
      const push = (k, a, b) => {
        if (k <= t.lastStep || rows.step.includes(k)) return;
        rows.step.push(k);
        rows.a.push(a);
        rows.b.push(b);
        rows.z.push(this.toZ(run.history.lossAt(k)));
        rows.height.push(heightAt(s.x, s.y, s.z, a, b));
        rows.off.push(null);
      };
      // the server projects every run on the shared plane (any P); parameters are the fallback
      const plane = frame.eval ? frame.eval.plane : null;
      if (plane) plane.step.forEach((k, i) => push(k, plane.xy[i][0], plane.xy[i][1]));
      else if (run.params) push(frame.to, ...this.math.coords(run.params));
      t.merge(rows);
      if (run === this.main()) {
        if (run.params) this.currentOff = this.math.offPlane(run.params);
        // frames built before the last fit may still be on the old plane: only newer steps
        const u = plane && plane.last_update;
        if (u && u.step > this.fitStep) this.arrows = this.arrowsFrom(u);
      }
    }
    if (run === this.main()) this.maybeRefit();
    this.draw();
  }

  maybeRefit() {
    const main = this.main();
    const t = main.history.plane;
    if (this.inFlight || !this.surface || !t.length) return;
    if (performance.now() - this.fitAt < (main.playing ? 1500 : 200)) return;
    const [[x0, x1], [y0, y1]] = this.surface.extent;
    const a = t.last("a");
    const b = t.last("b");
    const outside = main.status !== "diverged" && (a < x0 || a > x1 || b < y0 || b > y1);
    const adaptive = this.view.plane === "auto" || this.view.plane === "pca";
    const grown = !this.exact && adaptive && main.step >= Math.max(1.5 * this.fitStep, this.fitStep + 20);
    const z = t.last("z");
    const height = t.last("height");
    const zs = this.zRange();
    const gap = !this.exact && z !== null && height !== null && Math.abs(z - height) > 0.05 * zs;
    if (outside || grown || gap) this.request();
  }

  zRange() {
    const [lo, hi] = this.zBounds();
    return hi > lo ? hi - lo : 1;
  }

  zBounds() {
    let lo = Infinity;
    let hi = -Infinity;
    for (const row of this.surface.z) for (const v of row) if (v !== null) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    return [lo, hi];
  }

  /**
   * The last update (`last_update` of a surface response or a frame: step T's start, -lr x
   * gradient and the step taken, in plane units) as two arrows. Before the first update:
   * the step plain gradient descent is about to take.
   */
  arrowsFrom(u) {
    const ok = (v) => Array.isArray(v) && v.every((x) => x !== null && Number.isFinite(x));
    if (u) return ok(u.from) && ok(u.descent) && ok(u.taken) ? this.scaled(u.step, u.from, u.descent, u.taken) : null;
    const cur = this.surface.current;
    if (!cur || cur.step !== 0 || !ok(cur.descent) || !Number.isFinite(cur.lr)) return null;
    return this.scaled(0, [cur.a, cur.b], cur.descent.map((v) => v * cur.lr), null);
  }

  /** Arrows scaled up together (never down) to a visible length: directions stay honest. */
  scaled(step, from, grad, taken) {
    const [[x0, x1], [y0, y1]] = this.surface.extent;
    const span = Math.hypot(x1 - x0, y1 - y0);
    const big = Math.max(Math.hypot(...grad), taken ? Math.hypot(...taken) : 0);
    const scale = big > 0 && big < 0.08 * span ? (0.08 * span) / big : 1;
    if (scale > 1000) return { step, from, grad: null, taken: null, scale, tiny: true }; // converged
    return { step, from, grad, taken, scale };
  }

  /** Paths of every run, decimated for drawing (the data stays complete). */
  drawData() {
    const s = this.surface;
    const main = this.main();
    const runs = [];
    let maxGap = 0;
    const leftBefore = this.leaves;
    this.leaves = false;
    const at = this.view.preview;
    // WebGL cannot draw a blown-up loss either: the 3-D path stops well above the surface
    const [zlo, zhi] = this.zBounds();
    const zTop = zhi + 2 * Math.max(zhi - zlo, 1e-12);
    for (const run of [main, ...this.compare()]) {
      let t = run.history.plane.decimated(PATH_POINTS);
      if (!t.step.length) continue;
      let later = null;
      if (run === main && at !== null) {
        // previewing: the path up to the step solid, the steps after it faint
        const cut = t.step.findIndex((k) => k > at);
        if (cut > 0) [t, later] = splitRows(t, cut);
      }
      for (let i = 0; i < t.step.length; i++) {
        if (t.z[i] !== null && t.height[i] !== null) maxGap = Math.max(maxGap, Math.abs(t.z[i] - t.height[i]));
      }
      // SVG and WebGL cannot draw astronomically far points: the 3-D path stops at the
      // grid's edge, the contour path a little past it (so it visibly heads out)
      const inside = t.a.map((a, i) => inBox(s.extent, a, t.b[i]));
      const near = t.a.map((a, i) => inBox(s.extent, a, t.b[i], 2));
      const clip = (col, keep) => col.map((v, i) => (keep[i] ? v : null));
      const clipZ = (col, keep) => col.map((v, i) => (keep[i] && !(v > zTop) ? v : null));
      if (inside.some((v) => !v)) this.leaves = true;
      runs.push({
        name: run.label,
        color: run.color,
        a: clip(t.a, near),
        b: clip(t.b, near),
        loss: t.z,
        height: t.height,
        clipped: { loss: clipZ(t.z, inside), height: clipZ(t.height, inside) },
      });
      if (later) {
        const inL = later.a.map((a, i) => inBox(s.extent, a, later.b[i]));
        const nearL = later.a.map((a, i) => inBox(s.extent, a, later.b[i], 2));
        runs.push({
          name: `${run.label}: after step ${at}`,
          color: run.color,
          faint: true,
          a: clip(later.a, nearL),
          b: clip(later.b, nearL),
          loss: later.z,
          height: later.height,
          clipped: { loss: clipZ(later.z, inL), height: clipZ(later.height, inL) },
        });
      }
    }
    if (this.leaves !== leftBefore) this.note();
    const showHeight = !this.exact && maxGap > 0.01 * this.zRange();
    if (runs.length) runs[0].showHeight = showHeight;
    const t = main.history.plane;
    const i = at === null ? t.length - 1 : t.indexAtOrBefore(at);
    const row = i >= 0 ? t.row(i) : null;
    const current = row && inBox(s.extent, row.a, row.b) && !(row.z > zTop) ? { a: row.a, b: row.b, loss: row.z, step: row.step, preview: at !== null } : null;
    const arrows = at === null && this.arrows && this.arrows.step <= main.step && inBox(s.extent, ...this.arrows.from, 1) ? clipArrows(this.arrows, s.extent) : null;
    this.drawnArrows = arrows;
    return {
      x: s.x,
      y: s.y,
      z: s.z,
      labels: axisTitles(s, this.exact),
      zTitle: this.view.zlog ? `log10 ${objectiveLabel(main.info.config)}` : objectiveLabel(main.info.config),
      runs,
      current,
      // (after a rewind the old arrows wait for the refit; a preview shows none)
      arrows,
      showHeight,
    };
  }

  draw() {
    this.note();
    if (!this.surface || this.insane) return;
    const drawIf = (widget) => () => this.surface && !this.insane && widget.draw(this.drawData());
    invalidate("surface3d", drawIf(this.surface3d), { adaptive: true, throttle: 120, priority: 0 });
    invalidate("contour", drawIf(this.contour), { adaptive: true, throttle: 40, priority: 0 });
  }

  note() {
    const main = this.main();
    if (!main) return;
    const t = main.history.plane;
    const maxOff = this.exact ? 0 : Math.max(this.currentOff || 0, extent1d(t.cols.off)[1]);
    const arrows = this.drawnArrows === undefined ? this.arrows : this.drawnArrows;
    const parts = planeNote(this.surface, { exact: this.exact, maxOff, leaves: this.leaves, arrows, error: this.error, preview: this.view.preview });
    clear(this.noteEl).append(...parts);
  }
}

/** The step with the lowest finite full-data loss in an evals table, or null. */
function bestStep(evals) {
  let best = null;
  let low = Infinity;
  const loss = evals.cols.loss;
  for (let i = 0; i < loss.length; i++) if (Number.isFinite(loss[i]) && loss[i] < low) (low = loss[i]), (best = evals.steps[i]);
  return best;
}

/** Rows `0..cut-1` and `cut-1..` of decimated columns (the second starts where the first ends). */
function splitRows(t, cut) {
  const head = {};
  const tail = {};
  for (const [k, col] of Object.entries(t)) {
    head[k] = col.slice(0, cut);
    tail[k] = col.slice(cut - 1);
  }
  return [head, tail];
}

/**
 * Arrows shortened (direction kept) so their heads stay inside the plot; `cut` says so.
 * Scaled vectors (`scale` × grad / taken) are what is drawn, so that is what is cut.
 */
function clipArrows(arrows, extent) {
  const [[x0, x1], [y0, y1]] = extent;
  const from = arrows.from;
  const fit = (vec) => {
    if (!vec) return [vec, false];
    const s = arrows.scale || 1;
    let t = 1;
    const v = [vec[0] * s, vec[1] * s];
    for (const [p, d, lo, hi] of [
      [from[0], v[0], x0, x1],
      [from[1], v[1], y0, y1],
    ]) {
      if (p + d > hi && d > 0) t = Math.min(t, (hi - p) / d);
      if (p + d < lo && d < 0) t = Math.min(t, (lo - p) / d);
    }
    t = Math.max(0, t);
    return t < 1 ? [[vec[0] * t, vec[1] * t], true] : [vec, false];
  };
  const [grad, gCut] = fit(arrows.grad);
  const [taken, tCut] = fit(arrows.taken);
  return { ...arrows, grad, taken, cut: gCut || tCut };
}

function fillTable(table, path) {
  table.clear();
  if (!path || !path.a) return;
  const steps = path.step || path.a.map((_, i) => i);
  table.merge({ step: steps, a: path.a, b: path.b, z: path.loss, height: path.surface_height, off: path.off_plane ?? path.off_plane_distance });
}
