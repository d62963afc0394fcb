// Coordinates on a plane theta(a, b) = center + (a - a0) d1 + (b - b0) d2 (the surface
// response's `plane`), solved by least squares, and heights read off the drawn grid.

const dot = (u, v) => {
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i] * v[i];
  return s;
};

export class PlaneMath {
  constructor(plane) {
    this.center = plane.center;
    this.d1 = plane.d1;
    this.d2 = plane.d2;
    this.offset = plane.offset || [0, 0];
    this.g11 = dot(this.d1, this.d1);
    this.g12 = dot(this.d1, this.d2);
    this.g22 = dot(this.d2, this.d2);
    this.det = this.g11 * this.g22 - this.g12 * this.g12;
  }

  /** Plane components [da, db] of a parameter-space vector v (P,). */
  vector(v) {
    const r1 = dot(this.d1, v);
    const r2 = dot(this.d2, v);
    return [(this.g22 * r1 - this.g12 * r2) / this.det, (this.g11 * r2 - this.g12 * r1) / this.det];
  }

  /** Plane coordinates [a, b] of a point theta (P,). */
  coords(theta) {
    const [da, db] = this.vector(theta.map((t, i) => t - this.center[i]));
    return [this.offset[0] + da, this.offset[1] + db];
  }

  /** Distance from theta to its foot on the plane. */
  offPlane(theta) {
    const [da, db] = this.vector(theta.map((t, i) => t - this.center[i]));
    let s = 0;
    for (let i = 0; i < theta.length; i++) {
      const r = theta[i] - this.center[i] - da * this.d1[i] - db * this.d2[i];
      s += r * r;
    }
    return Math.sqrt(s);
  }
}

/** Bilinear height of grid z[row = y][col = x] at (a, b); null outside or next to a gap. */
export function heightAt(x, y, z, a, b) {
  const n = x.length;
  const m = y.length;
  if (!(a >= x[0] && a <= x[n - 1] && b >= y[0] && b <= y[m - 1])) return null;
  const fx = ((a - x[0]) / (x[n - 1] - x[0])) * (n - 1);
  const fy = ((b - y[0]) / (y[m - 1] - y[0])) * (m - 1);
  const i = Math.min(n - 2, Math.floor(fx));
  const j = Math.min(m - 2, Math.floor(fy));
  const tx = fx - i;
  const ty = fy - j;
  const z00 = z[j][i];
  const z01 = z[j][i + 1];
  const z10 = z[j + 1][i];
  const z11 = z[j + 1][i + 1];
  if ([z00, z01, z10, z11].some((v) => v === null)) return null;
  return (1 - ty) * ((1 - tx) * z00 + tx * z01) + ty * ((1 - tx) * z10 + tx * z11);
}

/** Is (a, b) inside the extent grown by `grow` times its size on each side? */
export function inBox(extent, a, b, grow = 1e-9) {
  const [[x0, x1], [y0, y1]] = extent;
  const ex = grow * (x1 - x0);
  const ey = grow * (y1 - y0);
  return a !== null && b !== null && a >= x0 - ex && a <= x1 + ex && b >= y0 - ey && b <= y1 + ey;
}

/** [min, max] of the finite numbers in `values` ([Infinity, -Infinity] if none); no spread. */
export function extent1d(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v !== null && Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

/** A box around the path points (`cols` a, b, z) whose loss z stayed within 1000x the best. */
export function calmExtent(c, zlog) {
  const [best] = extent1d(c.z);
  if (!Number.isFinite(best)) return null;
  const limit = zlog ? best + 3 : Math.max(best, 1e-12) * 1e3 + Math.abs(best);
  const keep = c.a.map((a, i) => c.z[i] !== null && c.z[i] <= limit && a !== null && c.b[i] !== null);
  const as = c.a.filter((_, i) => keep[i]);
  const bs = c.b.filter((_, i) => keep[i]);
  if (!as.length) return null;
  const box = (v) => {
    const [lo, hi] = extent1d(v);
    const pad = Math.max(0.5 * (hi - lo), 0.5, 0.1 * Math.abs(lo));
    return [lo - pad, hi + pad];
  };
  return [box(as), box(bs)];
}
