"""The plane follows the run from the socket: update arrows from ``last_update``, compared
runs projected by the server, the all-zero start, and the lr in force under a schedule."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.helpers import app, hash_for, open_app, session, set_number, wait_app

pytestmark = pytest.mark.e2e

# the contour's arrows as drawn: [colour, tail x, tail y, head x, head y]
ARROWS = (
    "(document.querySelector('#plot-contour').layout.annotations || [])"
    ".map(a => [a.arrowcolor, a.ax, a.ay, a.x, a.y])"
)
RED, BLUE = "#c62828", "#1565c0"


def drawn_arrows(page: Any) -> dict[str, list[float]]:
    return {a[0]: a[1:] for a in app(page, ARROWS)}


def test_arrows_follow_the_frames_while_playing(page: Any, server: str) -> None:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    open_app(page, server, hash_for({"preset": "pass-fail"}, speed=60))
    page.click("button[name=play]")
    wait_app(page, "app.main.step >= 10 && app.landscape.arrows && app.landscape.arrows.taken")
    wait_app(page, f"{ARROWS}.length === 2")
    app(page, f"(window.firstArrows = JSON.stringify({ARROWS}))")
    fits = sum("/surface" in u for u in urls)
    # over a second and a half the arrows move with nearly every frame, not only on refits
    seen = page.evaluate(
        """() => new Promise((resolve) => {
          const steps = new Set(); const t0 = performance.now();
          (function tick(t) {
            const a = window.gradscape.app.landscape.arrows;
            if (a) steps.add(a.step);
            if (t - t0 < 1500) requestAnimationFrame(tick); else resolve(steps.size);
          })(t0);
        })"""
    )
    fits = sum("/surface" in u for u in urls) - fits
    assert seen > fits + 5, (seen, fits)
    wait_app(page, f"JSON.stringify({ARROWS}) !== window.firstArrows")
    page.click("button[name=play]")
    wait_app(page, "!app.main.playing && !app.landscape.inFlight")
    wait_app(page, "app.landscape.arrows.step === app.main.step")
    wait_app(page, f"{ARROWS}.length === 2")  # drawn at the next scheduled draw, not at once
    assert set(drawn_arrows(page)) == {RED, BLUE}
    # the arrows come from the frames and the surface: no extra trajectory fetch for them
    asked = [parse_qs(urlsplit(u).query) for u in urls if "/trajectory" in u]
    fields = [q.get("fields", [""])[0].split(",") for q in asked]
    assert not [f for f in fields if "grad" in f], fields


def test_plain_sgd_arrows_coincide_and_momentum_bends_them(page: Any, server: str) -> None:
    open_app(page, server, hash_for({"preset": "line"}))
    page.click("button[name=step10]")
    wait_app(page, "app.main.step === 10 && app.landscape.arrows?.step === 10")
    arrows = app(page, "app.landscape.arrows")
    assert arrows["grad"] == pytest.approx(arrows["taken"], rel=1e-9, abs=1e-12)
    wait_app(page, f"{ARROWS}.length === 2")
    drawn = drawn_arrows(page)
    assert drawn[RED] == pytest.approx(drawn[BLUE], rel=1e-9, abs=1e-12)
    # ... while momentum makes the step taken differ from -lr x gradient
    page.click("details.hyper summary")
    set_number(page, "input[data-param=momentum]", "0.9")
    wait_app(page, "app.main.info.settings.optimizer.momentum === 0.9")
    page.click("button[name=step10]")
    wait_app(page, "app.main.step === 20 && app.landscape.arrows?.step === 20")
    arrows = app(page, "app.landscape.arrows")
    gap = [g - t for g, t in zip(arrows["grad"], arrows["taken"], strict=True)]
    assert max(abs(v) for v in gap) > 0.1 * max(abs(v) for v in arrows["taken"])


def test_compare_runs_beyond_inline_params_use_server_coordinates(page: Any, server: str) -> None:
    config = {
        "data": {"name": "moons", "n_samples": 100},
        "model": {"hidden": [32, 32], "activation": "tanh", "init": "xavier"},
        "loss": "bce",
        "optimizer": {"name": "sgd", "lr": 0.1},
    }
    open_app(page, server, hash_for(config, speed=30))
    assert app(page, "app.main.info.n_params") > 1000  # too many to send in every frame
    page.click("button[name=tab-compare]")
    page.select_option("select[name=cmp-optimizer]", "adam")
    set_number(page, "input[name=cmp-lr]", "0.01")
    page.click("button[name=cmp-add]")
    wait_app(page, "app.compare.length === 1")
    wait_app(page, "(app.landscape.surface.overlays || []).length === 1 && !app.landscape.inFlight")
    app(
        page,
        """(() => {
          const L = app.landscape; const onFrame = L.onFrame.bind(L); window.seen = [];
          L.onFrame = (run, frame) => {
            const t = run.history.plane; const before = t.lastStep;
            onFrame(run, frame);
            const p = frame && frame.eval && frame.eval.plane;
            if (run !== app.main && p && t.lastStep > before) window.seen.push({
              params: frame.params !== undefined,
              same: t.lastStep === p.step.at(-1) && t.last('a') === p.xy.at(-1)[0]
                && t.last('b') === p.xy.at(-1)[1],
            });
          };
          return true;
        })()""",
    )
    page.click("button[name=play]")
    wait_app(page, "window.seen.length >= 3")
    page.click("button[name=play]")
    seen = app(page, "window.seen")
    assert all(s["same"] and not s["params"] for s in seen), seen


def test_all_zero_start_gets_a_plane_without_help(page: Any, server: str) -> None:
    config = {"data": {"name": "moons"}, "model": {"hidden": [8], "init": "zeros"}, "loss": "bce"}
    open_app(page, server, hash_for(config))
    assert app(page, "app.main.params.every(p => p === 0)")
    assert app(page, "app.landscape.surface.mode") == "axes"  # the server's choice
    assert app(page, "app.landscape.error") is None


def test_the_lr_in_force_shows_next_to_the_base_lr(page: Any, server: str) -> None:
    open_app(page, server, hash_for({"preset": "line"}))
    hint = page.locator(".lr-now")
    assert hint.is_hidden()  # constant schedule: the base lr is the lr in force
    page.click("details.hyper summary")
    page.select_option("select[name=schedule]", "exponential")
    wait_app(page, "app.main.info.settings.schedule.name === 'exponential'")
    page.click("button[name=step10]")
    wait_app(page, "app.main.step === 10")
    page.wait_for_function(
        "() => window.gradscape.app.main.info.settings.lr < 0.09"
        " && document.querySelector('.lr-now').textContent"
        " === `now ${Number(window.gradscape.app.main.info.settings.lr.toPrecision(3))}`"
    )
    settings = session(page, server)["settings"]
    assert hint.is_visible()
    assert float(hint.inner_text().split()[1]) == pytest.approx(settings["lr"], rel=1e-2)
    assert page.locator("input.lr-box").input_value() == "0.1"  # the box keeps the base lr
