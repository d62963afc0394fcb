// The same plane as contours, with the path, the gradient step and the step taken.
import { COLORS, LOSS_SCALE, axis, layout2d, react } from "./common.js";

function arrow(from, vec, color, text) {
  return {
    x: from[0] + vec[0],
    y: from[1] + vec[1],
    ax: from[0],
    ay: from[1],
    xref: "x",
    yref: "y",
    axref: "x",
    ayref: "y",
    showarrow: true,
    arrowhead: 2,
    arrowsize: 1.1,
    arrowwidth: 2.2,
    arrowcolor: color,
    text: "",
    hovertext: text,
  };
}

/**
 * draw({x, y, z, labels, runs: [{name, color, a, b}], current: {a, b},
 *       arrows: {from: [a, b], grad: [da, db], taken: [da, db], scale}})
 */
export function createContour(el) {
  function traces(d) {
    const out = [
      {
        type: "contour",
        x: d.x,
        y: d.y,
        z: d.z,
        colorscale: LOSS_SCALE,
        showscale: false,
        ncontours: 24,
        contours: { coloring: "fill", showlines: true },
        line: { width: 0.5, color: "rgba(255,255,255,0.5)" },
        hovertemplate: "%{x:.3g}, %{y:.3g}<br>loss %{z:.4g}<extra></extra>",
        connectgaps: false,
      },
    ];
    for (const run of d.runs || []) {
      out.push({
        type: "scatter",
        mode: "lines",
        name: run.name,
        x: run.a,
        y: run.b,
        line: { color: run.color, width: run.faint ? 1.6 : 2.4, dash: run.faint ? "dot" : "solid" },
        opacity: run.faint ? 0.45 : 1,
        showlegend: d.runs.length > 1 && !run.faint,
        hovertemplate: `${run.name}<br>%{x:.3g}, %{y:.3g}<extra></extra>`,
      });
      if (run.a.length && !run.faint) {
        out.push({
          type: "scatter",
          mode: "markers",
          name: `${run.name} start`,
          x: [run.a[0]],
          y: [run.b[0]],
          marker: { size: 8, color: "#fff", line: { color: run.color, width: 2 } },
          showlegend: false,
          hovertemplate: "start<extra></extra>",
        });
      }
    }
    if (d.current) {
      out.push({
        type: "scatter",
        mode: "markers",
        name: "now",
        x: [d.current.a],
        y: [d.current.b],
        marker: { size: 9, color: COLORS.current, line: { color: "#fff", width: 1.5 } },
        showlegend: false,
        hovertemplate: d.current.preview ? `step ${d.current.step} (preview)<extra></extra>` : "now<extra></extra>",
      });
    }
    return out;
  }

  function annotations(d) {
    const a = d.arrows;
    if (!a) return [];
    const out = [];
    const s = a.scale || 1;
    if (a.grad) {
      const g = [a.grad[0] * s, a.grad[1] * s];
      out.push({ ...arrow(a.from, g, COLORS.grad, "−lr × gradient: a plain step downhill"), arrowwidth: 4, arrowsize: 0.8 });
    }
    if (a.taken) {
      const t = [a.taken[0] * s, a.taken[1] * s];
      out.push(arrow(a.from, t, COLORS.step, "the step the optimizer actually took"));
    }
    return out;
  }

  return {
    el,
    draw(d) {
      const lay = layout2d({
        margin: { l: 48, r: 8, t: 6, b: 36 },
        xaxis: axis(d.labels[0], { range: [d.x[0], d.x[d.x.length - 1]] }),
        yaxis: axis(d.labels[1], { range: [d.y[0], d.y[d.y.length - 1]] }),
        annotations: annotations(d),
        showlegend: (d.runs || []).length > 1,
        legend: { x: 1, xanchor: "right", y: 1, yanchor: "top", bgcolor: "rgba(255,255,255,0.8)", font: { size: 9 } },
      });
      return react(el, traces(d), lay);
    },
  };
}
