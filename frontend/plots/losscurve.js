// Loss over time: full-data loss (solid), held-out validation loss (dashed) and mini-batch
// loss (faint), one colour per run.
import { COLORS, axis, layout2d, react } from "./common.js";

/**
 * draw({runs: [{name, color, step, loss, valStep, valLoss, batchStep, batchLoss}], ylog, marker, yTitle})
 * `valStep` / `valLoss` are empty without a validation split.
 * `marker` is a step to mark (the scrubber's position), or null; `yTitle` names the loss.
 */
const hasValidation = (d) => d.runs.some((r) => r.valStep && r.valStep.length);

export function createLossCurve(el) {
  function traces(d) {
    const out = [];
    const many = d.runs.length > 1;
    const withVal = hasValidation(d); // training vs validation: name them so, and shorter
    for (const run of d.runs) {
      if (run.batchStep && run.batchStep.length) {
        out.push({
          type: "scatter",
          mode: "lines",
          name: many ? `${run.name} (mini-batch)` : "mini-batch loss",
          x: run.batchStep,
          y: run.batchLoss,
          line: { color: many ? run.color : COLORS.batch, width: 1 },
          opacity: many ? 0.25 : 0.8,
          hovertemplate: "step %{x}<br>batch loss %{y:.4g}<extra></extra>",
          showlegend: !many && !withVal, // beside validation the legend keeps to one row (grey: see the caption)
        });
      }
      out.push({
        type: "scatter",
        mode: run.step.length < 40 ? "lines+markers" : "lines",
        marker: { size: 5 },
        name: many ? run.name : withVal ? "training loss" : "full-data loss",
        x: run.step,
        y: run.loss,
        line: { color: run.color, width: 2.2 },
        hovertemplate: `${run.name}<br>step %{x}<br>loss %{y:.4g}<extra></extra>`,
      });
      if (run.valStep && run.valStep.length) {
        out.push({
          type: "scatter",
          mode: run.valStep.length < 40 ? "lines+markers" : "lines",
          marker: { size: 4 },
          name: many ? `${run.name} (validation)` : "validation loss",
          legendgroup: "validation",
          showlegend: !many,
          x: run.valStep,
          y: run.valLoss,
          line: { color: many ? run.color : COLORS.val, width: 1.8, dash: "dash" },
          hovertemplate: `${run.name}<br>step %{x}<br>validation loss %{y:.4g}<extra></extra>`,
        });
      }
    }
    // several runs: one grey legend entry explains every run's dashed line
    if (many && withVal) {
      out.push({
        type: "scatter",
        mode: "lines",
        name: "dashed: validation",
        legendgroup: "validation",
        x: [null],
        y: [null],
        line: { color: COLORS.batch, width: 1.8, dash: "dash" },
        hoverinfo: "skip",
      });
    }
    return out;
  }

  /** The user's choice when made (true / false), else log when the loss spans more than four decades (a blow-up). */
  function wantsLog(d) {
    if (d.ylog === true || d.ylog === false) return d.ylog;
    let lo = Infinity;
    let hi = -Infinity;
    for (const run of d.runs) {
      for (const col of [run.loss, run.valLoss || [], run.batchLoss || []]) {
        for (const v of col) if (v > 0) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
      }
    }
    return hi / lo > 1e4;
  }

  const widget = {
    el,
    log: false, // the scale of the last drawing
    draw(d) {
      const log = wantsLog(d);
      widget.log = log;
      const shapes = [];
      const annotations = [];
      for (const ev of d.events || []) {
        // a live change: a thin line at its step, labelled at the top
        shapes.push({ type: "path", xref: "x", yref: "paper", path: `M${ev.step},0 L${ev.step},1`, line: { color: "#b7791f", width: 1 } });
        annotations.push({ x: ev.step, xref: "x", y: 1, yref: "paper", yanchor: "bottom", text: ev.text, showarrow: false, font: { size: 9, color: "#8a5a12" }, textangle: 0 });
      }
      if (d.marker !== null && d.marker !== undefined) {
        // a vertical path at the previewed step, top to bottom of the plot (paper y)
        shapes.push({ type: "path", xref: "x", yref: "paper", path: `M${d.marker},0 L${d.marker},1`, line: { color: "#444", width: 1.5, dash: "dot" } });
      }
      const many = d.runs.length > 1;
      const lay = layout2d({
        showlegend: true,
        legend: many
          ? { x: 1, xanchor: "right", y: 1, yanchor: "top", bgcolor: "rgba(255,255,255,0.8)", font: { size: 9 } }
          : { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 10 } },
        margin: { l: 52, r: 10, t: many ? 8 : 22, b: 36 },
        xaxis: axis("training step"),
        yaxis: axis(log ? `${d.yTitle} (log)` : d.yTitle, { type: log ? "log" : "linear", exponentformat: "power" }),
        shapes,
        annotations,
      });
      return react(el, traces(d), lay);
    },
  };
  return widget;
}
