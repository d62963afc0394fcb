"""Screenshots of the main views at 1280x800 into docs/.

Run ``.venv/bin/python tests/e2e/screenshots.py`` (or name some shots:
``... screenshots.py lesson_landscape lesson_optimizers``). It starts its own
``gradscape serve --db :memory:`` and Chromium, like the e2e tests.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.e2e.conftest import CHROMIUM_ARGS, VIEWPORT, find_chromium  # noqa: E402
from tests.e2e.helpers import app, hash_for, open_app, set_number, wait_app  # noqa: E402
from tests.system.server import Server  # noqa: E402

DOCS = ROOT / "docs"


def settle(page: Any, ms: int = 2500) -> None:
    """Let throttled redraws (software WebGL is slow) catch up."""
    wait_app(page, "!app.landscape.inFlight")
    page.wait_for_timeout(ms)


def run_to(page: Any, step: int) -> None:
    page.click("button[name=play]")
    wait_app(page, f"app.main.step >= {step}", timeout=120_000)
    page.click("button[name=play]")
    wait_app(page, "!app.main.playing")


def scroll_bottom(page: Any) -> None:
    page.evaluate("document.querySelector('#main').scrollTop = 1e6")


def overview(page: Any, base: str) -> None:
    open_app(page, base, hash_for({"preset": "pass-fail"}, speed=300))
    run_to(page, 900)
    settle(page)
    page.screenshot(path=DOCS / "overview.png")


def moons(page: Any, base: str) -> None:
    open_app(page, base, hash_for({"preset": "moons-mlp"}, speed=1000))
    run_to(page, 1500)
    settle(page)
    page.screenshot(path=DOCS / "moons.png")


def compare(page: Any, base: str) -> None:
    open_app(page, base, hash_for({"preset": "rosenbrock"}, zlog=1, tab="compare", speed=300))
    for opt, lr in (("sgd", "0.001"), ("adam", "0.05"), ("rmsprop", "0.01")):
        page.select_option("select[name=cmp-optimizer]", opt)
        set_number(page, "input[name=cmp-lr]", lr)
        if page.locator("input[name=cmp-momentum]").is_enabled():  # optimizers with momentum
            set_number(page, "input[name=cmp-momentum]", "0")
        n = app(page, "app.compare.length")
        page.click("button[name=cmp-add]")
        wait_app(page, f"app.compare.length === {n + 1}")
    run_to(page, 900)
    settle(page, 3000)
    page.evaluate("document.querySelector('#main').scrollTop = 0")
    page.wait_for_timeout(300)
    page.screenshot(path=DOCS / "compare.png")
    scroll_bottom(page)
    page.wait_for_timeout(500)
    page.screenshot(path=DOCS / "compare-runs.png")


def backprop(page: Any, base: str) -> None:
    open_app(page, base, hash_for({"preset": "vanishing"}, tab="backprop"))
    page.click("button[name=step10]")
    wait_app(page, "app.main.step === 10")
    page.wait_for_selector("table.chain")
    settle(page, 1500)
    scroll_bottom(page)
    page.wait_for_timeout(500)
    page.screenshot(path=DOCS / "backprop.png")


def update(page: Any, base: str) -> None:
    open_app(page, base, hash_for({"preset": "pass-fail"}, tab="epochs"))
    page.click("button[name=step1]")
    wait_app(page, "app.main.step === 1")
    page.locator("#update tr[data-name='w_study']").wait_for()
    page.fill("input[name=goto-epoch]", "1500")
    page.click("button[name=goto-epoch-go]")
    wait_app(page, "app.main.step === 1500", timeout=60_000)
    page.evaluate(
        "() => { const s = document.querySelector('input[name=scrubber]'); s.value = 1;"
        " s.dispatchEvent(new Event('input')); }"
    )
    page.wait_for_function(
        "() => document.querySelector('#update .update-head').textContent.includes('Update 1 ')"
    )
    settle(page, 1500)
    page.locator("#update").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=DOCS / "update.png")


def sweep(page: Any, base: str) -> None:
    open_app(page, base, hash_for({"preset": "moons-mlp"}, tab="backprop"))
    page.click("button[name=step10]")
    wait_app(page, "app.main.step === 10")
    page.wait_for_selector(".bp-sweep .sw-box")
    settle(page, 1500)
    page.locator(".bp-error").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=DOCS / "sweep.png")


def phone(page: Any, base: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_app(page, base, hash_for({"preset": "pass-fail"}, speed=300))
    run_to(page, 300)
    settle(page)
    page.screenshot(path=DOCS / "phone.png")
    page.click("button[name=drawer]")
    page.wait_for_timeout(600)
    page.screenshot(path=DOCS / "phone-drawer.png")


def laptop(page: Any, base: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})
    open_app(page, base, hash_for({"preset": "moons-mlp"}, speed=300))
    run_to(page, 600)
    settle(page)
    page.screenshot(path=DOCS / "laptop.png")


def curvature(page: Any, base: str) -> None:
    open_app(page, base, hash_for({"preset": "overshoot"}, tab="curvature", speed=30))
    run_to(page, 40)
    page.wait_for_function(
        "() => document.querySelector('.curv-readout').textContent.includes('λmax')"
    )
    settle(page, 2500)
    scroll_bottom(page)
    page.wait_for_timeout(500)
    page.screenshot(path=DOCS / "curvature.png")


def diverged(page: Any, base: str) -> None:
    open_app(page, base, hash_for({"preset": "line"}, speed=0))
    set_number(page, "input.lr-box", "60")
    wait_app(page, "app.main.info.settings.lr === 60")
    page.click("button[name=play]")
    wait_app(page, "app.main.status === 'diverged'")
    page.locator("#banner button[name=banner-rewind]").wait_for()
    settle(page)
    page.screenshot(path=DOCS / "diverged.png")


def branches(page: Any, base: str) -> None:
    open_app(page, base, hash_for({"preset": "overshoot"}, speed=0))
    for _ in range(4):
        page.click("button[name=step10]")
    wait_app(page, "app.main.step === 40")
    page.evaluate(
        "() => { const s = document.querySelector('input[name=scrubber]'); s.value = 6;"
        " s.dispatchEvent(new Event('input')); }"
    )
    page.click("button[name=continue-here]")
    wait_app(page, "app.branches.length === 2 && app.main.step === 6")
    page.locator("input.lr-box").fill("0.05")
    page.locator("input.lr-box").dispatch_event("change")
    wait_app(page, "app.main.info.settings.lr === 0.05")
    for _ in range(3):
        page.click("button[name=step10]")
    wait_app(page, "app.main.step === 36")
    page.click("#branches li[data-branch='0'] button[name=branch-compare]")
    wait_app(page, "app.compare.length === 1")
    wait_app(page, "(app.landscape.surface.overlays || []).length === 1 && !app.landscape.inFlight")
    page.evaluate(
        "() => { const s = document.querySelector('input[name=scrubber]'); s.value = 20;"
        " s.dispatchEvent(new Event('input')); }"
    )
    settle(page)
    page.screenshot(path=DOCS / "branches.png")


def lesson_at(page: Any, base: str, k: int, choice: str) -> None:
    """Stop ``k`` of the guided lesson, predicted (``choice``), run and answered."""
    page.goto(f"{base}/#lesson={k}")
    wait_app(page, f"app.main && app.store.state.lesson === {k} && app.landscape.surface")
    page.click(f"#lesson .choice[data-choice='{choice}']")
    page.click("button[name=lesson-run]")
    page.wait_for_function("() => document.querySelector('.lesson-answer').dataset.answer")
    settle(page)


def lesson_landscape(page: Any, base: str) -> None:
    lesson_at(page, base, 2, "down")
    page.screenshot(path=DOCS / "lesson-landscape.png")


def lesson_optimizers(page: Any, base: str) -> None:
    lesson_at(page, base, 14, "some")
    page.screenshot(path=DOCS / "lesson-optimizers.png")


def lesson_handout(page: Any, base: str) -> None:
    lesson_at(page, base, 5, "bounce")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.wait_for_timeout(1500)
    page.screenshot(path=DOCS / "lesson-handout.png")


def main() -> int:
    from playwright.sync_api import sync_playwright

    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found (set GRADSCAPE_CHROMIUM)", file=sys.stderr)
        return 1
    DOCS.mkdir(exist_ok=True)
    server = Server(":memory:").start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            shots = (
                overview,
                moons,
                compare,
                backprop,
                curvature,
                diverged,
                branches,
                update,
                sweep,
                phone,
                laptop,
                lesson_landscape,
                lesson_optimizers,
                lesson_handout,
            )
            wanted = set(sys.argv[1:])
            for shot in shots:
                if wanted and shot.__name__ not in wanted:
                    continue
                ctx = browser.new_context(viewport=VIEWPORT)
                shot(ctx.new_page(), server.url)
                ctx.close()
                print(f"docs/{shot.__name__}…")
            browser.close()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
