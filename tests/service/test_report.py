"""The HTML report's figures: the run's own numbers in the traces, and their layout word for
word against a reviewed copy (``GRADSCAPE_UPDATE_GOLDEN=1`` rewrites it)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

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
