// How the guided lesson reads each kind of answer from a run's own numbers: its loss
// series and status, the update, the backprop trace, gradient norms per layer, the curvature.
// One reader per `kind` the catalog's stops name (backend/gradscape/service/lesson.py KINDS);
// each returns a choice id and a sentence quoting the numbers it read.
import { api } from "./api.js";
import { fmt } from "./plots/common.js";

const pct = (v) => `${fmt(100 * v, 4)}%`;
const f4 = (v) => fmt(v, 4);

/** Index of the largest finite entry of `xs` by `key` (-1 if none). */
function argmax(xs, key = (x) => x) {
  let best = -1;
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(key(xs[i])) && (best < 0 || key(xs[i]) > key(xs[best]))) best = i;
  return best;
}

/** The full-data loss series of a run as [step, value] pairs with a finite value. */
function finiteSeries(cols) {
  const out = [];
  cols.step.forEach((k, i) => Number.isFinite(cols.loss[i]) && out.push([k, cols.loss[i]]));
  return out;
}

/** Updates where the loss rose (beyond rounding). */
function rises(series) {
  let n = 0;
  for (let i = 1; i < series.length; i++) if (series[i][1] > series[i - 1][1] * (1 + 1e-9) + 1e-12) n++;
  return n;
}

/**
 * How each kind of answer is read from the run. `ctx`: {id, info (the session now), target,
 * options, traj(withArrays), catalog}. Each returns {answer: a choice id, because: text with
 * the run's numbers}.
 */
