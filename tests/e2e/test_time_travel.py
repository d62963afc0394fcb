"""Time travel in a real browser: previews that change nothing on the server, branches
that keep every future, undo, lock-step comparison, links that open without a reload."""

from __future__ import annotations

import json
import urllib.error
from typing import Any

import pytest

from tests.e2e.helpers import (
    api_get,
    app,
    hash_for,
    open_app,
    session,
    step_until_diverged,
    wait_app,
)

pytestmark = pytest.mark.e2e


def _thirty_steps(page: Any, server: str) -> str:
    open_app(page, server)
    for _ in range(3):
        page.click("button[name=step10]")
    wait_app(page, "app.main.step === 30 && app.main.history.plane.lastStep === 30")
    wait_app(page, "!app.landscape.inFlight")
    return str(app(page, "app.main.id"))


def _slide(page: Any, k: int) -> None:
    """Drag the time slider to ``k`` and let go (input events, then change)."""
    page.evaluate(
        "(k) => { const s = document.querySelector('input[name=scrubber]'); s.value = k;"
        " s.dispatchEvent(new Event('input')); s.dispatchEvent(new Event('change')); }",
        k,
    )


def _gone(server: str, sid: str) -> bool:
    try:
        api_get(server, f"/api/sessions/{sid}")
    except urllib.error.HTTPError as err:
        return err.code == 404
    return False


def test_slider_and_keys_only_preview(page: Any, server: str) -> None:
    sid = _thirty_steps(page, server)
    page.click("button[name=tab-backprop]")
    _slide(page, 12)
    wait_app(page, "app.view.preview === 12")
    readout = page.locator("#transport .readout")
    assert "previewing step 12 of 30" in readout.inner_text()
    # every view shows step 12: the loss chart's marker, the plane's marker, backprop
    shapes = "document.querySelector('#plot-losscurve').layout.shapes"
    wait_app(page, f"{shapes}.some(s => s.path === 'M12,0 L12,1')")
    row = app(page, "app.main.history.plane.row(app.main.history.plane.indexAtOrBefore(12))")
    now = "document.querySelector('#plot-contour').data.find(t => t.name === 'now')"
    wait_app(page, f"({now} || {{}}).x?.[0] === {row['a']!r} && {now}.y[0] === {row['b']!r}")
    wait_app(page, "document.querySelector('input[name=bp-step]').value === '12'")
    assert "after step 12" in json.dumps(
        page.evaluate("() => document.querySelector('#plot-contour').data.map(t => t.name)")
    )
    page.locator("body").click(position={"x": 5, "y": 5})  # keys go to the page, not a box
    page.keyboard.press("ArrowLeft")
    wait_app(page, "app.view.preview === 11")
    page.keyboard.press("Home")
    wait_app(page, "app.view.preview === 0")
    assert "previewing step 0 of 30" in readout.inner_text()
    page.keyboard.press("ArrowRight")
    wait_app(page, "app.view.preview === 1")
    page.keyboard.press("End")
    wait_app(page, "app.view.preview === null")
    # nothing on the server changed, and the history is whole
    info = session(page, server)
    assert info["id"] == sid and info["step"] == 30
    assert app(page, "app.main.history.evals.lastStep") == 30


def test_continue_from_here_branches_and_undo_brings_the_old_future_back(
    page: Any, server: str
) -> None:
    first = _thirty_steps(page, server)
    _slide(page, 12)
    page.click("button[name=continue-here]")
    wait_app(page, "app.branches.length === 2 && app.main.id !== " + json.dumps(first))
    wait_app(page, "app.main.step === 12 && app.view.preview === null")
    fork = str(app(page, "app.main.id"))
    assert api_get(server, f"/api/sessions/{first}")["step"] == 30  # the old future is kept
    # the branch trains on from step 12, bit for bit the same start as the old run had
    q = "trajectory?start=12&stop=13&fields=params"
    old_rows = api_get(server, f"/api/sessions/{first}/{q}")
    new_rows = api_get(server, f"/api/sessions/{fork}/{q}")
    assert old_rows["columns"]["params"] == new_rows["columns"]["params"]
    page.click("button[name=step10]")
    wait_app(page, "app.main.step === 22")
    # compare the old branch on the same plane
    page.click("#branches li[data-branch='0'] button[name=branch-compare]")
    wait_app(page, "app.compare.length === 1 && app.compare[0].id === " + json.dumps(first))
    wait_app(page, "(app.landscape.surface.overlays || []).length === 1 && !app.landscape.inFlight")
    assert app(page, "app.landscape.surface.overlays[0].id") == first
    assert "branches=" in page.url  # the link holds the tree
    # undo: back to the old run at step 30; the branch is deleted
    page.click("button[name=undo]")
    wait_app(page, "app.main.id === " + json.dumps(first) + " && app.branches.length === 1")
    assert app(page, "app.main.step") == 30
    # the fork is deleted (asked from here: a 404 fetched by the page would be logged as an error)
    for _ in range(100):
        if _gone(server, fork):
            break
        page.wait_for_timeout(100)
    assert _gone(server, fork)


