"""A self-contained HTML report of a run: surface + path in 3-D and as contours, loss curve.

Made with the plotly package; plotly.js is inlined, so the file works offline.
"""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go

from gradscape.service.jsonsafe import floats
from gradscape.service.live import LiveRun
from gradscape.service.surfaces import surface_view


def _figures(data: dict[str, Any], traj: dict[str, Any], title: str) -> list[go.Figure]:
    path = data["path"]
    xl, yl = data["labels"]
    surface3d = go.Figure(
        [
            go.Surface(
                x=data["x"],
                y=data["y"],
                z=data["z"],
                colorscale="Viridis",
                opacity=0.9,
                showscale=False,
            ),
            go.Scatter3d(
                x=path["a"],
                y=path["b"],
                z=path["loss"],
                mode="lines+markers",
                marker={"size": 2, "color": "crimson"},
                line={"color": "crimson", "width": 4},
                name="path",
            ),
        ]
    )
    surface3d.update_layout(
        title=f"{title}: loss surface ({data['mode']} plane)",
        scene={"xaxis_title": xl, "yaxis_title": yl, "zaxis_title": "loss"},
        height=560,
    )
    contour = go.Figure(
        [
            go.Contour(x=data["x"], y=data["y"], z=data["z"], colorscale="Viridis", ncontours=30),
            go.Scatter(
                x=path["a"],
                y=path["b"],
                mode="lines+markers",
                marker={"size": 3, "color": "crimson"},
                name="path",
            ),
        ]
    )
    contour.update_layout(
        title="contours with the descent path", xaxis_title=xl, yaxis_title=yl, height=520
    )
    curve = go.Figure(
        [
            go.Scatter(x=traj["step"], y=traj["loss"], name="full-data loss"),
            go.Scatter(x=traj["step"], y=traj["batch_loss"], name="mini-batch loss", opacity=0.5),
        ]
    )
    curve.update_layout(title="loss", xaxis_title="step", yaxis_type="log", height=420)
    return [surface3d, contour, curve]


def html_report(run: LiveRun, resolution: int = 61) -> str:
    """The whole report as one HTML document (a few MB: plotly.js is inside)."""
    session = run.session
    # no mode: the surface view's own default (default_mode, or the axes for all-zero weights)
    data = surface_view(run, {"resolution": resolution}, [])
    every = max(1, session.step_count // 2000)
    traj = session.trajectory(every=every, fields=["step", "loss", "batch_loss"])
    cols = {k: floats(col) for k, col in traj.items()}
    title = session.config.get("preset") or "gradscape run"
    figs = _figures(data, cols, title)
    parts = [
        fig.to_html(include_plotlyjs=(i == 0), full_html=False, config={"displaylogo": False})
        for i, fig in enumerate(figs)
    ]
    status = session.status if session.reason is None else f"{session.status}: {session.reason}"
    opt = session.settings["optimizer"]
    hyper = ", ".join(f"{k} {v}" for k, v in opt.items() if k != "name")
    off = [v for v in data["path"]["off_plane_distance"] if v is not None]
    honesty = (
        "The path lies on this plane, so it sits on the surface."
        if not off or max(off) < 1e-9
        else f"The path is drawn at its true loss; it leaves the plane by up to {max(off):.3g} "
        "(parameter-space distance), so there it floats off the drawn surface."
    )
    head = (
        f"<h1>gradscape: {html.escape(str(title))}</h1>"
        f"<p>{session.step_count} steps, status {html.escape(status)}. "
        f"Optimizer {html.escape(opt['name'])} ({html.escape(hyper)}).</p>"
        f"<p>{html.escape(honesty)}</p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>gradscape report</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:1em}</style>"
        f"</head><body>{head}{''.join(parts)}</body></html>"
    )
