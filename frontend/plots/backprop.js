// The chain rule of one update on real numbers: forward values, local slopes, backward
// deltas layer by layer, and dL/dw = dL/da x da/dz x dz/dw for one chosen weight.
import { clear, h } from "../dom.js";
import { fmt } from "./common.js";

const meanAbs = (rows) => {
  let s = 0;
  let n = 0;
  for (const row of rows) for (const v of row) if (Number.isFinite(v)) (s += Math.abs(v)), n++;
  return n ? s / n : 0;
};

function logBar(value, lo, hi, cls) {
  const span = Math.log10(hi) - Math.log10(lo) || 1;
  const t = value > 0 ? (Math.log10(value) - Math.log10(lo)) / span : 0;
  const pct = Math.max(3, Math.min(100, 100 * t));
  return h("div", { class: `bar ${cls}` }, [h("span", { style: { width: `${pct}%` } })]);
}

function layerCard(layer, stats, range, selected, onPick) {
  const fanIn = layer.grad_w.length;
  const fanOut = layer.grad_b.length;
  const sat = layer.saturated_fraction;
  return h("div", { class: `bp-layer${selected ? " selected" : ""}`, onclick: () => onPick(layer.index) }, [
    h("div", { class: "bp-title" }, [layer.name ?? `layer ${layer.index + 1}`, h("small", {}, ` ${layer.activation} · ${fanIn}→${fanOut}`)]),
    h("div", { class: "bp-row" }, ["|a| forward", h("b", {}, fmt(stats.a, 3))]),
    h("div", { class: "bp-row" }, ["da/dz", h("b", {}, fmt(stats.slope, 3))]),
    h("div", { class: `bp-row${sat > 0.25 ? " warn" : ""}` }, ["saturated", h("b", {}, `${Math.round(100 * sat)}%`)]),
    h("div", { class: "bp-row" }, ["|δ| (dL/dz)", h("b", {}, fmt(stats.delta, 3))]),
    logBar(stats.delta, range[0], range[1], "delta"),
    h("div", { class: "bp-row" }, ["|gradient|", h("b", {}, fmt(stats.grad, 3))]),
  ]);
}

function chainTable(trace, layer, i, j) {
  const rows = [];
  let sum = 0;
  const shown = layer.inputs.length;
  for (let s = 0; s < shown; s++) {
    const dLda = layer.dloss_da[s][j];
    const slope = layer.slope[s][j];
    const dzdw = layer.inputs[s][i];
    const prod = dLda * slope * dzdw;
    if (Number.isFinite(prod)) sum += prod;
    const tiny = Math.abs(slope) < 0.05 * (layer.activation === "sigmoid" ? 0.25 : 1);
    rows.push(
      h("tr", { class: tiny ? "saturated" : "" }, [
        h("td", {}, String(s + 1)),
        h("td", {}, fmt(dLda)),
        h("td", { class: "slope" }, fmt(slope)),
        h("td", {}, fmt(dzdw)),
        h("td", {}, fmt(prod)),
      ]),
    );
  }
  const grad = layer.grad_w[i][j];
  const all = shown >= trace.n;
  return h("table", { class: "chain" }, [
    h("thead", {}, [
      h("tr", {}, [
        h("th", {}, "sample"),
        h("th", {}, "dL/da"),
        h("th", {}, "× da/dz"),
        h("th", {}, "× dz/dw"),
        h("th", {}, "= dL/dw"),
      ]),
    ]),
    h("tbody", {}, rows),
    h("tfoot", {}, [
      h("tr", {}, [
        h("td", { colspan: 4 }, all ? `sum over the batch of ${trace.n}` : `sum of the ${shown} shown (batch of ${trace.n})`),
        h("td", {}, fmt(sum)),
      ]),
      h("tr", {}, [h("td", { colspan: 4 }, `dL/dW[${i},${j}] for the whole batch`), h("td", {}, h("b", {}, fmt(grad)))]),
      h("tr", { class: "bias-row" }, [
        h("td", { colspan: 4 }, `bias b[${j}]: dz/db = 1, so dL/db = Σ dL/da × da/dz = Σ δ`),
        h("td", {}, h("b", {}, fmt(layer.grad_b[j]))),
      ]),
    ]),
  ]);
}

