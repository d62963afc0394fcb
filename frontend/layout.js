// The page's cards and captions (the chapter's words, short), built once.
import { $, h } from "./dom.js";

export const CARDS = [
  {
    id: "surface",
    title: "Loss surface",
    cls: "wide",
    caption: "Height is the loss, position is the weights: learning is the search for the lowest valley. The gradient is the slope under your feet.",
  },
  {
    id: "contour",
    title: "From above",
    cls: "wide",
    caption: "Each step goes opposite the slope: new_weight = old_weight − learning_rate × gradient. Red: −lr × gradient. Blue: the step actually taken (momentum and Adam bend it). In a narrow valley the steepest way down points across it, so the path zig-zags.",
  },
  {
    id: "losscurve",
    title: "Loss",
    caption: "Watch the loss fall: that falling number is learning. Grey: the loss of each mini-batch, noisier the smaller the batch. Dashed: the loss on held-out validation rows (set a validation split under Data); when it climbs while the training loss keeps falling, the model is overfitting.",
  },
  {
    id: "norms",
    title: "Gradient size per layer",
    caption: "Backprop multiplies slopes layer by layer: small slopes shrink the gradient toward the input (vanishing), large ones blow it up (exploding).",
  },
  { id: "data", title: "Data and prediction", caption: "The training data and what the model predicts now, updated live." },
];

export const TABS = [
  ["backprop", "Backprop"],
  ["epochs", "Epochs & fit()"],
  ["curvature", "Curvature"],
  ["compare", "Compare"],
  ["export", "Export & share"],
];

/** Build the cards; returns {plot: {id: el}, note: {id: el}, tools: {id: el}, panels: {name: el}}. */
export function buildLayout(onPng) {
  const plot = {};
  const note = {};
  const tools = {};
  const grid = $("#grid");
  for (const c of CARDS) {
    plot[c.id] = h("div", { class: "plot", id: `plot-${c.id}` });
    note[c.id] = h("p", { class: "note" });
    tools[c.id] = h("div", { class: "tools" });
    grid.append(
      h("article", { class: `card ${c.cls || ""}`, id: `card-${c.id}` }, [
        h("header", {}, [
          h("h2", {}, c.title),
          tools[c.id],
          h("button", { class: "icon", name: `png-${c.id}`, title: "Download PNG", onclick: () => onPng(plot[c.id], c.id) }, "⤓"),
        ]),
        plot[c.id],
        note[c.id],
        h("p", { class: "caption" }, c.caption),
      ]),
    );
  }
  const panels = {};
  const lower = $("#lower");
  lower.append(
    h("nav", { class: "tabs" }, TABS.map(([name, text]) => h("button", { dataset: { tab: name }, name: `tab-${name}` }, text))),
    ...TABS.map(([name]) => (panels[name] = h("section", { class: "panel", dataset: { panel: name }, hidden: true }))),
  );
  return { plot, note, tools, panels };
}

let toastTimer = null;

/** A short message at the bottom of the page. */
export function notice(message, kind = "error") {
  const el = $("#toast");
  el.textContent = message;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 6000);
}
