// One clock for compared runs: every tick asks each run for the same number of steps and
// waits for all of them, so runs advance in lock-step and their losses are compared at
// one step (the server plays a lone run itself, paced on its side).

const TICK_MS = 100; // a tick's steps at the asked speed; "max speed" adapts its chunk
const MAX_CHUNK = 5000;

export class LockStep {
  /**
   * `runs()`: the runs to drive (the main run first); `speed()`: asked steps/s (0: as fast
   * as they go); `maxSteps`: the server's steps-per-call limit; `onStop()`: every run
   * stopped (diverged or at the limit).
   */
  constructor({ runs, speed, maxSteps, onStop }) {
    this.runs = runs;
    this.speed = speed;
    this.maxSteps = maxSteps;
    this.onStop = onStop;
    this.running = false;
    this.chunk = 4;
    this.timer = null;
    this.window = []; // [time, steps made] over the last seconds
    this.rate = null; // {asked, achieved, reason} while slower than asked
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.window = [];
    this.rate = null;
    this.tick();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = null;
    this.rate = null;
  }

  async tick() {
    if (!this.running) return;
    const live = this.runs().filter((r) => r.status !== "diverged" && r.status !== "limit");
    if (!live.length) {
      this.stop();
      this.onStop();
      return;
    }
    const speed = this.speed();
    const t0 = performance.now();
    const n = Math.min(this.maxSteps, speed > 0 ? Math.max(1, Math.round((speed * TICK_MS) / 1000)) : this.chunk);
    // every run goes to the same step: the slowest one sets the pace
    const target = Math.min(...live.map((r) => r.step)) + n;
    await Promise.all(live.map((r) => r.stepTo(target)));
    if (!this.running) return;
    const took = performance.now() - t0;
    if (speed === 0) this.chunk = Math.max(1, Math.min(MAX_CHUNK, took < TICK_MS ? this.chunk * 2 : took > 3 * TICK_MS ? Math.ceil(this.chunk / 2) : this.chunk));
    this.measure(n, speed, live.length);
    const wait = speed > 0 ? Math.max(0, (1000 * n) / speed - took) : 0;
    this.timer = setTimeout(() => this.tick(), wait);
  }

  measure(n, speed, count) {
    const now = performance.now();
    const made = (this.window.length ? this.window[this.window.length - 1][1] : 0) + n;
    this.window.push([now, made]);
    while (this.window.length > 2 && now - this.window[1][0] > 3000) this.window.shift();
    const [t0, m0] = this.window[0];
    if (speed <= 0 || now - t0 < 1000) return;
    const achieved = ((made - m0) * 1000) / (now - t0);
    this.rate = achieved < 0.95 * speed ? { asked: speed, achieved, reason: `${count} runs in lock-step: the slowest sets the pace` } : null;
  }
}
