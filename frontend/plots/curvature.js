// Sharpness over time: lambda_max (the steepest curvature) against 2 / lr. Plain
// gradient descent overshoots once lambda_max climbs above 2 / lr.
import { COLORS, axis, layout2d, react } from "./common.js";

/** draw({step, lambdaMax, lr: [per step]}) */
export function createCurvature(el) {
  return {
    el,
    draw(d) {
      const edge = d.lr.map((lr) => (lr > 0 ? 2 / lr : null));
      const data = [
        {
          type: "scatter",
          mode: "lines+markers",
          name: "λmax (sharpest curvature)",
          x: d.step,
          y: d.lambdaMax,
          line: { color: "#2e86ab", width: 2 },
          marker: { size: 4 },
          hovertemplate: "step %{x}<br>λmax %{y:.4g}<extra></extra>",
        },
        {
          type: "scatter",
          mode: "lines",
          name: "2 / lr (stability edge)",
          x: d.step,
          y: edge,
          line: { color: COLORS.edge, width: 2, dash: "dash", shape: "hv" },
          hovertemplate: "step %{x}<br>2/lr %{y:.4g}<extra></extra>",
        },
      ];
      const positive = [...d.lambdaMax, ...edge].every((v) => v === null || v > 0);
      const lay = layout2d({
        showlegend: true,
        margin: { l: 52, r: 10, t: 22, b: 36 },
        xaxis: axis("training step"),
        yaxis: axis("curvature", { type: positive ? "log" : "linear" }),
      });
      return react(el, data, lay);
    },
  };
}
