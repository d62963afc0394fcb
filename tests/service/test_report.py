"""The HTML report's figures: the run's own numbers in the traces, and their layout word for
word against a reviewed copy (``GRADSCAPE_UPDATE_GOLDEN=1`` rewrites it)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from gradscape.service import report
from gradscape.service.jsonsafe import floats
from gradscape.service.live import LiveRun
from gradscape.service.report import _figures, html_report
from gradscape.service.surfaces import surface_view

GOLDEN = Path(__file__).parent / "golden" / "report-pass-fail.json"


def _rounded(value: Any) -> Any:
    """Floats to 6 significant digits: the surface is a float32 grid, and another CPU's
    BLAS kernel may round its last bits differently."""
    if isinstance(value, float):
        return float(f"{value:.6g}")
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


def test_the_report_draws_the_runs_own_numbers_and_its_reviewed_layout() -> None:
    run = LiveRun.create({"preset": "pass-fail"})
    run.step(30, evaluate="all")
    data = surface_view(run, {"mode": "axes", "resolution": 5}, [])
    traj = run.session.trajectory(fields=["step", "loss", "batch_loss"])
    figs = _figures(data, {k: floats(v) for k, v in traj.items()}, "pass-fail")
    curve = figs[-1].to_plotly_json()["data"]
    np.testing.assert_allclose(curve[0]["y"], traj["loss"], rtol=1e-12)
    np.testing.assert_allclose(curve[1]["y"][1:], traj["batch_loss"][1:], rtol=1e-12)
    np.testing.assert_array_equal(curve[0]["x"], traj["step"])
    shown = []
    for fig in figs:
        spec = fig.to_plotly_json()
        spec["layout"].pop("template", None)
        plain = json.loads(json.dumps(spec, default=lambda a: np.asarray(a).tolist()))
        shown.append(_rounded(plain))
    if os.environ.get("GRADSCAPE_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(shown, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert shown == json.loads(GOLDEN.read_text(encoding="utf-8"))
    page = html_report(run, resolution=5)
    assert "<h1>gradscape: pass-fail</h1>" in page and "30 steps, status active." in page


def test_a_long_run_is_drawn_at_every_kth_step_so_the_curve_keeps_at_most_4000_points() -> None:
    run = LiveRun.create({"preset": "pass-fail"})
    run.step(5000, evaluate="none")
    page = html_report(run, resolution=5)
    # the loss curve's trace as the page hands it to Plotly.newPlot
    start = re.search(r'\{"name":"full-data loss"', page)
    assert start is not None
    trace, _ = json.JSONDecoder().raw_decode(page, start.start())
    assert trace["x"] == list(range(0, 5001, 2))  # 5000 // 2000 = 2: every other step
    loss = run.session.trajectory(fields=["loss"])["loss"]
    np.testing.assert_allclose(trace["y"], loss[::2], rtol=1e-12)


HEAD = (
    "<!doctype html><html><head><meta charset='utf-8'><title>gradscape report</title>"
    "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:1em}"
    "</style></head><body>"
)
ON_PLANE = "The path lies on this plane, so it sits on the surface."
_PLOT = re.compile(r'Plotly\.newPlot\(\s*"[0-9a-f-]{36}",\s*')


def _plots(page: str) -> list[tuple[list[Any], dict[str, Any], dict[str, Any]]]:
    """Each figure's (traces, layout, config) as the page hands them to Plotly.newPlot."""
    decoder, out = json.JSONDecoder(), []
    for match in _PLOT.finditer(page):
        at, args = match.end(), []
        for _ in range(3):
            value, at = decoder.raw_decode(page, at)
            args.append(value)
            at = re.compile(r"\s*,?\s*").match(page, at).end()  # type: ignore[union-attr]
        out.append((args[0], args[1], args[2]))
    return out


def test_the_page_inlines_plotly_once_ahead_of_three_figures_and_nothing_between() -> None:
    run = LiveRun.create({"preset": "line"})  # 2 parameters (w, b): the exact axes plane
    run.step(10, evaluate="none")
    page = html_report(run)  # the default resolution: 61 x 61
    assert page.startswith(
        HEAD + "<h1>gradscape: line</h1><p>10 steps, status active. Optimizer sgd (lr 0.1, "
        "momentum 0.0, dampening 0.0, weight_decay 0.0, nesterov False, maximize False).</p>"
        f"<p>{ON_PLANE}</p>"
    )
    assert page.endswith("</div></body></html>")
    # one document: the figures are fragments, and plotly.js is inlined once, before the first
    assert (page.count("<html"), page.count("<body"), page.count("plotly.js v")) == (1, 1, 1)
    assert page.index("window.Plotly = Plotly") < page.index('class="plotly-graph-div"')
    # the three figure divs follow the paragraphs back to back
    figures = page[page.index(f"{ON_PLANE}</p>") + len(ON_PLANE) + 4 : -len("</body></html>")]
    parts = re.split(r'(?=<div style="height:\d+px; width:100%;">)', figures)
    assert parts[0] == "" and len(parts) == 4
    assert [p[: p.index("px")] for p in parts[1:]] == [f'<div style="height:{h}' for h in
                                                      (560, 520, 420)]  # fmt: skip
    assert all(p.endswith("</script>        </div>") for p in parts[1:])
    plots = _plots(page)
    assert [layout["title"]["text"] for _, layout, _ in plots] == [
        "line: loss surface (axes plane)", "contours with the descent path", "loss"
    ]  # fmt: skip
    assert [config["displaylogo"] for _, _, config in plots] == [False, False, False]
    surface = plots[0][0][0]
    assert surface["type"] == "surface" and len(surface["x"]) == len(surface["y"]) == 61
    assert plots[2][0][0]["x"] == list(range(11))  # a short run: every step on the curve


