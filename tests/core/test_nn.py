"""Networks: flat parameter layout, backpropagation against finite differences and torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradscape.core import nn
from gradscape.core.activations import ACTIVATIONS
from gradscape.core.losses import LOSSES
from gradscape.core.nn import MLP
from tests.helpers import central_difference, rel_error, require_torch


def _data(loss: str, n: int = 7, d: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if loss == "mse":
        return X, rng.normal(size=n), 1
    if loss == "bce":
        return X, (rng.random(n) > 0.5).astype(float), 1
    return X, rng.integers(0, 4, size=n).astype(float), 4


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_backprop_matches_central_differences(activation: str, loss: str) -> None:
    X, y, m = _data(loss)
    model = MLP(3, [5, 4], m, activation, loss, init={"name": "normal", "std": 0.7})
    theta = model.init_params(np.random.default_rng(1))
    value, grad = model.loss_and_grad(theta, X, y)
    fd = central_difference(lambda t: model.loss(t, X, y), theta)
    assert value == pytest.approx(model.loss(theta, X, y), rel=1e-15)
    assert rel_error(grad, fd) < 1e-6


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("activation", ["tanh", "leaky_relu", "softplus"])
def test_forward_then_backward_is_the_gradient_by_central_differences(
    activation: str, loss: str
) -> None:
    """The public two-step chain rule (``forward``'s cache, then ``backward`` from dL/dz)."""
    X, y, m = _data(loss)
    model = MLP(3, [5, 4], m, activation, loss, init={"name": "normal", "std": 0.7})
    theta = model.init_params(np.random.default_rng(3))
    logits, cache = model.forward(theta, X)
    value, dz = model.loss_fn.value_and_grad(logits, y)
    grad = model.backward(cache, dz)
    fd = central_difference(lambda t: model.loss(t, X, y), theta)
    assert rel_error(grad, fd) < 1e-6
    assert value == pytest.approx(model.loss(theta, X, y), rel=1e-15)
    np.testing.assert_allclose(grad, model.loss_and_grad(theta, X, y)[1], rtol=1e-12, atol=1e-15)
    assert [z.shape for z in cache.zs] == [(7, 5), (7, 4), (7, m)]
    np.testing.assert_array_equal(cache.inputs[0], X)
    np.testing.assert_array_equal(cache.activations[-1], logits)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_single_layer_gradient(loss: str) -> None:
    X, y, m = _data(loss, n=11, d=2)
    model = MLP(2, [], m, "tanh", loss)
    theta = np.random.default_rng(3).normal(size=model.n_params)
    _, grad = model.loss_and_grad(theta, X, y)
    assert rel_error(grad, central_difference(lambda t: model.loss(t, X, y), theta)) < 1e-6


def test_single_neuron_layout_and_chapter_gradient() -> None:
    X = np.array([[5, 7], [3, 4], [8, 6], [2, 3]], dtype=float)
    y = np.array([1, 0, 1, 0], dtype=float)
    model = MLP(2, [], 1, "tanh", "bce")
    assert model.n_params == 3
    assert model.param_names == ("w_x1", "w_x2", "bias")
    theta = np.array([0.3, -0.2, 0.1])
    _, grad = model.loss_and_grad(theta, X, y)
    # The chapter: error = pred - y; grad_w = X.T @ error / n; grad_b = mean(error).
    error = 1 / (1 + np.exp(-(X @ theta[:2] + theta[2]))) - y
    np.testing.assert_allclose(grad, np.r_[X.T @ error / 4, error.mean()], rtol=1e-13)


def test_parameter_order_is_layer_by_layer_w_then_b() -> None:
    model = MLP(2, [3], 1, "relu", "mse")
    theta = np.arange(model.n_params, dtype=float)
    (W0, b0), (W1, b1) = model.unpack(theta)
    np.testing.assert_array_equal(W0, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(b0, [6.0, 7.0, 8.0])
    np.testing.assert_array_equal(W1.ravel(), [9.0, 10.0, 11.0])
    np.testing.assert_array_equal(b1, [12.0])
    assert model.param_names[4] == "layer1.W[1,1]"  # W[input unit, output unit]
    assert model.param_names[6:9] == ("layer1.b[0]", "layer1.b[1]", "layer1.b[2]")
    assert model.param_names[9:] == (
        "layer2.W[0,0]", "layer2.W[1,0]", "layer2.W[2,0]", "layer2.b[0]"
    )  # fmt: skip
    assert [name for name, _ in model.layer_slices] == ["layer1", "layer2"]


@pytest.mark.parametrize("loss", list(LOSSES))
def test_batch_loss_equals_a_loop(loss: str) -> None:
    X, y, m = _data(loss, n=40)
    model = MLP(3, [6, 5], m, "sigmoid", loss)
    thetas = np.random.default_rng(5).normal(size=(9, model.n_params))
    loop = np.array([model.loss(t, X, y) for t in thetas])
    np.testing.assert_allclose(model.batch_loss(thetas, X, y), loop, rtol=1e-12)


def test_batch_loss_chunks_large_k() -> None:
    X, y, m = _data("bce", n=300)
    model = MLP(3, [64], m, "tanh", "bce")
    thetas = np.random.default_rng(0).normal(size=(200, model.n_params)) * 0.1
    loop = np.array([model.loss(t, X, y) for t in thetas])
    np.testing.assert_allclose(model.batch_loss(thetas, X, y), loop, rtol=1e-12)


@pytest.mark.parametrize("init", ["xavier", "xavier_normal", "he", "torch", "normal", "zeros"])
def test_initialisers_are_seeded(init: str) -> None:
    model = MLP(4, [32, 32], 1, "tanh", "mse", init=init)
    a = model.init_params(np.random.default_rng(7))
    b = model.init_params(np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    if init != "zeros":
        assert not np.array_equal(a, model.init_params(np.random.default_rng(8)))


def test_initialiser_scales() -> None:
    rng = np.random.default_rng(0)
    xavier = MLP(200, [300], 1, "tanh", "mse", init="xavier").init_params(rng)
    W = xavier[: 200 * 300]
    assert np.abs(W).max() <= np.sqrt(6 / 500)
    assert W.std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    he = MLP(200, [300], 1, "relu", "mse", init="he").init_params(rng)[: 200 * 300]
    assert he.std() == pytest.approx(np.sqrt(2 / 200), rel=0.02)


def test_bad_model_names_raise() -> None:
    with pytest.raises(ValueError, match=r"model\.activation\[0\]: unknown activation 'swish'"):
        MLP(2, [3], 1, "swish", "mse")
    with pytest.raises(ValueError, match="loss: unknown loss 'hinge'"):
        MLP(2, [3], 1, "tanh", "hinge")
    with pytest.raises(ValueError, match=r"model\.init: unknown initialiser 'orthogonal'"):
        MLP(2, [3], 1, "tanh", "mse", init="orthogonal")


def test_huge_parameters_give_non_finite_loss_without_warnings() -> None:
    X, y, m = _data("mse")
    model = MLP(3, [4], m, "relu", "mse")
    theta = np.full(model.n_params, 1e200)
    assert not np.isfinite(model.loss(theta, X, y))
    assert not np.isfinite(model.batch_loss(theta[None], X, y)).any()


@pytest.mark.parametrize("loss", list(LOSSES))
def test_gradient_matches_torch_autograd(loss: str) -> None:
    torch = require_torch()
    X, y, m = _data(loss, n=16)
    model = MLP(3, [5, 4], m, "tanh", loss)
    theta = model.init_params(np.random.default_rng(2))
    value, grad = model.loss_and_grad(theta, X, y)
    t = torch.tensor(theta, requires_grad=True)
    a = torch.tensor(X)
    for layer in model.layers:
        W = t[layer.w_slice].reshape(layer.fan_in, layer.fan_out)
        a = a @ W + t[layer.b_slice]
        if layer.index < len(model.layers) - 1:
            a = torch.tanh(a)
    target = torch.tensor(y)
    if loss == "mse":
        ref = torch.nn.functional.mse_loss(a[:, 0], target)
    elif loss == "bce":
        ref = torch.nn.functional.binary_cross_entropy_with_logits(a[:, 0], target)
    else:
        ref = torch.nn.functional.cross_entropy(a, target.long())
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_a_sigmoid_output_with_mse_matches_central_differences_and_torch() -> None:
    X, y, _ = _data("bce", n=13)
    model = MLP(3, [5], 1, "tanh", "mse", init={"name": "normal", "std": 0.9}, output="sigmoid")
    theta = model.init_params(np.random.default_rng(6))
    value, grad = model.loss_and_grad(theta, X, y)
    fd = central_difference(lambda t: model.loss(t, X, y), theta)
    assert rel_error(grad, fd) < 1e-7
    pred = model.predict(theta, X)[:, 0]
    assert value == pytest.approx(np.mean((pred - y) ** 2), rel=1e-13)
    torch = require_torch()
    t = torch.tensor(theta, requires_grad=True)
    (W0, b0), (W1, b1) = ((t[L.w_slice].reshape(L.fan_in, L.fan_out), t[L.b_slice])
                          for L in model.layers)  # fmt: skip
    out = torch.sigmoid(torch.tanh(torch.tensor(X) @ W0 + b0) @ W1 + b1)
    ref = torch.nn.functional.mse_loss(out[:, 0], torch.tensor(y))
    ref.backward()
    assert value == pytest.approx(ref.item(), rel=1e-13)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-11, atol=1e-15)
    assert model.accuracy(theta, X, y) == pytest.approx(np.mean((pred > 0.5) == (y > 0.5)))


def test_forward_of_a_diverged_point_is_nan_without_warnings() -> None:
    """A diverged theta (weights 1e308, biases -inf): X W overflows to +inf and meets the
    -inf bias, which is NaN (invalid); forward and batch_forward say so with a NaN, not a
    floating-point warning (an error under filterwarnings = error)."""
    model = MLP(2, [3], 1, "relu", "mse")
    theta = np.full(model.n_params, 1e308)
    for layer in model.layers:
        theta[layer.b_slice] = -np.inf
    X = np.array([[1.0, 1.0]])
    logits, cache = model.forward(theta, X)
    assert np.isnan(logits).all() and np.isnan(cache.zs[0]).all()
    assert np.isnan(model.batch_forward(theta[None], X)).all()


def test_backward_from_an_overflowing_error_says_inf_and_nan_without_warnings() -> None:
    """One input, one relu unit (W = 1, b = -2, so z = -1 and the unit is off), output
    weight 2; dL/dz = 1e308 on both samples. By hand: the output bias's gradient is
    1e308 + 1e308, which overflows to inf; its weight's is a^T dz = 0 (the unit is off);
    passed down, dz W^T = 2e308 = inf meets the relu's slope 0, and inf * 0 is NaN."""
    model = MLP(1, [1], 1, "relu", "mse")
    theta = np.array([1.0, -2.0, 2.0, 0.0])  # W0, b0, W1, b1
    _, cache = model.forward(theta, np.array([[1.0], [1.0]]))
    grad = model.backward(cache, np.array([[1e308], [1e308]]))
    np.testing.assert_array_equal(grad, [np.nan, np.nan, 0.0, np.inf])


def test_loss_of_a_diverged_point_is_nan_without_warnings() -> None:
    """As for forward: weights 1e308 and biases -inf make X W + b = inf - inf, NaN."""
    model = MLP(2, [3], 1, "relu", "mse")
    theta = np.full(model.n_params, 1e308)
    for layer in model.layers:
        theta[layer.b_slice] = -np.inf
    assert np.isnan(model.loss(theta, np.array([[1.0, 1.0]]), np.array([0.0])))


def test_softmax_predictions_are_stable_row_by_row() -> None:
    """Logits [1000, 999] and [0, -1]: each row differs by 1, so both are
    [1 / (1 + e^-1), e^-1 / (1 + e^-1)], however far apart the rows are."""
    model = MLP(1, [], 2, "tanh", "cross_entropy")
    theta = np.array([1000.0, 1000.0, 0.0, -1.0])  # W = [1000, 1000], b = [0, -1]
    p = model.predict(theta, np.array([[1.0], [0.0]]))
    want = [1 / (1 + np.exp(-1.0)), np.exp(-1.0) / (1 + np.exp(-1.0))]
    np.testing.assert_allclose(p, [want, want], rtol=1e-15)


@pytest.mark.parametrize(("X", "y"), [(None, np.zeros(1)), (np.zeros((1, 2)), None), (None, None)])
def test_a_network_without_x_or_y_is_refused_word_for_word(X: Any, y: Any) -> None:
    model = MLP(2, [], 1, "tanh", "mse")
    with pytest.raises(ValueError, match=r"^a network needs data: X and y are required$"):
        model.loss(np.zeros(model.n_params), X, y)


def test_one_activation_per_hidden_layer_or_a_single_one() -> None:
    want = "model.activation: give one activation or one per hidden layer"
    with pytest.raises(ValueError, match=rf"^{want}$"):
        MLP(2, [3, 3], 1, ["relu"], "mse")
    model = MLP(2, [3, 3], 1, ["relu", "tanh"], "mse")
    assert [L.activation.name for L in model.layers] == ["relu", "tanh", "identity"]


def test_batch_loss_covers_more_points_than_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    # A small network (P = 7) on many points (K = 50), three points per chunk.
    X, y, m = _data("mse", n=10)
    model = MLP(3, [1], m, "tanh", "mse")
    monkeypatch.setattr(nn, "BATCH_CHUNK_FLOATS", 3 * 10 * 3)
    thetas = np.random.default_rng(2).normal(size=(50, model.n_params))
    assert model.n_params < len(thetas)
    loop = np.array([model.loss(t, X, y) for t in thetas])
    np.testing.assert_allclose(model.batch_loss(thetas, X, y), loop, rtol=1e-12)


def test_batch_loss_of_an_overflowing_logit_is_nan_without_warnings() -> None:
    """One bce neuron with w = 1e308, b = 0 on x = 2: z = 2e308 overflows to +inf, and the
    cross-entropy max(z, 0) - z y + log1p(e^-|z|) is inf - inf (y = 1) or inf - inf * 0
    (y = 0): undefined both ways, NaN, and said with a NaN, not a floating-point warning."""
    model = MLP(1, [], 1, "identity", "bce")
    theta = np.array([[1e308, 0.0]])
    for label in (0.0, 1.0):
        assert np.isnan(model.batch_loss(theta, np.array([[2.0]]), np.array([label]))).all()


def test_loss_and_grad_of_a_huge_weight_is_an_inf_loss_without_warnings() -> None:
    """Linear regression z = w x + b with w = 1e200, b = 0 on x = 1, y = 0: the squared
    error (1e200)^2 overflows to inf, while dL/dz = 2 (z - y) / n = 2e200 stays finite, so
    dL/dw = x dL/dz = 2e200 and dL/db = 2e200; the overflow is said with an inf, not a
    floating-point warning (an error under filterwarnings = error)."""
    model = MLP(1, [], 1, "identity", "mse")
    value, grad = model.loss_and_grad(np.array([1e200, 0.0]), np.array([[1.0]]), np.array([0.0]))
    assert value == np.inf
    np.testing.assert_array_equal(grad, [2e200, 2e200])


def test_loss_and_grad_of_a_diverged_point_is_nan_without_warnings() -> None:
    """w = inf, b = -inf on x = 1: z = inf + (-inf) is undefined (invalid), so the loss and
    both gradient entries are NaN, said with a NaN, not a floating-point warning."""
    model = MLP(1, [], 1, "identity", "mse")
    theta = np.array([np.inf, -np.inf])
    value, grad = model.loss_and_grad(theta, np.array([[1.0]]), np.array([0.0]))
    assert np.isnan(value) and np.isnan(grad).all()
