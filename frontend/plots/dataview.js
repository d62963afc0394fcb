// The data and what the model predicts: a decision boundary (2 features), a fitted
// curve (1 feature), or a note when there is nothing to draw.
import { RUN_COLORS, axis, layout2d, react } from "./common.js";

const CLASS_COLORS = ["#2e86ab", "#e4572e", "#3bb273", "#6a4c93", "#f0a202", "#d1495b", "#5c6b73", "#8d6a9f", "#1b998b", "#c5283d"];
const BOUNDARY_SCALE = [
  [0, "#cfe6f3"],
  [0.5, "#ffffff"],
  [1, "#f8d3c6"],
];

function pointsByClass(d) {
  const groups = new Map();
  d.X.forEach((row, i) => {
    const c = d.y[i];
    if (!groups.has(c)) groups.set(c, { x: [], y: [] });
    groups.get(c).x.push(row[0]);
    groups.get(c).y.push(row[1]);
  });
  return [...groups.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([c, g]) => ({
      type: "scatter",
      mode: "markers",
      name: `${d.target_name || "class"} = ${c}`,
      x: g.x,
      y: g.y,
      marker: { size: 7, color: CLASS_COLORS[Math.round(c) % CLASS_COLORS.length], line: { color: "#fff", width: 1 } },
    }));
}

function boundary(d) {
  const multi = d.task === "multiclass";
  return [
    {
      type: "heatmap",
      x: d.grid_x,
      y: d.grid_y,
      z: d.prediction,
      zmin: multi ? undefined : 0,
      zmax: multi ? undefined : 1,
      colorscale: multi ? "Pastel1" : BOUNDARY_SCALE,
      showscale: false,
      zsmooth: "best",
      hovertemplate: multi ? "class %{z}<extra></extra>" : "p = %{z:.3f}<extra></extra>",
    },
    ...(multi
      ? []
      : [
          {
            type: "contour",
            x: d.grid_x,
            y: d.grid_y,
            z: d.prediction,
            showscale: false,
            contours: { start: 0.5, end: 0.5, size: 1, coloring: "none" },
            line: { color: "#33363d", width: 2 },
            hoverinfo: "skip",
            name: "boundary p = 0.5",
          },
        ]),
    ...pointsByClass(d),
  ];
}

function curve(d) {
  return [
    {
      type: "scatter",
      mode: "markers",
      name: "data",
      x: d.X.map((r) => r[0]),
      y: d.y,
      marker: { size: 5, color: "#2e86ab", opacity: 0.7 },
    },
    {
      type: "scatter",
      mode: "lines",
      name: "model",
      x: d.grid_x,
      y: d.prediction,
      line: { color: RUN_COLORS[0], width: 3 },
    },
  ];
}

/** The loss along the straight line from the start (alpha 0) to now (alpha 1). */
function slice(d) {
  const mark = (alpha, text) => {
    const i = d.alpha.reduce((best, a, k) => (Math.abs(a - alpha) < Math.abs(d.alpha[best] - alpha) ? k : best), 0);
    return { type: "scatter", mode: "markers+text", x: [d.alpha[i]], y: [d.loss[i]], text: [text], textposition: "top center", marker: { size: 8, color: RUN_COLORS[0] }, hoverinfo: "skip" };
  };
  return [
    { type: "scatter", mode: "lines", name: d.label, x: d.alpha, y: d.loss, line: { color: "#2e86ab", width: 2 }, hovertemplate: "α %{x:.2f}<br>loss %{y:.4g}<extra></extra>" },
    mark(0, "start"),
    mark(1, "now"),
  ];
}

/** draw(the /data response, or {kind: "slice", alpha, loss, label}; `label` names what is minimised) */
export function createDataView(el, note) {
  return {
    el,
    draw(d) {
      const names = d.feature_names || [];
      if (d.kind === "slice") {
        note.textContent = "No data here: this is the loss along the straight line from the start (0) to now (1).";
        const positive = d.loss.every((v) => v === null || v > 0);
        const lay = layout2d({ margin: { l: 48, r: 8, t: 6, b: 36 }, xaxis: axis("α along start → now"), yaxis: axis(d.label, { type: positive ? "log" : "linear", exponentformat: "power" }) });
        return react(el, slice(d), lay);
      }
      if (d.kind === "boundary" || d.kind === "curve") {
        note.textContent = "";
        const lay = layout2d({
          margin: { l: 44, r: 8, t: 6, b: 36 },
          xaxis: axis(names[0] || "x1"),
          yaxis: axis(d.kind === "curve" ? d.target_name || "y" : names[1] || "x2"),
        });
        return react(el, d.kind === "boundary" ? boundary(d) : curve(d), lay);
      }
      if (el.data) Plotly.purge(el);
      note.textContent =
        d.kind === "surface"
          ? "An analytic surface has no data: the loss is the function itself, drawn on the left."
          : `${names.length} features: too many to draw; the loss curve shows the fit.`;
      return true;
    },
  };
}
