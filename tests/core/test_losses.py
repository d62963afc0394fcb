"""Losses: values, gradients and numerical stability at extreme logits."""

from __future__ import annotations

import numpy as np
import pytest

from gradscape.core.losses import (
    LOSSES,
    accuracy,
    batch_accuracy,
    bce_with_logits,
    get_loss,
    softmax_cross_entropy,
)
from tests.helpers import central_difference, rel_error


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradient_matches_central_differences(name: str) -> None:
    rng = np.random.default_rng(0)
    m = 3 if name == "cross_entropy" else 1
    z = rng.normal(size=(6, m))
    y = rng.integers(0, 2 if name == "bce" else 3, size=6).astype(float)
    loss = get_loss(name)
    value, grad = loss.value_and_grad(z, y)
    fd = central_difference(lambda flat: float(loss.value(flat.reshape(z.shape), y)), z.ravel())
    assert value == pytest.approx(float(loss.value(z, y)), rel=1e-15)
    assert rel_error(grad.ravel(), fd) < 1e-7


def test_bce_matches_the_textbook_formula() -> None:
    z = np.array([[0.3], [-1.2], [2.0]])
    y = np.array([1.0, 0.0, 0.0])
    p = 1 / (1 + np.exp(-z[:, 0]))
    naive = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert float(bce_with_logits(z, y)) == pytest.approx(naive, rel=1e-14)


def test_bce_is_stable_for_huge_logits() -> None:
    z = np.array([[1e4], [-1e4], [1e4], [-1e4]])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    value, grad = get_loss("bce").value_and_grad(z, y)
    assert np.isfinite(value)
    assert value == pytest.approx((0 + 0 + 1e4 + 1e4) / 4)
    np.testing.assert_allclose(grad[:, 0], [0, 0, 0.25, -0.25], atol=1e-300)


def test_softmax_cross_entropy_is_stable_and_correct() -> None:
    z = np.array([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]])
    y = np.array([0.0, 2.0])
    value = float(softmax_cross_entropy(z, y))
    ref = (0.0 + (np.log(np.exp(1) + np.exp(2) + np.exp(3)) - 3)) / 2
    assert value == pytest.approx(ref, rel=1e-14)
    _, grad = get_loss("cross_entropy").value_and_grad(z, y)
    assert np.isfinite(grad).all()
    np.testing.assert_allclose(grad.sum(axis=1), 0, atol=1e-15)


def test_mse_is_the_chapter_formula() -> None:
    z = np.array([[1.0], [2.0], [4.0]])
    y = np.array([0.0, 2.0, 1.0])
    assert float(get_loss("mse").value(z, y)) == pytest.approx((1 + 0 + 9) / 3)


def test_accuracy() -> None:
    z = np.array([[2.0], [-1.0], [0.5]])
    assert accuracy("bce", z, np.array([1.0, 1.0, 1.0])) == pytest.approx(2 / 3)
    assert accuracy("mse", z, np.zeros(3)) is None
    logits = np.array([[[3.0, 1.0], [0.0, 2.0]], [[0.0, 1.0], [5.0, 2.0]]])
    acc = batch_accuracy("cross_entropy", logits, np.array([0.0, 1.0]))
    assert acc is not None
    np.testing.assert_allclose(acc, [1.0, 0.0])