/** Per sample of the shown rows: prediction, target and the output error that starts the backward pass. */
function errorTable(trace) {
  const p = trace.pairing || {};
  const errs = trace.error || null;
  const rows = trace.prediction.map((pred, s) => {
    const y = trace.targets[s];
    const pv = Array.isArray(pred) ? pred : [pred];
    const yv = Array.isArray(y) ? y : [y];
    const diff = pv.map((v, k) => v - (yv.length === pv.length ? yv[k] : Number(yv[0]) === k ? 1 : 0));
    const e = errs ? [].concat(errs[s]) : null;
    return h("tr", {}, [
      h("td", {}, String(s + 1)),
      h("td", {}, pv.map((v) => fmt(v, 4)).join(", ")),
      h("td", {}, yv.map((v) => fmt(v, 4)).join(", ")),
      h("td", {}, diff.map((v) => fmt(v, 4)).join(", ")),
      h("td", {}, e ? e.map((v) => fmt(v, 4)).join(", ") : "—"),
    ]);
  });
  return h("div", { class: "bp-error" }, [
    h("p", { class: "caption" }, [
      h("b", {}, "error = pred − y. "),
      p.rule ? `${p.output} output + ${p.loss} loss: ${p.rule}. ` : "",
      p.why || "",
    ]),
    h("table", { class: "chain" }, [
      h("thead", {}, h("tr", {}, ["sample", "pred", "y", "pred − y", "dL/dz (δ at the output)"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows),
    ]),
  ]);
}

/**
 * The backward sweep: each layer's δ is computed once, used for all of its weights
 * (dL/dW = inputsᵀ δ, dL/db = Σ δ) and handed to the layer below as δ Wᵀ.
 */
function sweep(trace, stats) {
  const items = [h("div", { class: "sw-box sw-loss" }, [h("b", {}, "L"), h("small", {}, fmt(trace.loss, 4))])];
  for (let k = trace.layers.length - 1; k >= 0; k--) {
    const L = trace.layers[k];
    const fanIn = L.grad_w.length;
    const fanOut = L.grad_b.length;
    const down = L.passed_down ? meanAbs(L.passed_down) : k > 0 ? meanAbs(trace.layers[k - 1].dloss_da) : null;
    items.push(h("div", { class: "sw-arrow", "aria-hidden": "true" }, [h("span", {}, k === trace.layers.length - 1 ? "δ = dL/dz" : "dL/da"), "←"]));
    items.push(
      h("div", { class: "sw-box" }, [
        h("b", {}, L.name ?? `layer ${k + 1}`),
        h("small", {}, `δ computed once: mean |δ| ${fmt(stats[k].delta, 3)}`),
        h("small", {}, `used for all ${fanIn * fanOut} weights (inputsᵀ δ) and ${fanOut} biases (Σ δ)`),
        k > 0 && down !== null ? h("small", {}, `passed down as δ Wᵀ: mean |·| ${fmt(down, 3)}`) : h("small", {}, "first layer: nothing below"),
      ]),
    );
  }
  // drawn as the network is, first layer on the left: the backward sweep runs right to left
  return h("div", { class: "bp-sweep", role: "img", tabindex: "0", "aria-label": "the backward sweep from the loss to the first layer" }, items.reverse());
}

/** render(trace, {layer, i, j}) into `root`; `onChange(selection)` when a weight is picked. */
export function createBackprop(root, onChange) {
  let last = null;
  function render(trace, sel) {
    last = trace;
    clear(root);
    // whole-batch figures from the server when it sends them, else from the rows shown
    const stats = trace.layers.map((L) => ({
      a: meanAbs(L.a),
      slope: meanAbs(L.slope),
      delta: L.mean_abs_delta ?? meanAbs(L.delta),
      grad: L.grad_norm ?? Math.sqrt(L.grad_w.flat().reduce((s, v) => s + v * v, 0)),
    }));
    const deltas = stats.map((s) => s.delta).filter((v) => v > 0);
    const range = [Math.min(...deltas, 1) / 2, Math.max(...deltas, 1e-12)];
    const L = Math.min(sel.layer, trace.layers.length - 1);
    const layer = trace.layers[L];
    const i = Math.min(sel.i, layer.grad_w.length - 1);
    const j = Math.min(sel.j, layer.grad_b.length - 1);
    const pick = (patch) => onChange({ layer: L, i, j, ...patch });
    const first = stats[0].delta;
    const lastDelta = stats[stats.length - 1].delta;
    const ratio = first > 0 && lastDelta > 0 ? lastDelta / first : null;
    root.append(
      h("p", { class: "bp-summary" }, [
        `Step ${trace.step}: loss ${fmt(trace.loss)} (${trace.loss_name}, ${trace.output_activation} output) on a batch of ${trace.n}. `,
        ratio && trace.layers.length > 1
          ? ratio > 10
            ? `The backward signal |δ| shrinks ${fmt(ratio, 2)}× from the output back to the first layer: vanishing gradients.`
            : ratio < 0.1
              ? `The backward signal |δ| grows ${fmt(1 / ratio, 2)}× from the output back to the first layer: exploding gradients.`
              : "The backward signal keeps its size from layer to layer."
          : "",
      ]),
      errorTable(trace),
      h("p", { class: "caption" }, "The backward sweep, right to left: every layer's δ is computed once and reused, which is why backpropagation is fast."),
      sweep(trace, stats),
      h("div", { class: "bp-flow" }, [
        h("span", { class: "bp-dir" }, "forward →  ·  ← backward"),
      ]),
      h(
        "div",
        { class: "bp-layers", tabindex: "0", role: "region", "aria-label": "the layers, input to output" },
        trace.layers.map((ly, k) => layerCard(ly, stats[k], range, k === L, (idx) => pick({ layer: idx, i: 0, j: 0 }))),
      ),
      h("div", { class: "bp-chain" }, [
        h("div", { class: "bp-pick" }, [
          `Chain rule for weight W[`,
          h(
            "select",
            { "aria-label": "input unit i", onchange: (e) => pick({ i: Number(e.target.value) }) },
            layer.grad_w.map((_, k) => h("option", { value: k, selected: k === i }, String(k))),
          ),
          ",",
          h(
            "select",
            { "aria-label": "unit j", onchange: (e) => pick({ j: Number(e.target.value) }) },
            layer.grad_b.map((_, k) => h("option", { value: k, selected: k === j }, String(k))),
          ),
          `] of ${layer.name ?? `layer ${L + 1}`}: dL/dw = dL/da × da/dz × dz/dw`,
        ]),
        h("div", { class: "bp-chain-row" }, [
          chainTable(trace, layer, i, j),
          h("div", { class: "bp-legend caption" }, [
            h("p", {}, [h("b", {}, "dL/da"), ": how the loss moves when this unit's output moves (from the layers after it)."]),
            h("p", {}, [h("b", {}, "da/dz"), `: the ${layer.activation} activation's local slope${layer.activation === "sigmoid" ? " (at most 0.25)" : ""}.`]),
            h("p", {}, [h("b", {}, "dz/dw"), ": the input this weight multiplied in the forward pass."]),
            h("p", {}, ["Their product, summed over the batch, is the gradient the update uses: w = w − lr × dL/dw. Rows in red: a saturated unit (slope near 0) shrinks the whole product."]),
          ]),
        ]),
      ]),
    );
  }
  return {
    el: root,
    render,
    get trace() {
      return last;
    },
  };
}
