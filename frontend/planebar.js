// The plane's toolbar (mode, axes, grid, log) and the note that says what the picture shows.
import { clear, h } from "./dom.js";
import { fmt } from "./plots/common.js";

const RESOLUTIONS = [21, 31, 41, 61, 81, 121];

/**
 * Build the toolbar into `root`; `onChange(patch)` gets view changes ({} = recompute).
 * `modes`: the catalog's surface modes ({name: description}); `maxResolution`: its limit.
 */
export function planeToolbar(root, v, names, { modes, maxResolution }, onChange) {
  const axes = v.axes && v.axes.every((i) => i < names.length) ? v.axes : [0, Math.min(1, names.length - 1)];
  const change = onChange;
  const select = (label, options, value, pick) =>
    h("label", { class: "inline" }, [
      label,
      h("select", { name: label, onchange: (e) => pick(e.target.value) }, options.map(([val, text, title]) => h("option", { value: val, title, selected: String(val) === String(value) }, text))),
    ]);
  const planes = [["auto", "auto", "The server's choice for this model"], ...Object.entries(modes).map(([m, text]) => [m, m, text])];
  const parts = [select("plane", planes, v.plane, (m) => change({ plane: m }))];
  if (v.plane === "axes") {
    const opts = names.map((n, i) => [i, n]);
    parts.push(select("x", opts, axes[0], (i) => change({ axes: [Number(i), axes[1]] })));
    parts.push(select("y", opts, axes[1], (i) => change({ axes: [axes[0], Number(i)] })));
  }
  const grids = RESOLUTIONS.filter((r) => r <= maxResolution);
  parts.push(select("grid", grids.map((r) => [r, `${r}×${r}`]), v.res, (r) => change({ res: Number(r) })));
  parts.push(
    h("label", { class: "inline" }, [
      h("input", { type: "checkbox", name: "zlog", checked: v.zlog, onchange: (e) => change({ zlog: e.target.checked }) }),
      "log loss",
    ]),
  );
  parts.push(h("button", { class: "icon", name: "recompute", title: "Recompute the surface now", onclick: () => onChange({}) }, "↻"));
  clear(root).append(...parts);
}

/** What the drawn plane is, and how honest the path on it is, as a list of nodes. */
export function planeNote(s, { exact, maxOff, leaves, arrows, error }) {
  const parts = [];
  if (error) parts.push(h("span", { class: "error" }, error));
  if (s) {
    const ev = s.explained_variance;
    const pct = (v) => (v > 0.99 || v < 0.01 ? (100 * v).toFixed(1) : Math.round(100 * v));
    const modeText = {
      axes: exact
        ? "Exact: the model has 2 parameters, so this is the whole landscape and the path lies on it."
        : `Two parameters (${s.labels.join(", ")}); the others are held at the current point.`,
      pca: `PCA plane of the path${ev ? ` (explains ${pct(ev[0])}% + ${pct(ev[1])}% of its variance)` : ""}, through the current point.`,
      random: `Two random${s.plane.options && s.plane.options.filter_normalized === false ? "" : " filter-normalised"} directions through the current point.`,
      hessian: "The two sharpest directions (top Hessian eigenvectors) at the current point.",
    }[s.mode];
    parts.push(modeText || s.mode);
    if (!exact && maxOff > 1e-9) parts.push(` The path is up to ${fmt(maxOff, 2)} off this plane: solid = its true loss, dotted = the surface under it.`);
    if (leaves) parts.push(" The path leaves this view: the loss there is far above everything drawn.");
    if (arrows && arrows.tiny) parts.push(" The steps are too small to draw at this scale (under 1/1000 of the view).");
    else if (arrows && arrows.scale > 1.01) parts.push(` Arrows ×${fmt(arrows.scale, 2)}.`);
  }
  return parts;
}
