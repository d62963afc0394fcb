"""The backward sweep laid out: the output error against the chapter's ``pred - y`` and
central differences, and each layer's delta passed down as the layer below's dL/da."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from gradscape.core.backprop import PAIRINGS, trace
from gradscape.core.losses import LOSSES, OUTPUTS
from gradscape.core.nn import MLP
from gradscape.core.session import TrainingSession
from tests.chapter_loop import chapter_loop
from tests.helpers import central_difference, rel_error

PAIRS: dict[str, dict[str, Any]] = {
    "sigmoid-bce": {"preset": "pass-fail"},
    "sigmoid-mse": {"preset": "pass-fail", "loss": "mse", "model": {"output": "sigmoid"}},
    "identity-mse": {"preset": "line"},
    "softmax-ce": {
        "data": {"name": "blobs", "n_samples": 30},
        "model": {"hidden": [5], "activation": "tanh"},
        "loss": "cross_entropy",
    },
}


def test_every_output_and_loss_pair_has_a_rule() -> None:
    pairs = {(loss.output_activation, name) for name, loss in LOSSES.items()}
    pairs |= {(loss.output_activation, name) for name, c in OUTPUTS.items() for loss in c.values()}
    assert set(PAIRINGS) == pairs
    assert PAIRINGS[("sigmoid", "bce")].rule == "dL/dz = pred - y"
    assert "vanishes" in PAIRINGS[("sigmoid", "mse")].why


def test_pass_fail_error_is_the_chapters_pred_minus_y() -> None:
    loop = chapter_loop(3)
    s = TrainingSession({"preset": "pass-fail"})
    s.step(3)
    for k in (1, 3):
        tr = s.backprop(k)
        np.testing.assert_allclose(tr.prediction[:, 0], loop[k - 1].pred, rtol=1e-13)
        np.testing.assert_allclose(tr.residual[:, 0], loop[k - 1].error, rtol=1e-12, atol=1e-15)
        # The sweep starts from dL/dz of the mean loss: the chapter's error over n = 4.
        np.testing.assert_allclose(4 * tr.error[:, 0], loop[k - 1].error, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(tr.error, tr.layers[-1].delta)
        assert tr.pairing.rule == "dL/dz = pred - y"


@pytest.mark.parametrize("pair", list(PAIRS))
def test_error_is_dl_dz_by_central_differences_and_follows_its_rule(pair: str) -> None:
    s = TrainingSession(PAIRS[pair])
    s.step(5)
    Xb, yb, theta = s.batch_at(5)
    assert isinstance(s.model, MLP) and Xb is not None and yb is not None
    model = s.model
    tr = trace(model, theta, Xb, yb)
    logits, _ = model.forward(theta, Xb)
    fd = central_difference(lambda z: float(model.loss_fn.value(z.reshape(logits.shape), yb)),
                            logits.ravel())  # fmt: skip
    assert rel_error(tr.error.ravel(), fd) < 1e-7
    n, pred, res = yb.shape[0], tr.prediction, tr.residual
    by_rule = {
        "sigmoid-bce": res,
        "softmax-ce": res,
        "identity-mse": 2 * res,
        "sigmoid-mse": 2 * res * pred * (1 - pred),
    }[pair]
    np.testing.assert_allclose(tr.error, by_rule / n, rtol=1e-10, atol=1e-16)
    assert (tr.pairing.output, tr.pairing.loss) == (tr.output_activation, tr.loss_name)


def test_each_delta_is_passed_down_as_the_dl_da_below() -> None:
    s = TrainingSession({"preset": "moons-mlp", "model": {"hidden": [6, 5, 4]}})
    s.step(3)
    Xb, yb, theta = s.batch_at(3)
    assert isinstance(s.model, MLP) and Xb is not None and yb is not None
    tr = s.backprop(3)
    weights = s.model.unpack(theta)
    for upper, lower in zip(tr.layers[1:], tr.layers[:-1], strict=True):
        np.testing.assert_array_equal(lower.dloss_da, upper.passed_down)
        np.testing.assert_allclose(
            upper.passed_down, upper.delta @ weights[upper.index][0].T, rtol=1e-14
        )
    # The bottom layer passes dL/dX down: the whole chain, against central differences.
    model, rows = s.model, slice(0, 3)
    fd = central_difference(
        lambda x: model.loss(theta, np.vstack([x.reshape(3, -1), Xb[3:]]), yb), Xb[rows].ravel()
    )
    assert rel_error(tr.layers[0].passed_down[rows].ravel(), fd) < 1e-6
    for layer in tr.layers:  # one delta per layer, used for all its weights and its bias
        np.testing.assert_allclose(layer.grad_w, layer.inputs.T @ layer.delta, rtol=1e-14)
        np.testing.assert_allclose(layer.grad_b, layer.delta.sum(axis=0), rtol=1e-14)


@pytest.mark.parametrize("pair", list(PAIRS))
def test_the_output_layers_slope_and_dl_da_are_central_differences(pair: str) -> None:
    """The output layer shows da/dz (of the output activation: the identity's 1, the
    sigmoid's pred (1 - pred), softmax's diagonal) and dL/da, each by central differences,
    and delta = dL/da x da/dz."""
    s = TrainingSession(PAIRS[pair])
    s.step(3)
    Xb, yb, theta = s.batch_at(3)
    assert isinstance(s.model, MLP) and Xb is not None and yb is not None
    model = s.model
    out = trace(model, theta, Xb, yb).layers[-1]
    logits, _ = model.forward(theta, Xb)
    h = 1e-6
    if model.loss_fn.output_activation == "identity":
        np.testing.assert_array_equal(out.slope, 1.0)
    else:  # d pred_ij / d z_ij, one logit at a time

        def activate(z: np.ndarray) -> np.ndarray:
            if model.loss_fn.output_activation == "sigmoid":
                return 1 / (1 + np.exp(-z))
            e = np.exp(z - z.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)

        slope = np.empty_like(logits)
        for idx in np.ndindex(logits.shape):
            e = np.zeros_like(logits)
            e[idx] = h
            slope[idx] = (activate(logits + e)[idx] - activate(logits - e)[idx]) / (2 * h)
        np.testing.assert_allclose(out.slope, slope, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(out.delta, out.dloss_da * out.slope, rtol=1e-12, atol=1e-18)
    if model.loss_fn.output_activation != "softmax":  # elementwise: dL/da is a gradient
        pred = out.a

        def loss_of_pred(p: np.ndarray) -> float:
            p = p.reshape(pred.shape)
            if model.loss_fn.name == "bce":
                return float(-np.mean(yb * np.log(p[:, 0]) + (1 - yb) * np.log(1 - p[:, 0])))
            return float(np.mean((p[:, 0] - yb) ** 2))

        fd = central_difference(loss_of_pred, pred.ravel(), h=1e-7).reshape(pred.shape)
        np.testing.assert_allclose(out.dloss_da, fd, rtol=1e-5, atol=1e-9)


def test_where_a_sigmoid_output_saturates_dl_da_is_nan_not_inf() -> None:
    """pred = 1.0 exactly (a logit of 100) for samples whose target is 0: da/dz is 0 there,
    so dL/da = dL/dz / (da/dz) is undefined and shown as NaN (not 1/0 = inf); elsewhere it
    is the quotient."""
    s = TrainingSession({"preset": "pass-fail"})
    X, y = s.dataset.X, s.dataset.y  # type: ignore[union-attr]
    assert isinstance(s.model, MLP)
    out = trace(s.model, np.array([-100.0, 100.0, 0.0]), X, y).layers[-1]
    saturated = out.slope[:, 0] == 0
    assert saturated.tolist() == [True, True, False, True]  # z = 200, 100, -200, 100
    assert out.delta[1, 0] == out.delta[3, 0] == 0.25  # (pred - y) / n with pred = 1, y = 0
    assert np.isnan(out.dloss_da[saturated]).all()
    quotient = out.delta[~saturated] / out.slope[~saturated]
    np.testing.assert_allclose(out.dloss_da[~saturated], quotient, rtol=1e-15)


def test_a_diverged_point_traces_to_nan_without_warnings() -> None:
    """Weights of 1e308 on the chapter's positive inputs: every logit overflows to +inf, so
    for a target of 1 the loss's softplus(z) - z y is inf - inf (NaN, an invalid operation)
    and the sigmoid's slope is 0. The trace says so with NaN, not a floating-point warning
    (an error under filterwarnings = error)."""
    X = np.array([[5, 7], [3, 4], [8, 6], [2, 3]], dtype=float)
    y = np.array([1, 0, 1, 0], dtype=float)
    tr = trace(MLP(2, [], 1, "tanh", "bce"), np.array([1e308, 1e308, 0.0]), X, y)
    assert np.isnan(tr.loss)
    assert np.isnan(tr.error).all()
    out = tr.layers[-1]
    np.testing.assert_array_equal(out.a, 1.0)
    np.testing.assert_array_equal(out.slope, 0.0)
    assert np.isnan(out.dloss_da).all() and np.isnan(out.grad_w).all()


def test_a_relu_layer_shows_its_z_slope_and_name_and_the_loss_is_the_mean() -> None:
    """By hand: X = [1, 2], hidden W = [1, -1], b = [0, 0.5] gives z = [[1, -0.5], [2, -1.5]],
    relu slopes [[1, 0], [1, 0]]; output W = [0.5, 3], b = 0 gives logits [0.5, 1.0], and with
    y = [1, 0] the loss is mean(softplus(z) - z y) = (softplus(0.5) - 0.5 + softplus(1)) / 2."""
    model = MLP(1, [2], 1, "relu", "bce")
    theta = np.array([1.0, -1.0, 0.0, 0.5, 0.5, 3.0, 0.0])
    tr = trace(model, theta, np.array([[1.0], [2.0]]), np.array([1.0, 0.0]))
    ref = (math.log1p(math.exp(0.5)) - 0.5 + math.log1p(math.exp(1.0))) / 2
    assert tr.loss == pytest.approx(ref, rel=1e-15)
    assert [layer.activation for layer in tr.layers] == ["relu", "sigmoid"]
    np.testing.assert_array_equal(tr.layers[0].z, [[1.0, -0.5], [2.0, -1.5]])
    np.testing.assert_array_equal(tr.layers[0].slope, [[1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_array_equal(tr.layers[1].z, [[0.5], [1.0]])
    assert tr.layers[0].saturated_fraction == 0.5
