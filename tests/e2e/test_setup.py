"""The Setup column builds configs that say what the user chose: a tweak keeps the preset
and its start, another dataset leaves it (the loss follows the data's task), and the labels
say what the model really is."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.helpers import api_get, app, hash_for, open_app, session, set_number, wait_app

pytestmark = pytest.mark.e2e

#: What a config must state so that it means the same under any merge rule.
STATED = {"data", "model", "loss", "optimizer", "batch_size", "seed", "init_params"}


def created(page: Any) -> list[dict[str, Any]]:
    """Record the bodies of the page's POST /api/sessions (its configs)."""
    bodies: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            bodies.append(r.post_data_json)
            if r.method == "POST" and r.url.endswith("/api/sessions")
            else None
        ),
    )
    return bodies


def new_main(page: Any, before: str) -> None:
    wait_app(page, f"app.main.id !== {before!r} && !app.landscape.inFlight")


def test_a_tweak_keeps_the_preset_and_another_dataset_leaves_it(page: Any, server: str) -> None:
    catalog = api_get(server, "/api/catalog")
    chapter = catalog["presets"]["pass-fail"]["config"]
    sent = created(page)
    open_app(page, server)
    first = app(page, "app.main.id")

    # a tweak of the chapter's data: still the chapter, from the chapter's weights
    page.check("input[name=standardize]")
    new_main(page, first)
    tweak = sent[-1]
    assert set(tweak) >= STATED
    assert tweak["preset"] == "pass-fail"
    assert tweak["init_params"] == chapter["init_params"]
    assert tweak["data"] == {**chapter["data"], "standardize": True}
    assert page.locator(".preset.active").inner_text() == "pass-fail"
    assert page.locator("#setup select[name=init] option:checked").inner_text() == (
        "the chapter's weights"
    )

    # another dataset: no longer the preset; the loss follows the data's task
    second = app(page, "app.main.id")
    page.select_option("select[name=dataset]", "sine")
    new_main(page, second)
    moved = sent[-1]
    assert set(moved) >= STATED
    assert "preset" not in moved
    assert moved["data"]["name"] == "sine"
    assert moved["loss"] == catalog["task_losses"][catalog["datasets"]["sine"]["task"]]
    assert moved["init_params"] is None
    info = session(page, server)
    assert info["config"]["loss"] == moved["loss"]
    assert page.locator(".preset.active").count() == 0
    identity = catalog["losses"][moved["loss"]]["output"]
    assert page.locator("output[name=model-output]").inner_text() == f"{identity} output"

    # hidden layers: their activation can be chosen, and zeros no longer starts them
    third = app(page, "app.main.id")
    page.fill("input[name=hidden]", "8")
    page.locator("input[name=hidden]").dispatch_event("change")
    new_main(page, third)
    layered = sent[-1]
    assert layered["model"]["hidden"] == [8]
    assert layered["model"]["init"] != "zeros"
    assert page.locator("output[name=model-output]").count() == 0
    assert page.locator("select[name=activation]").count() == 1
    assert app(page, "new Set(app.main.params).size") > 2  # symmetry broken


def test_a_preset_with_its_own_start_says_so(page: Any, server: str) -> None:
    open_app(page, server, hash_for({"preset": "line"}))
    assert page.locator("#setup select[name=init] option:checked").inner_text() == (
        "explicit start weights"
    )
    # a change of its data's options keeps the line's start; a new seed draws new weights
    first = app(page, "app.main.id")
    start = session(page, server)["config"]["init_params"]
    set_number(page, "input[name=noise]", "0.5")
    new_main(page, first)
    info = session(page, server)
    assert info["config"]["preset"] == "line"
    assert info["config"]["init_params"] == start
    second = info["id"]
    set_number(page, "section:has(h3:text-is('Model')) input[name=seed]", "7")
    new_main(page, second)
    info = session(page, server)
    assert info["config"]["preset"] == "line" and info["config"]["seed"] == 7
    assert info["config"]["init_params"] is None
    assert page.locator("#setup select[name=init] option:checked").inner_text() != (
        "explicit start weights"
    )
