"""The guided lesson in a real browser: every stop from its deep link, its one-page printed
handout, answers that follow the run (a changed config flips each one), the keyboard,
progress across a reload, free play and back, a teacher's link, a phone and axe-core."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

import pytest

from gradscape.service.lesson import lesson_stops
from tests.e2e.helpers import app, wait_app
from tests.e2e.test_screens import PHONE

pytestmark = pytest.mark.e2e

STOPS = lesson_stops()

#: Per stop: the answer its own config gives, and a config where the other answer is right.
#: The page is never told these: it reads them from the run.
FLIPS: dict[int, tuple[str, dict[str, Any], str]] = {
    1: ("down", {"preset": "pass-fail", "loss": "mse"}, "blowup"),  # identity output: diverges
    2: ("up", {"preset": "line", "init_params": [3.0, 2.0]}, "down"),  # start past the bottom
    3: ("down", {"preset": "pass-fail", "init_params": [-1.0, -1.0, 0.0]}, "up"),
    4: ("some", {"preset": "crawl", "optimizer": {"lr": 0.1}}, "most"),
    5: ("blowup", {"preset": "overshoot", "optimizer": {"lr": 0.3}}, "down"),  # below 2 / λmax
    6: ("lower", {"preset": "pass-fail", "optimizer": {"lr": 5.0}}, "higher"),
    7: ("tiny", {"preset": "pass-fail", "loss": "mse", "model": {"output": "sigmoid"}}, "sizeable"),
    8: ("last", {"preset": "vanishing", "model": {"activation": "tanh"}}, "first"),
    9: ("some", {"preset": "minibatch-noise", "batch_size": None}, "every"),  # full batch
    10: ("all", {"preset": "pass-fail", "optimizer": {"lr": 0.001}}, "not_all"),
    11: ("failed", {"preset": "pass-fail", "init_params": [-0.5, 0.1, 0.0]}, "passed"),
    12: ("2", {"preset": "pass-fail", "batch_size": 1}, "4"),
    13: (
        "not_all",
        {"data": {"name": "blobs", "n_samples": 100, "classes": 2}, "model": {"hidden": []}},
        "all",
    ),
    14: ("most", {"preset": "rosenbrock", "optimizer": {"momentum": 0.0}}, "some"),
}

LESSON_READY = """(k) => {
  const g = window.gradscape;
  return Boolean(g && g.app.main && g.app.store.state.lesson === k
    && document.querySelector('#lesson h2') && !document.querySelector('#lesson').hidden);
}"""


def serious_in(page: Any, selector: str) -> list[str]:
    """axe-core's serious and critical violations inside ``selector``."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, context=selector).response["violations"]
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in ("serious", "critical")
    ]


def open_stop(page: Any, base: str, k: int, config: dict[str, Any] | None = None) -> None:
    """Load the page at stop ``k`` (optionally a teacher's link with ``config``)."""
    q = {"lesson": str(k), "res": "21"}  # a coarse surface: the lesson is not about its detail
    if config is not None:
        q["config"] = json.dumps(config)
    page.goto(f"{base}/#{urllib.parse.urlencode(q)}")
    page.wait_for_function(LESSON_READY, arg=k, timeout=60_000)


def answer_of(page: Any) -> str:
    """Predict the first choice, run the stop, and return the answer the page read."""
    page.locator("#lesson .choice").first.click()
    run = page.locator("button[name=lesson-run]")
    if run.is_enabled():
        run.click()
    page.wait_for_function(
        "() => document.querySelector('.lesson-answer').dataset.answer !== ''", timeout=60_000
    )
    return str(page.locator(".lesson-answer").get_attribute("data-answer"))


def main_id(page: Any) -> str:
    return str(app(page, "app.main.id"))


@pytest.mark.parametrize("k", [s["number"] for s in STOPS])
def test_each_stop_from_its_link_and_its_answer_follows_the_run(
    page: Any, server: str, k: int
) -> None:
    stop = STOPS[k - 1]
    expected, flipped_config, flipped = FLIPS[k]
    open_stop(page, server, k)
    panel = page.locator("#lesson")
    assert stop["idea"] in panel.locator("h2").inner_text()
    assert stop["text"] in panel.inner_text() and stop["question"] in panel.inner_text()
    # the stop's view is outlined (and a tab opened when the view is one)
    focused = page.locator(".lesson-focus")
    assert focused.count() == 1
    fid = focused.get_attribute("id")
    view = stop["view"]
    if fid == "lower":
        assert page.locator(f"[name=tab-{view}]").get_attribute("class") == "active"
    else:
        assert fid in (f"card-{view}", view)
    # the run is the stop's config, made through the ordinary create
    cfg = app(page, "app.main.info.config")
    if "preset" in stop["config"]:
        assert cfg["preset"] == stop["config"]["preset"]
    assert page.locator("button[name=lesson-run]").is_disabled()  # predict first
    got = answer_of(page)
    assert got == expected
    because = page.locator(".lesson-because").inner_text()
    assert re.search(r"\d", because), because  # quoted from the run's numbers
    # printed, the stop is a one-page handout: its text, question, answer and view alone
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    assert len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf)) == 1
    page.emulate_media(media="print")
    assert page.locator("#side").is_hidden() and page.locator(".lesson-nav").is_hidden()
    assert page.locator(".lesson-answer").is_visible() and focused.is_visible()
    assert page.locator("#grid > .card:not(.lesson-focus)").evaluate_all(
        "cards => cards.every(c => c.offsetParent === null)"
    )
    page.emulate_media(media="screen")
    # a teacher's variant where the other answer is right: the page's answer follows
    link = urllib.parse.urlencode(
        {"lesson": str(k), "config": json.dumps(flipped_config), "res": "21"}
    )
    before = main_id(page)
    page.evaluate("(h) => { location.hash = h; }", link)
    wait_app(page, f"app.main.id !== {json.dumps(before)} && app.main.step === 0")
    assert answer_of(page) == flipped
    assert page.locator(".lesson-because").inner_text() != because


