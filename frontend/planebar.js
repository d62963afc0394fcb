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
    parts.push(paramSelect("x", names, axes[0], (i) => change({ axes: [i, axes[1]] })));
    parts.push(paramSelect("y", names, axes[1], (i) => change({ axes: [axes[0], i] })));
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

/**
 * One parameter picked by name (the session's `param_names`), grouped by layer so long
 * lists stay readable; the select is as wide as the longest name, so x and y never read
 * the same truncated prefix.
 */
function paramSelect(axis, names, value, pick) {
  const groups = new Map();
  names.forEach((n, i) => {
    const dot = n.indexOf(".");
    const group = dot > 0 ? n.slice(0, dot) : "";
    if (!groups.has(group)) groups.set(group, []);
    groups.get(group).push(h("option", { value: i, selected: i === value }, n));
  });
  const children = [...groups].map(([g, opts]) => (g ? h("optgroup", { label: g }, opts) : opts)).flat();
  const sel = h("select", { name: axis, class: "param-select", title: `${axis} axis: ${names[value]}`, onchange: (e) => pick(Number(e.target.value)) }, children);
  return h("label", { class: "inline" }, [`${axis} `, sel]);
}

const ordinal = (k) => ["1st", "2nd"][k] || `${k + 1}th`;

/** Axis titles that say what each direction is, in words, with its numbers. */
export function axisTitles(s, exact) {
  const ev = s.explained_variance;
  const pct = (v) => `${(100 * v).toFixed(v > 0.99 || v < 0.01 ? 1 : 0)}%`;
  const filtered = !(s.plane.options && s.plane.options.filter_normalized === false);
  return [0, 1].map((k) => {
    switch (s.mode) {
      case "axes":
        return exact ? s.labels[k] : `${s.labels[k]} (the others held)`;
      case "pca":
        return `${ordinal(k)} principal direction of the path${ev ? ` (${pct(ev[k])} of its variance)` : ""}`;
      case "random":
        return `random direction ${k + 1}${filtered ? " (filter-normalised)" : ""}`;
      case "hessian": {
        const lam = /λ = ([^)]+)/.exec(s.labels[k]);
        return `${k ? "2nd sharpest" : "sharpest"} direction${lam ? ` (Hessian eigenvalue ${lam[1]})` : ""}`;
      }
      default:
        return s.labels[k];
    }
  });
}

/** What the drawn plane is, and how honest the path on it is, as a list of nodes. */
export function planeNote(s, { exact, maxOff, leaves, arrows, error, preview = null }) {
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
    if (preview !== null) parts.push(` Previewing step ${preview}: the faint line is what came after.`);
    else if (arrows && arrows.tiny) parts.push(" The steps are too small to draw at this scale (under 1/1000 of the view).");
    else if (arrows && arrows.scale > 1.01) parts.push(` Arrows ×${fmt(arrows.scale, 2)}.`);
    if (preview === null && arrows && arrows.cut) parts.push(" An arrow is cut at the edge of the view (it points further).");
  }
  return parts;
}
