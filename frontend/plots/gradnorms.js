// Per-layer gradient norms over time, log scale: vanishing (early layers far below
// late ones) and exploding (norms shooting up) are visible at a glance.
import { axis, layout2d, react } from "./common.js";

/** Early layers pale, late layers dark: depth reads from colour. */
function layerColor(i, n) {
  const t = n <= 1 ? 1 : i / (n - 1);
  const light = 72 - 42 * t;
  return `hsl(${205 + 60 * t}, 60%, ${light}%)`;
}

/** draw({step, norms: [[per layer] per row], layers: [names], gradNorm: {step, value}}) */
export function createGradNorms(el) {
  return {
    el,
    draw(d) {
      const L = d.layers.length;
      const data = [];
      for (let j = 0; j < L; j++) {
        const y = d.norms.map((row) => (row && row[j] > 0 ? row[j] : null));
        data.push({
          type: "scatter",
          mode: d.step.length < 40 ? "lines+markers" : "lines", // one step is one point: show it
          marker: { size: 5 },
          name: L > 1 && j === 0 ? `${d.layers[j]} (input side)` : L > 1 && j === L - 1 ? `${d.layers[j]} (output)` : d.layers[j],
          x: d.step,
          y,
          line: { color: layerColor(j, L), width: 1.8 },
          hovertemplate: `${d.layers[j]}<br>step %{x}<br>|grad| %{y:.3g}<extra></extra>`,
        });
      }
      const lay = layout2d({
        showlegend: false,
        annotations:
          L > 1
            ? [{ xref: "paper", yref: "paper", x: 1, y: 1.02, xanchor: "right", yanchor: "bottom", showarrow: false, text: "pale: input side · dark: output side", font: { size: 10, color: "#6b7280" } }]
            : [],
        margin: { l: 52, r: 10, t: 22, b: 36 },
        xaxis: axis("training step"),
        yaxis: axis("gradient norm (log)", { type: "log", exponentformat: "power" }),
        shapes:
          d.marker === null || d.marker === undefined
            ? []
            : [{ type: "path", xref: "x", yref: "paper", path: `M${d.marker},0 L${d.marker},1`, line: { color: "#444", width: 1.5, dash: "dot" } }],
      });
      return react(el, data, lay);
    },
  };
}
