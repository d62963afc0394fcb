"""Every screen, every user: a phone, a small laptop, touch, the keyboard and axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.helpers import app, hash_for, open_app, set_number, wait_app

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 720}


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A 390x844 touch screen, recording page errors like the ``page`` fixture."""
    ctx = browser.new_context(viewport=PHONE, has_touch=True)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield pg
    ctx.close()
    assert errors == []


def serious(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def test_a_phone_gets_one_column_and_a_drawer(phone: Any, server: str) -> None:
    open_app(phone, server)
    m = phone.evaluate(
        """() => ({sw: document.documentElement.scrollWidth, iw: innerWidth,
          cards: [...document.querySelectorAll('.grid .card')]
            .map(c => c.getBoundingClientRect().width),
          text: [...document.querySelectorAll('#main p, #main .caption, #main .note')]
            .filter(e => e.offsetParent && e.textContent.trim().length > 20)
            .map(e => e.getBoundingClientRect().width)})"""
    )
    assert m["sw"] <= m["iw"]  # nothing overflows sideways
    assert min(m["cards"]) >= 300  # every plot card full width
    assert min(m["text"]) >= 200  # no text wrapped a word per line
    side = "document.querySelector('#side').getBoundingClientRect()"
    assert phone.evaluate(f"() => {side}.right") <= 0  # the settings are tucked away
    phone.click("button[name=drawer]")
    phone.wait_for_function(f"() => {side}.left >= 0")
    assert phone.locator("button[name=drawer]").get_attribute("aria-expanded") == "true"
    assert serious(phone) == []  # the open drawer too
    phone.keyboard.press("Escape")
    phone.wait_for_function(f"() => {side}.right <= 0")
    assert phone.locator("button[name=drawer]").get_attribute("aria-expanded") == "false"


def test_a_small_laptop_shows_the_landscape_and_the_controls_at_once(
    browser: Any, server: str
) -> None:
    ctx = browser.new_context(viewport=LAPTOP)
    try:
        page = ctx.new_page()
        open_app(page, server)
        for sel in ("#training", "#card-surface", "#card-contour"):
            box = page.locator(sel).bounding_box()
            assert box["y"] + box["height"] <= LAPTOP["height"], sel
    finally:
        ctx.close()


def _touch_drag(page: Any, x0: float, y0: float, x1: float, y1: float) -> None:
    """One finger from (x0, y0) to (x1, y1), as the touch screen sends it."""
    cdp = page.context.new_cdp_session(page)

    def send(kind: str, points: list[dict[str, float]]) -> None:
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    def next_frames() -> None:
        # A finger moves over time: a move the page has not drawn a frame since is one
        # Plotly's 3-D camera may not have applied yet (it turns the view on frames).
        page.evaluate(
            "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
        )

    send("touchStart", [{"x": x0, "y": y0}])
    next_frames()
    for t in (0.2, 0.4, 0.6, 0.8, 1.0):
        send("touchMove", [{"x": x0 + t * (x1 - x0), "y": y0 + t * (y1 - y0)}])
        next_frames()
    send("touchEnd", [])


def test_touch_previews_on_the_slider_and_turns_the_surface(phone: Any, server: str) -> None:
    open_app(phone, server)
    phone.click("button[name=step10]")
    wait_app(phone, "app.main.step === 10")
    box = phone.locator("input[name=scrubber]").bounding_box()
    y = box["y"] + box["height"] / 2
    _touch_drag(phone, box["x"] + box["width"] - 2, y, box["x"] + box["width"] * 0.3, y)
    wait_app(phone, "app.view.preview !== null && app.view.preview < 10")
    assert app(phone, "app.main.step") == 10  # a preview, nothing deleted
    scene = "document.querySelector('#plot-surface')._fullLayout.scene._scene"
    eye = f"JSON.stringify({scene}.getCamera().eye)"
    before = phone.evaluate(f"() => {eye}")
    plot = phone.locator("#plot-surface").bounding_box()
    cx, cy = plot["x"] + plot["width"] / 2, plot["y"] + plot["height"] * 0.6
    _touch_drag(phone, cx, cy, cx + 120, cy + 10)
    phone.wait_for_function(f"(b) => {eye} !== b", arg=before)


def test_space_on_a_focused_button_presses_that_button(page: Any, server: str) -> None:
    open_app(page, server)
    page.focus("button[name=step1]")
    page.keyboard.press("Space")
    wait_app(page, "app.main.step === 1")
    assert app(page, "app.playing") is False  # it did not toggle play
    page.focus("input[name=scrubber]")
    page.keyboard.press("ArrowLeft")  # the slider's own key: previews step 0
    wait_app(page, "app.view.preview === 0")
    assert app(page, "app.main.step") == 1


def test_no_serious_accessibility_violation_on_any_view(page: Any, server: str) -> None:
    open_app(page, server)
    assert serious(page) == []
    for tab in ("backprop", "curvature", "epochs", "export"):
        page.click(f"button[name=tab-{tab}]")
        page.wait_for_timeout(800)
        assert serious(page) == [], tab
    page.click("button[name=tab-compare]")
    for lr in ("0.3", "0.03"):
        page.fill("input[name=cmp-lr]", lr)
        n = app(page, "app.compare.length")
        page.click("button[name=cmp-add]")
        wait_app(page, f"app.compare.length === {n + 1}")
    assert serious(page) == [], "compare with two runs"
    open_app(page, server, hash_for({"preset": "line"}, speed=0))
    set_number(page, "input.lr-box", "60")
    wait_app(page, "app.main.info.settings.lr === 60")
    page.click("button[name=play]")
    page.locator("#banner button[name=banner-rewind]").wait_for()
    assert serious(page) == [], "the divergence banner"
    # Plotly's mode bars are labelled and out of the Tab order
    assert page.evaluate(
        "() => [...document.querySelectorAll('.modebar-btn')].every(b =>"
        " b.getAttribute('tabindex') === '-1' && b.getAttribute('aria-label'))"
    )


def test_a_deep_net_on_a_phone_keeps_its_scrolling_panels_reachable(
    phone: Any, server: str
) -> None:
    # a deep net's layer cards, backward sweep and weight-by-weight update are wider than
    # a phone: each scrolls sideways, so each takes focus (arrow keys scroll it), WCAG 2.1.1
    open_app(phone, server, hash_for({"preset": "vanishing"}))
    phone.click("button[name=step1]")
    wait_app(phone, "app.main.step === 1")
    phone.click("button[name=tab-backprop]")
    phone.locator(".bp-layers").wait_for()
    phone.locator(".update-body").first.wait_for()
    assert serious(phone) == []
    wide = phone.evaluate(
        """() => [...document.querySelectorAll('.bp-layers, .bp-sweep, .update-body')]
          .filter(e => e.scrollWidth > e.clientWidth)
          .map(e => [e.className, e.tabIndex, e.getAttribute('aria-label')])"""
    )
    assert wide and all(t == 0 and label for _, t, label in wide), wide