def test_a_pca_report_says_how_far_the_path_leaves_its_plane() -> None:
    run = LiveRun.create({"preset": "moons-mlp"})  # 337 parameters: drawn on the PCA plane
    run.step(40, evaluate="none")
    s = run.session
    page = html_report(run, resolution=5)
    # the same plane again; each theta_k's distance from it, by least squares (np.linalg)
    plane = surface_view(run, {"mode": "pca", "resolution": 5}, [])
    B = np.column_stack([plane["plane"]["d1"], plane["plane"]["d2"]])
    offsets = s.params_at(plane["path"]["step"]) - np.array(plane["plane"]["center"])
    coef = np.linalg.lstsq(B, offsets.T, rcond=None)[0]
    far = float(np.max(np.linalg.norm(offsets.T - B @ coef, axis=0)))
    assert 1e-3 < far < 1  # well off the plane, and under 1
    assert (
        f"<p>The path is drawn at its true loss; it leaves the plane by up to {far:.3g} "
        "(parameter-space distance), so there it floats off the drawn surface.</p>"
    ) in page
    traces, layout, _ = _plots(page)[0]
    assert layout["title"]["text"] == "moons-mlp: loss surface (pca plane)"
    assert len(traces[0]["x"]) == len(traces[0]["y"]) == 5  # the resolution asked for
    # drawing the loss curve evaluated the full-data loss, and nothing else
    recorded = s.recorded(0, 41, ["loss", "accuracy", "val_loss"])
    assert np.all(np.isfinite(recorded["loss"]))
    assert np.all(np.isnan(recorded["accuracy"])) and np.all(np.isnan(recorded["val_loss"]))


def test_a_diverged_run_without_a_preset_says_why_it_stopped() -> None:
    run = LiveRun.create({"model": {"function": "rosenbrock"}, "optimizer": {"lr": 0.5}})
    run.step(10, evaluate="none")  # rosenbrock at lr 0.5 overflows on its 4th update
    page = html_report(run, resolution=5)
    assert (
        "<h1>gradscape: gradscape run</h1><p>3 steps, status diverged: loss became "
        "non-finite at step 4. Optimizer sgd (lr 0.5, "
    ) in page


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """html_report with its figures left out (fast), keeping what it would draw."""
    seen: dict[str, Any] = {}

    def figures(data: dict[str, Any], traj: dict[str, Any], title: str) -> list[Any]:
        seen.update(data=data, traj=traj, title=title)
        return []

    monkeypatch.setattr(report, "_figures", figures)
    return seen


@pytest.mark.parametrize(
    ("distances", "honesty"),
    [
        ([None, 0.0, 0.0], ON_PLANE),  # None: a step with no parameters kept
        ([None, None], ON_PLANE),
        ([None, 1e-10, 0.0], ON_PLANE),
        ([None, 0.0, 1e-9], "The path is drawn at its true loss; it leaves the plane by up to "
         "1e-09 (parameter-space distance), so there it floats off the drawn surface."),
        ([0.25, None, 0.5], "The path is drawn at its true loss; it leaves the plane by up to "
         "0.5 (parameter-space distance), so there it floats off the drawn surface."),
    ],
)  # fmt: skip
def test_the_path_is_said_to_sit_on_the_plane_when_it_is_under_1e_9_off(
    monkeypatch: pytest.MonkeyPatch, drawn: dict[str, Any], distances: list[Any], honesty: str
) -> None:
    real = report.surface_view

    def view(*args: Any) -> dict[str, Any]:
        data = real(*args)
        data["path"]["off_plane_distance"] = distances
        return data

    monkeypatch.setattr(report, "surface_view", view)
    run = LiveRun.create({"preset": "line"})
    run.step(2, evaluate="none")
    page = html_report(run, resolution=5)
    assert page.endswith(f"<p>{honesty}</p></body></html>")


def test_a_run_of_4000_steps_is_drawn_at_every_other_step(drawn: dict[str, Any]) -> None:
    run = LiveRun.create({"preset": "pass-fail"})
    run.step(4000, evaluate="none")
    html_report(run, resolution=5)
    assert drawn["traj"]["step"] == list(range(0, 4001, 2))  # 4000 // 2000 = 2
    assert drawn["title"] == "pass-fail"


def test_a_fresh_zero_initialised_network_is_reported_on_the_surface_views_own_plane() -> None:
    # all-zero weights: a filter-normalised random plane would vanish, so the surface view's
    # default falls back to the axes of the first two weights; the report must draw that too
    run = LiveRun.create({"data": {"name": "moons", "n_samples": 20},
                          "model": {"hidden": [16], "init": "zeros"}})  # fmt: skip
    assert run.session.model.n_params == 65 and not np.any(run.session.params)
    page = html_report(run, resolution=5)
    _, layout, _ = _plots(page)[0]
    assert layout["title"]["text"] == "gradscape run: loss surface (axes plane)"
    scene = layout["scene"]
    assert scene["xaxis"]["title"]["text"] == "layer1.W[0,0]"
    assert scene["yaxis"]["title"]["text"] == "layer1.W[0,1]"
    assert "<p>0 steps, status active." in page
