"""The chapter's numbers on the page, against the chapter's own loop run inside the test:
the update inspector, error = pred - y, epochs and the checkpoint table, losses compared
from one start, code to take away."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.e2e.helpers import api_get, app, open_app, wait_app

pytestmark = pytest.mark.e2e


def chapter_loop(epochs: int) -> list[dict[str, Any]]:
    """The seed chapter's NumPy loop, recording each epoch's loss, weights and gradients."""
    X = np.array([[5, 7], [3, 4], [8, 6], [2, 3]], dtype=float)
    y = np.array([1, 0, 1, 0], dtype=float)
    np.random.seed(42)  # noqa: NPY002 (the chapter's own call)
    weights = np.random.randn(2)  # noqa: NPY002
    bias = 0.0
    learning_rate = 0.1
    out = []
    for _epoch in range(epochs):
        z = X @ weights + bias
        pred = 1 / (1 + np.exp(-z))
        loss = -np.mean(y * np.log(pred + 1e-9) + (1 - y) * np.log(1 - pred + 1e-9))
        error = pred - y
        grad_w = X.T @ error / len(X)
        grad_b = np.mean(error)
        before = [*weights, bias]
        weights = weights - learning_rate * grad_w
        bias -= learning_rate * grad_b
        out.append(
            {"loss": loss, "before": before, "grad": [*grad_w, grad_b],
             "after": [*weights, bias], "pred": pred, "y": y, "error": error}
        )  # fmt: skip
    return out


def _cell(page: Any, name: str, column: int) -> float:
    """The full-precision number in the update table's row ``name``, column ``column``."""
    sel = f"#update tr[data-name='{name}'] td:nth-of-type({column})"
    return float(page.locator(sel).get_attribute("title"))


def test_the_update_inspector_reads_the_chapters_numbers(page: Any, server: str) -> None:
    loop = chapter_loop(501)
    open_app(page, server)
    page.click("button[name=step1]")
    wait_app(page, "app.main.step === 1")
    page.locator("#update tr[data-name='w_study']").wait_for()
    first = loop[0]
    for i, name in enumerate(["w_study", "w_sleep", "bias"]):
        assert abs(_cell(page, name, 1) - first["before"][i]) < 1e-12
        assert abs(_cell(page, name, 2) - first["grad"][i]) < 1e-12
        assert abs(_cell(page, name, 5) - first["after"][i]) < 1e-12
    row = page.locator("#update tr[data-name='w_study']").inner_text()
    assert "0.4967" in row and "0.5515" in row and "0.4416" in row  # as the chapter prints
    # 500 epochs on (full batch: one update each), then the update of epoch 500
    page.click("button[name=tab-epochs]")
    page.fill("input[name=run-epochs]", "500")
    page.click("button[name=run-epochs-go]")
    wait_app(page, "app.main.step === 501", timeout=60_000)
    page.wait_for_function(
        "() => document.querySelector('#update .update-head').textContent.includes('Update 501')"
    )
    last = loop[500]
    for i, name in enumerate(["w_study", "w_sleep", "bias"]):
        assert abs(_cell(page, name, 1) - last["before"][i]) < 1e-12
        assert abs(_cell(page, name, 5) - last["after"][i]) < 1e-12


def test_backprop_shows_error_equals_pred_minus_y(page: Any, server: str) -> None:
    loop = chapter_loop(1)
    open_app(page, server)
    page.click("button[name=step1]")
    wait_app(page, "app.main.step === 1")
    page.click("button[name=tab-backprop]")
    table = page.locator(".bp-error table")
    table.wait_for()
    assert "pred − y" in page.locator(".bp-error").inner_text()
    rows = table.locator("tbody tr")
    assert rows.count() == 4
    for s in range(4):
        cells = rows.nth(s).locator("td").all_inner_texts()
        assert float(cells[1]) == pytest.approx(loop[0]["pred"][s], abs=1e-4)
        assert float(cells[3]) == pytest.approx(loop[0]["error"][s], abs=1e-4)
    assert page.locator(".bp-sweep .sw-box").count() == 2  # the loss and the one layer
    assert "dL/db" in page.locator(".bias-row").inner_text()


def test_epoch_controls_fill_the_chapters_checkpoint_table(page: Any, server: str) -> None:
    loop = chapter_loop(1501)
    open_app(page, server)
    page.click("button[name=tab-epochs]")
    page.fill("input[name=goto-epoch]", "1500")
    page.click("button[name=goto-epoch-go]")
    wait_app(page, "app.main.step === 1500", timeout=60_000)
    for e in (0, 500, 1000, 1500):
        sel = f".checkpoints tr[data-epoch='{e}'] td.loss4"
        cell = page.locator(sel)
        page.wait_for_function(
            "(s) => { const c = document.querySelector(s);"
            " return c && c.textContent !== 'not reached'; }",
            arg=sel,
        )
        assert cell.inner_text() == f"{loop[e]['loss']:.4f}"
    # going back to an epoch previews it: nothing is deleted
    page.fill("input[name=goto-epoch]", "500")
    page.click("button[name=goto-epoch-go]")
    wait_app(page, "app.view.preview === 500")
    assert api_get(server, f"/api/sessions/{app(page, 'app.main.id')}")["step"] == 1500


def test_losses_compared_from_the_chapters_start(page: Any, server: str) -> None:
    open_app(page, server)
    page.click("button[name=tab-compare]")
    page.click("button[name=compare-losses]")
    wait_app(page, "app.compare.length === 1")
    page.locator(".loss-pair figure").nth(1).wait_for()
    main = api_get(server, f"/api/sessions/{app(page, 'app.main.id')}")
    other = api_get(server, f"/api/sessions/{app(page, 'app.compare[0].id')}")
    assert main["config"]["loss"] == "bce" and other["config"]["loss"] == "mse"
    assert other["config"]["model"]["output"] == "sigmoid"
    assert other["config"]["init_params"] == main["config"]["init_params"]  # one start
    text = page.locator(".loss-pair").inner_text()
    assert "Steep walls" in text and "Flat tails" in text


def test_code_to_take_away(page: Any, server: str) -> None:
    open_app(page, server)
    page.click("button[name=tab-export]")
    page.click("button[name=code-numpy]")
    page.wait_for_function("() => document.querySelector('textarea.code').value.length > 100")
    code = page.locator("textarea.code").input_value()
    assert "error = pred - y" in code
    compile(code, "snippet.py", "exec")
    page.click("button[name=code-keras]")
    page.wait_for_function("() => document.querySelector('textarea.code').value.includes('fit(')")
    assert "model.compile(" in page.locator("textarea.code").input_value()