export const READERS = {
  trend: async (ctx) => {
    const L = finiteSeries(await ctx.traj());
    const [s0, L0] = L[0];
    const [sT, LT] = L[L.length - 1];
    const up = rises(L);
    const n = sT - s0;
    let answer;
    let because;
    if (ctx.info.status === "diverged" || !(LT < L0)) {
      answer = "blowup";
      because = ctx.info.status === "diverged" ? `The run diverged at step ${ctx.info.step}: ${ctx.info.reason || "the loss stopped being finite"}. Its last finite loss was ${f4(LT)}, from ${f4(L0)} at the start.` : `The loss climbed from ${f4(L0)} to ${f4(LT)} in ${n} updates; it rose at ${up} of them.`;
    } else if (up > 0.1 * n) {
      answer = "bounce";
      because = `The loss fell overall, from ${f4(L0)} to ${f4(LT)}, but rose at ${up} of ${n} updates.`;
    } else {
      answer = "down";
      because = `The loss fell from ${f4(L0)} to ${f4(LT)} in ${n} updates; it rose at ${up} of them.`;
    }
    if (ctx.options.evidence === "curvature") {
      const c = await api.curvature(ctx.id, { step: 0 });
      because += ` At the start λmax = ${f4(c.lambda_max)}, so the edge 2 / λmax is ${f4(c.edge)}; lr = ${f4(c.lr)} gives lr × λmax = ${fmt(c.lr_times_lambda, 3)}, ${c.stable ? "below 2: stable" : "above 2: each step overshoots"}.`;
    }
    return { answer, because };
  },

  direction: async (ctx) => {
    const cols = await ctx.traj(true);
    const p = ctx.options.param ?? 0;
    const name = ctx.info.param_names[p];
    const a = cols.params[0][p];
    const b = cols.params[cols.params.length - 1][p];
    const n = cols.step[cols.step.length - 1] - cols.step[0];
    return { answer: b > a ? "up" : "down", because: `${name} went from ${f4(a)} to ${f4(b)} in ${n} updates (${b > a ? "up" : "down"} by ${f4(Math.abs(b - a))}), while the loss went from ${f4(cols.loss[0])} to ${f4(cols.loss[cols.loss.length - 1])}: downhill on the surface.` };
  },

  step: async (ctx) => {
    const u = await api.update(ctx.id, { step: 1 });
    const row = u.rows[ctx.options.param ?? 0];
    const lr = u.optimizer.lr;
    return {
      answer: row.taken > 0 ? "up" : "down",
      because: `Its gradient was ${f4(row.grad)}, ${row.grad > 0 ? "positive: uphill is toward larger" : "negative: uphill is toward smaller"} ${row.name}. So −lr × gradient = −${fmt(lr, 3)} × ${f4(row.grad)} = ${f4(row.plain_step)}, and ${row.name} went from ${f4(row.before)} to ${f4(row.after)}.`,
    };
  },

  progress: async (ctx) => {
    const L = finiteSeries(await ctx.traj());
    const [, L0] = L[0];
    const [sT, LT] = L[L.length - 1];
    const gone = (L0 - LT) / L0;
    const share = ctx.options.share;
    const end = ctx.info.status === "diverged" ? ` (the run diverged at step ${ctx.info.step})` : "";
    return { answer: gone >= share ? "most" : "some", because: `The loss went from ${f4(L0)} to ${fmt(LT, 4)} by step ${sT}${end}: ${gone >= 0 ? `${pct(gone)} of it is gone` : `it grew by ${pct(-gone)}`}, against the ${pct(share)} asked.` };
  },

  first_step: async (ctx) => {
    const cols = await ctx.traj();
    const [L0, L1] = cols.loss;
    return {
      answer: L1 < L0 ? "lower" : "higher",
      because: `Forward: the loss at the start was ${f4(L0)}. Backward: the gradient came out with norm ${f4(cols.grad_norm[1])}. Update: with lr ${fmt(cols.lr[1], 3)} the loss is now ${f4(L1)}, ${L1 < L0 ? "lower" : "higher"} by ${f4(Math.abs(L1 - L0))}.`,
    };
  },

  chain: async (ctx) => {
    const tr = await api.backprop(ctx.id, 1);
    const layer = tr.layers[0];
    const p = ctx.options.param ?? 0;
    const name = ctx.info.param_names[p];
    const terms = layer.dloss_da.map((d, i) => ({ i, dLda: d[0], dadz: layer.slope[i][0], dzdw: layer.inputs[i][p] }));
    const big = terms[argmax(terms, (t) => Math.abs(t.dLda))];
    const g = layer.grad_w[p][0];
    const tiny = ctx.options.tiny;
    const product = big.dLda * big.dadz * big.dzdw;
    return {
      answer: Math.abs(g) < tiny ? "tiny" : "sizeable",
      because: `Sample ${big.i + 1} has the largest dL/da, ${fmt(big.dLda, 3)}, but its sigmoid slope da/dz is ${fmt(big.dadz, 3)}; with dz/d${name} = ${fmt(big.dzdw, 3)} its share is ${fmt(big.dLda, 3)} × ${fmt(big.dadz, 3)} × ${fmt(big.dzdw, 3)} = ${fmt(product, 3)}. Summed over the ${terms.length} samples, dL/d${name} = ${fmt(g, 3)}, ${Math.abs(g) < tiny ? "under" : "not under"} ${tiny}.`,
    };
  },

  layers: async (ctx) => {
    const cols = await ctx.traj();
    const rows = cols.layer_grad_norms.filter((r) => r && r.every(Number.isFinite));
    const mean = (k) => rows.reduce((s, r) => s + r[k], 0) / rows.length;
    const last = rows[0].length - 1;
    const first = mean(0);
    const end = mean(last);
    const names = ctx.info.layers;
    const ratio = end > first ? end / first : first / end;
    return {
      answer: end > first ? "last" : "first",
      because: `Averaged over ${rows.length} updates, the gradient's size was ${fmt(first, 3)} in the first layer (${names[0]}) and ${fmt(end, 3)} in the last (${names[last]}): the ${end > first ? "last" : "first"} is ${fmt(ratio, 3)} times larger.`,
    };
  },

  noise: async (ctx) => {
    const cols = await ctx.traj();
    const L = finiteSeries(cols);
    const up = rises(L);
    const b = cols.batch_size[1];
    return { answer: up === 0 ? "every" : "some", because: `With batches of ${b} from ${ctx.info.n_samples} rows, the loss on all the data rose at ${up} of ${L.length - 1} updates (from ${f4(L[0][1])} to ${f4(L[L.length - 1][1])}).` };
  },

  accuracy: async (ctx) => {
    const cols = await ctx.traj();
    const k = cols.step.length - 1;
    const acc = cols.accuracy[k];
    const n = ctx.info.n_samples;
    const right = Math.round(acc * n);
    return { answer: right === n ? "all" : "not_all", because: `After ${cols.step[k]} updates the accuracy is ${pct(acc)}: ${right} of ${n} right, with the loss at ${f4(cols.loss[k])}.` };
  },

  largest_error: async (ctx) => {
    const tr = await api.backprop(ctx.id, 1);
    const res = tr.residual.map((r) => r[0]);
    const ys = tr.targets.map((t) => (Array.isArray(t) ? t[0] : t));
    const i = argmax(res, Math.abs);
    const list = res.map((r, j) => `${fmt(tr.prediction[j][0], 3)} − ${ys[j]} = ${fmt(r, 3)}`).join("; ");
    return { answer: ys[i] === 1 ? "passed" : "failed", because: `pred − y for each sample: ${list}. The largest, ${fmt(res[i], 3)}, is sample ${i + 1}'s, labelled ${ys[i]} (${ys[i] === 1 ? "passed" : "failed"}).` };
  },

  per_epoch: async (ctx) => {
    const { step, epoch, n_samples: n, settings } = ctx.info;
    const per = step / epoch;
    const b = settings.batch_size ?? n;
    return { answer: String(per), because: `${fmt(epoch, 4)} epochs took ${step} updates: ${fmt(per, 4)} per epoch, ceil(${n} rows / batch size ${b}) = ${Math.ceil(n / b)}.` };
  },
};