def test_keyboard_moves_between_stops_but_not_from_a_control(page: Any, server: str) -> None:
    open_stop(page, server, 2)
    page.locator("#lesson h2").focus()
    page.keyboard.press("]")
    page.wait_for_function(LESSON_READY, arg=3)
    wait_app(page, "app.main.info.config.preset === 'pass-fail'")
    assert "lesson=3" in page.evaluate("location.hash")
    page.keyboard.press("[")
    page.wait_for_function(LESSON_READY, arg=2)
    # a focused button keeps the key to itself
    page.locator("#lesson .choice").first.focus()
    page.keyboard.press("]")
    page.wait_for_timeout(300)
    assert app(page, "app.store.state.lesson") == 2
    page.click("button[name=lesson-next]")
    page.wait_for_function(LESSON_READY, arg=3)
    assert page.evaluate("document.activeElement.id") == "lesson-title"  # focus follows


def test_progress_and_the_run_survive_a_reload(page: Any, server: str) -> None:
    open_stop(page, server, 3)
    page.locator("#lesson .choice[data-choice=up]").click()
    page.click("button[name=lesson-run]")
    page.wait_for_function("() => document.querySelector('.lesson-answer').dataset.answer")
    run = main_id(page)
    page.reload()
    page.wait_for_function(LESSON_READY, arg=3)
    assert main_id(page) == run  # the stop's run is kept
    assert page.locator(".choice[data-choice=up]").get_attribute("aria-pressed") == "true"
    page.wait_for_function("() => document.querySelector('.lesson-answer').dataset.answer")
    assert page.locator(".lesson-answer").get_attribute("data-answer") == "down"
    assert "wrong" in str(page.locator("button[name=lesson-stop-3]").get_attribute("class"))
    assert "new" in str(page.locator("button[name=lesson-stop-5]").get_attribute("class"))


def test_free_play_and_back_keep_the_stops_run(page: Any, server: str) -> None:
    open_stop(page, server, 4)
    answer_of(page)
    run = main_id(page)
    page.click("button[name=lesson-leave]")
    page.wait_for_function("() => document.querySelector('#lesson').hidden")
    assert "lesson=" not in page.evaluate("location.hash")
    assert main_id(page) == run and app(page, "app.main.step") == 100
    assert page.locator(".lesson-focus").count() == 0
    page.click("button[name=lesson-start]")
    page.wait_for_function(LESSON_READY, arg=4)
    assert main_id(page) == run
    page.wait_for_function("() => document.querySelector('.lesson-answer').dataset.answer")


def test_a_teachers_link_and_a_bad_one(page: Any, server: str) -> None:
    open_stop(page, server, 5, {"preset": "overshoot", "optimizer": {"lr": 0.3}})
    assert app(page, "app.main.info.settings.lr") == 0.3
    page.locator("#lesson .choice").first.click()
    link = page.evaluate("window.gradscape.app.lesson.teacherLink()")
    q = urllib.parse.parse_qs(urllib.parse.urlparse(link).fragment)
    assert q["lesson"] == ["5"] and json.loads(q["config"][0])["optimizer"]["lr"] == 0.3
    # a config the server refuses: the page's usual message, the stop still shown
    open_stop(page, server, 2, {"preset": "no-such-preset"})
    page.wait_for_function("() => !document.querySelector('#toast').hidden")
    assert "preset" in page.locator("#toast").inner_text()
    page.errors[:] = [e for e in page.errors if "422" not in e]  # the refused create's log line


def test_watching_it_play_stops_at_the_stop_and_answers(page: Any, server: str) -> None:
    open_stop(page, server, 6)
    assert page.locator("button[name=lesson-watch]").is_disabled()  # predict first
    page.locator("#lesson .choice[data-choice=higher]").click()
    page.click("button[name=lesson-watch]")
    page.wait_for_function("() => document.querySelector('.lesson-answer').dataset.answer")
    assert page.locator(".lesson-answer").get_attribute("data-answer") == "lower"
    wait_app(page, "!app.playing")
    assert "wrong" in str(page.locator(".lesson-answer").get_attribute("class"))


def test_the_lesson_is_axe_clean_and_fits_a_phone(browser: Any, server: str) -> None:
    ctx = browser.new_context(viewport=PHONE, has_touch=True)
    try:
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        open_stop(pg, server, 8)
        answer_of(pg)
        m = pg.evaluate(
            """() => ({sw: document.documentElement.scrollWidth, iw: innerWidth,
              panel: document.querySelector('#lesson').getBoundingClientRect().width})"""
        )
        assert m["sw"] <= m["iw"] and m["panel"] >= 350  # full width, nothing sideways
        assert serious_in(pg, "#lesson") == []
        pg.click("button[name=lesson-leave]")
        pg.click("button[name=drawer]")  # free play: the way back is in the settings drawer
        pg.locator("button[name=lesson-start]").wait_for()
        assert serious_in(pg, "#side") == []
        assert errors == []
    finally:
        ctx.close()