def test_reset_is_undoable(page: Any, server: str) -> None:
    first = _thirty_steps(page, server)
    page.click("button[name=reset]")
    wait_app(page, "app.main.step === 0 && app.main.id !== " + json.dumps(first))
    assert api_get(server, f"/api/sessions/{first}")["step"] == 30
    page.click("button[name=undo]")
    wait_app(page, "app.main.id === " + json.dumps(first) + " && app.main.step === 30")
    assert app(page, "app.branches.length") == 1


def test_a_link_with_branches_rebuilds_the_tree(page: Any, server: str, browser: Any) -> None:
    _thirty_steps(page, server)
    _slide(page, 12)
    page.click("button[name=continue-here]")
    wait_app(page, "app.branches.length === 2 && app.main.step === 12")
    page.click("button[name=step1]")
    wait_app(page, "app.main.step === 13")
    page.wait_for_function("() => location.hash.includes('branches=')")
    url = page.url
    other = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page2 = other.new_page()
        open_app(page2, server, url.split("/", 3)[3])
        wait_app(page2, "app.branches.length === 2 && app.current === 1")
        assert app(page2, "app.main.step") == 13
        steps = app(page2, "app.branches.map(b => b.step)")
        assert steps == [30, 13]
    finally:
        other.close()


def test_a_preset_link_and_the_preset_button_give_the_same_view(page: Any, server: str) -> None:
    page.goto(f"{server}/#preset=rosenbrock")
    page.wait_for_function("() => window.gradscape && window.gradscape.app.landscape.surface")
    linked = app(page, "({zlog: app.view.zlog, log: app.landscape.surface.log_scale})")
    assert linked["zlog"] is True
    open_app(page, server)
    page.click("button[data-preset=rosenbrock]")
    wait_app(page, "app.main.info.config.preset === 'rosenbrock' && !app.landscape.inFlight")
    wait_app(page, "app.view.zlog === true")
    assert app(page, "document.querySelector('input[name=zlog]').checked") is True


def test_the_loss_log_box_shows_the_scale_drawn_and_the_user_wins(page: Any, server: str) -> None:
    open_app(page, server, hash_for({"preset": "exploding"}))
    step_until_diverged(page)
    box = "input[name=ylog]"
    # the blow-up spans ninety decades: the chart picks log and the box says so
    wait_app(page, "document.querySelector('#plot-losscurve').layout.yaxis.type === 'log'")
    wait_app(page, f"document.querySelector('{box}').checked === true")
    page.uncheck(box)
    wait_app(page, "document.querySelector('#plot-losscurve').layout.yaxis.type === 'linear'")
    assert app(page, "app.view.ylog") is False
    page.wait_for_function("() => location.hash.includes('ylog=0')")


def test_compared_runs_advance_in_lock_step(page: Any, server: str) -> None:
    open_app(page, server, hash_for({"preset": "moons-mlp"}, speed=300, tab="compare"))
    page.fill("input[name=cmp-lr]", "0.05")
    page.click("button[name=cmp-add]")
    wait_app(page, "app.compare.length === 1")
    page.fill("input[name=cmp-lr]", "0.002")
    page.click("button[name=cmp-add]")
    wait_app(page, "app.compare.length === 2")
    page.click("button[name=play]")
    wait_app(page, "app.main.step >= 60", timeout=60_000)
    page.click("button[name=play]")  # pause
    wait_app(page, "!app.playing")
    page.wait_for_function(
        "() => { const a = window.gradscape.app; const s = a.runs.map(r => r.step);"
        " return s.every(k => k === s[0]) && a.runs.every(r => !r.waiter); }"
    )
    steps = app(page, "app.runs.map(r => r.step)")
    assert len(set(steps)) == 1 and steps[0] >= 60
    infos = [api_get(server, f"/api/sessions/{i}") for i in app(page, "app.runs.map(r => r.id)")]
    assert len({i["step"] for i in infos}) == 1  # the server agrees


