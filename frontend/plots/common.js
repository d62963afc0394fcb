// Shared look for every plot: calm colours, small fonts, constant uirevision.

export const COLORS = {
  path: "#e4572e",
  current: "#1b1b1f",
  grad: "#c62828",
  step: "#1565c0",
  batch: "#9aa5b1",
  val: "#1d6a96", // held-out validation loss (one run; several runs dash their own colour)
  edge: "#c62828",
  text: "#33363d",
  grid: "#e7e9ee",
};

/** One colour per run in a comparison (the main run first). */
export const RUN_COLORS = ["#e4572e", "#2e86ab", "#6a4c93", "#3bb273", "#f0a202", "#d1495b", "#5c6b73"];

/** Low loss dark blue, high loss pale: the path (orange) stands out everywhere. */
export const LOSS_SCALE = [
  [0, "#0b3c5d"],
  [0.2, "#1d6a96"],
  [0.45, "#4f9cc6"],
  [0.7, "#a9d3ea"],
  [1, "#f4f9fc"],
];

export const CONFIG = {
  displaylogo: false,
  responsive: true,
  modeBarButtonsToRemove: ["select2d", "lasso2d", "toImage"],
};

const FONT = { family: "Inter, system-ui, sans-serif", size: 11, color: COLORS.text };

/** A 2-D layout with the house style; `uirevision` keeps zoom and pan across updates. */
export function layout2d(extra = {}) {
  return {
    font: FONT,
    margin: { l: 52, r: 12, t: 8, b: 38 },
    paper_bgcolor: "rgba(0,0,0,0)",
    plot_bgcolor: "#fff",
    showlegend: false,
    uirevision: "keep",
    legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 10 } },
    ...extra,
  };
}

export function axis(title, extra = {}) {
  return {
    title: { text: title, standoff: 4 },
    gridcolor: COLORS.grid,
    zeroline: false,
    automargin: true,
    ...extra,
  };
}

/** Plotly.react on a visible element (hidden tabs are drawn when shown). */
export function react(el, data, layout) {
  if (el.offsetParent === null) return false;
  const drawn = Plotly.react(el, data, layout, CONFIG);
  quietModebar(el);
  if (drawn && drawn.then) drawn.then(() => quietModebar(el)).catch(() => {});
  return true;
}

/**
 * Plotly's mode-bar buttons are unlabelled links in the Tab order, dozens per page: name
 * them from their tooltip and take them out of the Tab order (they stay usable by mouse
 * and touch; every plot is also drawn as data the page states in words).
 */
function quietModebar(el) {
  for (const b of el.querySelectorAll(".modebar-btn")) {
    if (b.getAttribute("tabindex") === "-1") continue;
    b.setAttribute("tabindex", "-1");
    const title = b.getAttribute("data-title");
    if (title) b.setAttribute("aria-label", title);
  }
}

/** The figure as Plotly JSON (for the HTML report). */
export function figureOf(el) {
  if (!el.data) return null;
  return { data: el.data, layout: el.layout };
}

export function finite(v) {
  return v !== null && v !== undefined && Number.isFinite(v);
}

export function fmt(v, digits = 4) {
  if (!finite(v)) return "–";
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}
