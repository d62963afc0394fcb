// The loss surface in 3-D with the descent path on it. Takes plain arrays.
import { COLORS, LOSS_SCALE, react } from "./common.js";

/**
 * draw({x, y, z, labels, zTitle,
 *       runs: [{name, color, a, b, loss, height, clipped?: {loss, height}}],
 *       // loss = true loss, height = surface under it; clipped: null outside the grid
 *       current: {a, b, loss}})
 * z[row = y][col = x]; null where the loss is not finite.
 */
export function createSurface3d(el) {
  function traces(d) {
    const out = [
      {
        type: "surface",
        name: "loss surface",
        x: d.x,
        y: d.y,
        z: d.z,
        colorscale: LOSS_SCALE,
        showscale: false,
        opacity: 0.93,
        hovertemplate: "%{x:.3g}, %{y:.3g}<br>loss %{z:.4g}<extra></extra>",
        lighting: { ambient: 0.75, diffuse: 0.5, specular: 0.05, roughness: 0.9 },
      },
    ];
    for (const run of d.runs || []) {
      out.push({
        type: "scatter3d",
        mode: "lines",
        name: run.name,
        x: run.a,
        y: run.b,
        z: run.clipped ? run.clipped.loss : run.loss,
        line: { color: run.color, width: run.faint ? 3 : 5 },
        opacity: run.faint ? 0.35 : 1,
        hovertemplate: `${run.name}<br>loss %{z:.4g}<extra></extra>`,
      });
      if (run.showHeight && !run.faint) {
        out.push({
          type: "scatter3d",
          mode: "lines",
          name: `${run.name}: surface under path`,
          x: run.a,
          y: run.b,
          z: run.clipped ? run.clipped.height : run.height,
          line: { color: run.color, width: 2, dash: "dot" },
          opacity: 0.7,
          hoverinfo: "skip",
        });
      }
    }
    if (d.current) {
      out.push({
        type: "scatter3d",
        mode: "markers",
        name: "now",
        x: [d.current.a],
        y: [d.current.b],
        z: [d.current.loss],
        marker: { size: 5, color: COLORS.current },
        hovertemplate: "now: loss %{z:.4g}<extra></extra>",
      });
    }
    return out;
  }

  function layout(d) {
    const ax = (title) => ({
      title: { text: title, font: { size: 11 } },
      gridcolor: "#dfe3ea",
      backgroundcolor: "#fafbfc",
      showbackground: true,
      tickfont: { size: 9 },
    });
    return {
      margin: { l: 0, r: 0, t: 0, b: 0 },
      paper_bgcolor: "rgba(0,0,0,0)",
      showlegend: false,
      uirevision: "keep",
      font: { family: "Inter, system-ui, sans-serif", size: 11, color: COLORS.text },
      scene: {
        uirevision: "keep",
        xaxis: ax(d.labels[0]),
        yaxis: ax(d.labels[1]),
        zaxis: ax(d.zTitle),
        aspectmode: "manual",
        aspectratio: { x: 1, y: 1, z: 0.65 },
        camera: { eye: { x: -1.25, y: -1.35, z: 0.85 } },
      },
    };
  }

  return {
    el,
    draw(d) {
      return react(el, traces(d), layout(d));
    },
  };
}