def test_a_pasted_link_loads_without_a_reload(page: Any, server: str) -> None:
    open_app(page, server)
    page.evaluate("() => { window.notReloaded = true; }")
    link = hash_for({"preset": "line"}, plane="axes")
    page.evaluate(f"() => {{ location.hash = {json.dumps(link)}; }}")
    wait_app(page, "app.main.info.config.preset === 'line' && !app.landscape.inFlight")
    assert page.evaluate("() => window.notReloaded") is True
    assert app(page, "app.view.plane") == "axes"


def test_slow_work_shows_progress_and_can_be_cancelled(page: Any, server: str) -> None:
    # a 99.6k-parameter net: its surface takes seconds and it cannot play 10,000 steps/s
    config = {"preset": "moons-mlp", "model": {"hidden": [256, 256, 128], "activation": "tanh"}}
    # The first surface is held at the browser until the page cancels it: on a loaded
    # machine the real one may finish (or be refused up front) before the click lands.
    # The server's side of a cancel (work stops when the client goes) is tested in
    # tests/api/test_stream.py; this test is the page's side.
    held: list[Any] = []

    def hold_first_surface(route: Any) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)  # never answered: the page's abort ends it

    page.route("**/api/sessions/*/surface", hold_first_surface)
    page.goto(f"{server}/{hash_for(config)}")
    # shown after ~300 ms of waiting (on a loaded machine creating the session may be too)
    busy = page.locator("#busy .job", has_text="Computing the loss surface")
    busy.first.wait_for(state="visible", timeout=60_000)
    assert app(page, "app.main.info.n_params") == 99_585
    assert "Computing the loss surface (41×41, 99585 parameters)" in busy.first.inner_text()
    page.click("#busy button[name=cancel-work]")
    page.wait_for_function("() => document.querySelector('#busy').hidden")
    wait_app(page, "app.landscape.error && app.landscape.error.includes('cancelled')")
    assert "cancelled" in page.locator("#card-surface .note").inner_text()
    assert len(held) == 1
    page.unroute("**/api/sessions/*/surface")
    page.select_option("select[name=speed]", "10000")
    page.click("button[name=play]")
    rate = page.locator("#transport .short-rate")
    rate.wait_for(state="visible", timeout=30_000)
    text = rate.inner_text()
    assert "of 10000 steps/s" in text and "(" in text  # achieved, asked, and why
    page.click("button[name=play]")
    wait_app(page, "!app.playing")
    # a refit while it played may be refused up front (422: over max_call_seconds on a
    # loaded machine); the page says so in the note, the browser logs the 422
    assert all("422" in e for e in page.errors)
    page.errors.clear()


def test_one_step_draws_its_gradient_norm_and_the_axis_selects_name_the_weights(
    page: Any, server: str
) -> None:
    open_app(page, server, hash_for({"preset": "moons-mlp"}, plane="axes", axes="0,1"))
    page.click("button[name=step1]")
    wait_app(page, "app.main.step === 1")
    # one step is one point: it is drawn (markers), not an empty line
    norms = "document.querySelector('#plot-norms').data"
    wait_app(page, f"{norms}.length > 0 && {norms}.every(t => t.mode.includes('markers'))")
    names = page.evaluate(
        "() => ['x', 'y'].map(a => { const s = document.querySelector(`select[name=${a}]`);"
        " return [s.options[s.selectedIndex].text, s.scrollWidth <= s.clientWidth + 24]; })"
    )
    assert names[0][0] == "layer1.W[0,0]" and names[1][0] == "layer1.W[0,1]"
    assert all(fits for _, fits in names)  # wide enough that x and y read differently
