"""Divergence recovery in a real browser: rewind to where the loss began to climb, keep
the settings typed meanwhile, and offer the fix that fits the cause with its number."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import (
    api_get,
    app,
    hash_for,
    open_app,
    session,
    set_number,
    step_until_diverged,
    wait_app,
)

pytestmark = pytest.mark.e2e


def test_a_too_large_lr_recovers_with_the_lr_typed_while_diverged(page: Any, server: str) -> None:
    open_app(page, server, hash_for({"preset": "line"}, speed=0))
    set_number(page, "input.lr-box", "5")
    wait_app(page, "app.main.info.settings.lr === 5")
    page.click("button[name=play]")
    wait_app(page, "app.main.status === 'diverged'")
    banner = page.locator("#banner")
    page.locator("#banner button[name=banner-rewind]").wait_for(state="visible")
    # Step on a diverged run says why it does nothing
    page.click("button[name=step1]")
    toast = "document.querySelector('#toast').textContent"
    page.wait_for_function(f"() => {toast}.includes('diverged')")
    plan = api_get(server, f"/api/sessions/{app(page, 'app.main.id')}/recovery")
    assert plan["cause"] == "learning_rate" and plan["lr_limit"] > 0
    assert plan["fix"]["lr"] < plan["lr_limit"]  # the fix is below 2 / lambda_max
    text = banner.inner_text()  # the evidence, with its numbers
    assert "2 / lambda_max" in text and f"{plan['lr_limit']:.3g}" in text
    # the student types lr 0.1 while the run is diverged: it waits for the rewind
    set_number(page, "input.lr-box", "0.1")
    page.locator("#banner button[name=banner-rewind]", has_text="lr 0.1").wait_for()
    page.click("#banner button[name=banner-rewind]")
    k = plan["rewind_to"]
    wait_app(page, f"app.main.status === 'paused' && app.main.step === {k}")
    wait_app(page, "app.main.info.settings.lr === 0.1")
    assert banner.is_hidden()
    page.click("button[name=step10]")
    wait_app(page, f"app.main.step === {k + 10}")
    info = session(page, server)
    assert info["settings"]["lr"] == 0.1 and info["status"] == "paused"
    assert info["loss"] < plan["loss_at"]  # below the loss before the climb


def test_exploding_gradients_are_offered_clipping_and_one_click_makes_the_run_finite(
    page: Any, server: str
) -> None:
    open_app(page, server, hash_for({"preset": "exploding"}))
    step_until_diverged(page)
    fix = page.locator("#banner button[name=banner-fix]")
    fix.wait_for(state="visible")
    assert "clip at" in fix.inner_text()
    plan = api_get(server, f"/api/sessions/{app(page, 'app.main.id')}/recovery")
    assert plan["cause"] == "exploding_gradients" and plan["fix"]["clip_norm"] > 0
    fix.click()
    wait_app(page, f"app.main.step === {plan['rewind_to']} && app.main.status === 'paused'")
    wait_app(page, f"app.main.info.settings.clip_norm === {plan['fix']['clip_norm']}")
    for n in range(1, 4):
        page.click("button[name=step10]")
        wait_app(page, f"app.main.step === {plan['rewind_to'] + 10 * n}")
    info = session(page, server)
    assert info["status"] == "paused" and info["loss"] is not None
