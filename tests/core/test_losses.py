"""Losses: values, gradients and numerical stability at extreme logits."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gradscape.core.losses import (
    LOSSES,
    OUTPUTS,
    accuracy,
    batch_accuracy,
    bce_with_logits,
    get_loss,
    output_options,
    softmax_cross_entropy,
)
from tests.helpers import central_difference, rel_error, require_torch


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


def test_mse_of_a_sigmoid_output_gradient_matches_central_differences() -> None:
    rng = np.random.default_rng(4)
    z = rng.normal(scale=2.0, size=(9, 1))
    y = rng.random(9)  # targets in [0, 1], not only 0/1
    loss = get_loss("mse", "sigmoid")
    value, grad = loss.value_and_grad(z, y)
    fd = central_difference(lambda flat: float(loss.value(flat.reshape(z.shape), y)), z.ravel())
    p = 1 / (1 + np.exp(-z[:, 0]))
    assert value == pytest.approx(np.mean((p - y) ** 2), rel=1e-14)
    assert rel_error(grad.ravel(), fd) < 1e-7
    # dL/dz = 2 (pred - y) pred (1 - pred) / n: the error times the sigmoid's slope.
    np.testing.assert_allclose(grad[:, 0], 2 * (p - y) * p * (1 - p) / 9, rtol=1e-13)


def test_mse_of_a_sigmoid_output_matches_torch_autograd() -> None:
    torch = require_torch()
    rng = np.random.default_rng(5)
    z = rng.normal(scale=3.0, size=(12, 1))
    y = (rng.random(12) > 0.5).astype(float)
    value, grad = get_loss("mse", "sigmoid").value_and_grad(z, y)
    t = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.mse_loss(torch.sigmoid(t[:, 0]), torch.tensor(y))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-13)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_mse_of_a_sigmoid_output_vanishes_in_the_flat_tails_without_warnings() -> None:
    z = np.array([[-1e4], [1e4], [-40.0], [0.0]])
    y = np.array([1.0, 0.0, 1.0, 1.0])
    value, grad = get_loss("mse", "sigmoid").value_and_grad(z, y)
    assert value == pytest.approx((1 + 1 + 1 + 0.25) / 4)
    # Confidently wrong, yet almost no gradient (cross-entropy's would be -1/4 and 1/4).
    assert np.abs(grad[:3]).max() < 1e-16 and grad[3, 0] == pytest.approx(-0.0625)
    assert float(get_loss("mse", "sigmoid").value(z[None].astype(np.float32), y)[0]) > 0.8


def test_output_choices_belong_to_mse_only() -> None:
    assert output_options("mse") == ["identity", "sigmoid"] == list(OUTPUTS["mse"])
    assert output_options("bce") == output_options("cross_entropy") == []
    assert get_loss("mse", "identity") is get_loss("mse") is LOSSES["mse"]
    assert get_loss("mse", "sigmoid").output_activation == "sigmoid"
    with pytest.raises(ValueError, match=r"^model\.output: only loss 'mse'.*fixed \(sigmoid\)"):
        get_loss("bce", "sigmoid")
    with pytest.raises(ValueError, match=r"^model\.output: only loss 'mse'.*fixed \(softmax\)"):
        get_loss("cross_entropy", "identity")
    with pytest.raises(ValueError, match=r"^model\.output: must be one of identity, sigmoid"):
        get_loss("mse", "softmax")
    z = np.array([[2.0], [-1.0], [0.5]])
    assert accuracy("sigmoid", z, np.array([1.0, 1.0, 1.0])) == pytest.approx(2 / 3)
    assert accuracy("identity", z, np.ones(3)) is None


def test_accuracy_is_argmax_for_softmax_and_a_positive_logit_for_sigmoid() -> None:
    """References: the class of largest logit (softmax), and sklearn's decision rule for a
    sigmoid (class 1 only when the logit is > 0, so a logit of exactly 0 is class 0)."""
    rng = np.random.default_rng(8)
    z = rng.normal(size=(50, 4))
    y = rng.integers(0, 4, size=50).astype(float)
    want = np.count_nonzero([np.argmax(row) == label for row, label in zip(z, y, strict=True)])
    assert accuracy("cross_entropy", z, y) == want / 50
    assert accuracy("softmax", z, y) == want / 50
    edge = np.array([[0.0], [1e-300], [-1e-300], [0.0]])
    assert accuracy("bce", edge, np.array([0.0, 1.0, 0.0, 1.0])) == 0.75
    assert accuracy("sigmoid", edge, np.array([1.0, 1.0, 1.0, 1.0])) == 0.25
    # a sigmoid output's targets may be any value in [0, 1] (mse): one of exactly 0.5 is
    # class 0, as a logit of exactly 0 is (class 1 only strictly above the midpoint)
    assert accuracy("sigmoid", np.array([[-1.0], [1.0]]), np.array([0.5, 0.5])) == 0.5


def test_an_unknown_loss_is_refused_with_every_known_one() -> None:
    want = "loss: unknown loss 'hinge'; known: mse, bce, cross_entropy"
    with pytest.raises(ValueError, match=f"^{re.escape(want)}$"):
        get_loss("hinge")


def test_batch_accuracy_puts_a_zero_logit_and_a_target_of_one_half_in_class_0() -> None:
    """The same rule as ``accuracy`` (sklearn's): class 1 only for a logit > 0 and a target
    > 0.5. Two parameter vectors on four samples; by hand, row 1: logits [0, 1e-300, -1,
    0] against classes [0, 1, 0, 0] is 4/4 right; row 2: [1, 0, 0, 2] is 1/4 right."""
    z = np.array([[[0.0], [1e-300], [-1.0], [0.0]], [[1.0], [0.0], [0.0], [2.0]]])
    y = np.array([0.0, 1.0, 0.5, 0.5])
    for kind in ("bce", "sigmoid"):
        acc = batch_accuracy(kind, z, y)
        assert acc is not None
        np.testing.assert_array_equal(acc, [1.0, 0.25])


def test_accuracy_puts_a_target_of_one_half_in_class_0() -> None:
    """Two negative logits (class 0) on targets of exactly 0.5 (class 0, as > 0.5 is class 1):
    both right."""
    assert accuracy("sigmoid", np.array([[-1.0], [-2.0]]), np.array([0.5, 0.5])) == 1.0


def test_accuracy_reads_a_label_by_its_integer_part_as_cross_entropy_does() -> None:
    """Cross-entropy picks class int(y) (``astype(np.intp)``), so a label of 1.5 is class 1
    for accuracy too: the argmax 1 of [0, 1] counts as right."""
    assert accuracy("softmax", np.array([[0.0, 1.0]]), np.array([1.5])) == 1.0
    acc = batch_accuracy("softmax", np.array([[[0.0, 1.0]]]), np.array([1.5]))
    assert acc is not None
    np.testing.assert_array_equal(acc, [1.0])
