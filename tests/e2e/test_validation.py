"""A held-out validation split: the Data controls, the dashed validation loss beside the
training loss (live, and back-filled after a reload or a link), and the readout."""

from __future__ import annotations

import math
from typing import Any

import pytest

from tests.e2e.helpers import api_get, app, hash_for, open_app, session, set_number, wait_app

pytestmark = pytest.mark.e2e

# the loss chart's validation trace as drawn: [x, y], or null
VAL_TRACE = (
    "(() => { const t = (document.querySelector('#plot-losscurve').data || [])"
    ".find(t => t.name === 'validation loss'); return t ? [t.x, t.y] : null; })()"
)


def drawn_validation(page: Any) -> tuple[list[int], list[float]]:
    trace = app(page, VAL_TRACE)
    assert trace is not None, "no validation trace in the loss chart"
    return trace[0], trace[1]


def test_validation_split_draws_the_validation_loss(page: Any, server: str) -> None:
    open_app(page, server, hash_for({"preset": "moons-mlp"}))
    first = app(page, "app.main.id")
    assert app(page, VAL_TRACE) is None  # no split, no validation line
    set_number(page, "input[name=validation_split]", "0.25")
    wait_app(page, f"app.main.id !== {first!r} && app.main.history.evals.length > 0")
    assert app(page, "app.main.info.config.data.validation_split") == 0.25
    assert page.locator("input[name=validation-slider]").input_value() == "0.25"
    page.wait_for_function("() => location.hash.includes('validation_split')")

    page.click("button[name=play]")
    wait_app(page, "app.main.step >= 150")
    page.click("button[name=play]")  # pause
    wait_app(page, "!app.main.playing")
    wait_app(page, f"{VAL_TRACE} && {VAL_TRACE}[0].at(-1) === app.main.step")
    steps, values = drawn_validation(page)
    assert len(steps) >= 10
    assert all(v is not None and math.isfinite(v) for v in values)
    assert max(values) - min(values) > 1e-3  # it moves as the model learns
    assert "validation loss" in page.locator("#plot-losscurve").inner_text()
    # the training loss is still there, solid, beside the dashed validation line
    traces = app(
        page,
        "document.querySelector('#plot-losscurve').data.map(t => [t.name, t.line.dash || 'solid'])",
    )
    assert ["training loss", "solid"] in traces and ["validation loss", "dash"] in traces
    wait_app(page, "document.querySelector('.readout').textContent.includes('(val ')")
    readout = page.locator(".readout").inner_text()
    assert readout.count("(val ") == 2, readout  # beside the loss and the accuracy

    info = session(page, server)
    assert info["config"]["data"]["validation_split"] == 0.25
    assert info["n_samples"] == 150  # 200 rows, a quarter held out
    traj = api_get(
        server, f"/api/sessions/{info['id']}/trajectory?fields=step,loss,val_loss,val_accuracy"
    )
    by_step = dict(zip(traj["columns"]["step"], traj["columns"]["val_loss"], strict=True))
    for k, v in zip(steps, values, strict=True):
        assert v == pytest.approx(by_step[k], rel=1e-12)


def test_validation_loss_is_back_filled_and_the_split_round_trips(
    page: Any, server: str, browser: Any
) -> None:
    config = {"preset": "moons-mlp"}
    open_app(page, server, hash_for(config))
    set_number(page, "input[name=validation_split]", "0.25")
    wait_app(page, "app.main.info.config.data.validation_split === 0.25")
    page.check("input[name=standardize]")
    wait_app(page, "app.main.info.config.data.standardize === true")
    # a generic data option survives a change of the dataset's own options
    set_number(page, "input[name=noise]", "0.3")
    wait_app(page, "app.main.info.config.data.noise === 0.3")
    data = app(page, "app.main.info.config.data")
    assert data["validation_split"] == 0.25 and data["standardize"] is True
    page.click("button[name=step10]")
    wait_app(page, "app.main.step === 10")
    page.click("button[name=step10]")
    wait_app(page, f"app.main.step === 20 && {VAL_TRACE} && {VAL_TRACE}[0].at(-1) === 20")
    live = drawn_validation(page)

    # a reload resumes the session: the history (validation loss too) comes from the server
    sid = app(page, "app.main.id")
    page.reload()
    wait_app(page, f"app.main && app.main.id === {sid!r} && app.main.history.evals.lastStep === 20")
    wait_app(page, f"{VAL_TRACE} && {VAL_TRACE}[0].length === 21")
    steps, values = drawn_validation(page)
    assert steps == list(range(21))
    assert all(math.isfinite(v) for v in values)
    for k, v in zip(*live, strict=True):
        assert values[k] == pytest.approx(v, rel=1e-12)
    assert page.locator("input[name=validation_split]").input_value() == "0.25"
    assert page.locator("input[name=standardize]").is_checked()

    # the link rebuilds the run elsewhere, split and standardisation included
    page.wait_for_function("() => location.hash.includes('step=20')")
    url = page.url
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page2 = other.new_page()
        open_app(page2, server, url.split("/", 3)[3])
        second = session(page2, server)
        assert second["id"] != sid
        assert second["config"]["data"] == data
        wait_app(page2, f"{VAL_TRACE} && {VAL_TRACE}[0].length === 21")
        assert drawn_validation(page2)[1] == pytest.approx(values, rel=1e-12)
        assert page2.locator("input[name=validation_split]").input_value() == "0.25"
    finally:
        other.close()

    # back to no split: the controls drop the key and the dashed line goes away
    set_number(page, "input[name=validation_split]", "0")
    wait_app(page, "app.main.info.config.data.validation_split === undefined")
    page.click("button[name=step1]")
    wait_app(page, "app.main.step === 1 && app.main.history.evals.lastStep === 1")
    assert app(page, VAL_TRACE) is None


def test_no_data_controls_for_an_analytic_surface(page: Any, server: str) -> None:
    open_app(page, server, hash_for({"preset": "rosenbrock"}))
    assert "needs no data" in page.locator("#setup").inner_text()
    assert page.locator("input[name=validation_split]").count() == 0
    assert page.locator("input[name=standardize]").count() == 0
    page.click("button[name=step10]")
    wait_app(page, "app.main.step === 10 && app.main.history.evals.lastStep === 10")
    assert app(page, VAL_TRACE) is None
    assert "(val " not in page.locator(".readout").inner_text()
