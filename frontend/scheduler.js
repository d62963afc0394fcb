// One redraw per animation frame: widgets mark themselves dirty, a single
// requestAnimationFrame callback draws them. Adaptive widgets wait ADAPTIVE times their
// last draw time between draws, so together they take at most about half the main
// thread however slow the machine (3-D WebGL in software takes ~150 ms a draw; on a
// GPU a few ms, and the plots then redraw many times a second). Nothing draws before
// plotly.js has loaded; then the widgets of lower `priority` draw first (the landscape
// before the charts: the first thing a visitor waits for is the surface).
import { plotlyLoaded, plotlyReady } from "./plotly.js";

const latest = new Map(); // name -> the newest draw() asked for
const dirty = new Set(); // names to draw in the next frame
const timers = new Map(); // name -> timeout while a widget waits out its throttle
const lastDraw = new Map(); // name -> {at, took}
const priorities = new Map(); // name -> priority (lower draws first)
let scheduled = false;
const ADAPTIVE = 10;
const FRAME_BUDGET = 12; // ms of drawing per frame before the rest waits a frame
const MAX_GAP = 2000; // ms: even the slowest widget redraws this often

export const stats = { frames: 0, draws: 0, took: {} }; // took: name -> [count, total ms, max ms]

function flush() {
  if (!plotlyReady()) {
    plotlyLoaded.then(() => requestAnimationFrame(flush)); // `scheduled` stays set
    return;
  }
  scheduled = false;
  stats.frames++;
  const start = performance.now();
  const order = [...dirty].sort((a, b) => (priorities.get(a) ?? 1) - (priorities.get(b) ?? 1));
  for (const name of order) {
    if (performance.now() - start > FRAME_BUDGET) break; // the rest next frame
    dirty.delete(name);
    const draw = latest.get(name);
    latest.delete(name);
    if (!draw) continue;
    const t0 = performance.now();
    try {
      draw();
    } catch (err) {
      console.warn(`drawing ${name} failed:`, err); // one widget's bug must not stop the others
    }
    const t1 = performance.now();
    const prev = lastDraw.get(name);
    const took = prev ? 0.5 * prev.took + 0.5 * (t1 - t0) : t1 - t0; // smoothed
    lastDraw.set(name, { at: t1, took });
    const acc = (stats.took[name] = stats.took[name] || [0, 0, 0]);
    acc[0]++;
    acc[1] += t1 - t0;
    acc[2] = Math.max(acc[2], t1 - t0);
    stats.draws++;
  }
  if (dirty.size && !scheduled) {
    scheduled = true;
    requestAnimationFrame(flush);
  }
}

function schedule(name) {
  dirty.add(name);
  if (!scheduled) {
    scheduled = true;
    requestAnimationFrame(flush);
  }
}

/**
 * Ask for `draw` to run in the next animation frame (the latest request per name wins).
 * `throttle` (ms) spaces a widget's draws by at least that, and by at least ADAPTIVE
 * times its last draw time when `adaptive` is set; `priority` orders a frame's draws
 * (lower first, default 1).
 */
export function invalidate(name, draw, { throttle = 0, adaptive = false, priority = 1 } = {}) {
  latest.set(name, draw);
  priorities.set(name, priority);
  if (dirty.has(name) || timers.has(name)) return;
  const last = lastDraw.get(name);
  const gap = Math.max(throttle, adaptive && last ? Math.min(MAX_GAP, ADAPTIVE * last.took) : 0);
  const wait = last ? last.at + gap - performance.now() : 0;
  if (wait > 0) {
    timers.set(
      name,
      setTimeout(() => {
        timers.delete(name);
        schedule(name);
      }, wait),
    );
  } else {
    schedule(name);
  }
}
