"""Curvature: Hessian-vector products, Lanczos eigenpairs, the 2 / lambda stability edge."""

from __future__ import annotations

import numpy as np
import pytest

from gradscape.core.data import make_dataset
from gradscape.core.functions import make_function
from gradscape.core.nn import MLP
from gradscape.core.types import Model
from gradscape.landscape import (
    dense_hessian,
    hvp,
    lambda_max,
    sharpness_series,
    stability,
    top_eigenpairs,
)
from gradscape.landscape.curvature import lanczos
from tests.helpers import require_torch
from tests.landscape.conftest import Case, mlp_case, neuron_case


def _fd_hessian(
    model: Model, X: object, y: object, theta: np.ndarray, h: float = 1e-5
) -> np.ndarray:
    """The reference: central differences of backprop gradients along each axis, symmetrised."""
    cols = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        g_plus = model.loss_and_grad(theta + e, X, y)[1]  # type: ignore[arg-type]
        g_minus = model.loss_and_grad(theta - e, X, y)[1]  # type: ignore[arg-type]
        cols.append((g_plus - g_minus) / (2 * h))
    H = np.array(cols)
    return 0.5 * (H + H.T)


def _softmax_case() -> Case:
    data = make_dataset({"name": "blobs", "n_samples": 60}, seed=1)
    n_classes = int(data.y.max()) + 1
    model = MLP(data.X.shape[1], [5], n_classes, "softplus", "cross_entropy")
    theta = model.init_params(np.random.default_rng(2))
    return Case("softmax", model, data.X, data.y, theta[None, :])


CASES = {"mlp": mlp_case, "neuron": neuron_case, "softmax": _softmax_case}


@pytest.mark.parametrize("name", list(CASES))
def test_top_k_matches_eigvalsh_of_a_finite_difference_hessian(name: str) -> None:
    case = CASES[name]()
    theta = case.trajectory[-1]
    ref = np.linalg.eigvalsh(_fd_hessian(case.model, case.X, case.y, theta))[::-1]
    k = min(3, case.model.n_params)
    pairs = top_eigenpairs(case.model, case.X, case.y, theta, k=k)
    assert pairs.converged
    np.testing.assert_allclose(pairs.values, ref[:k], rtol=1e-6, atol=1e-6 * abs(ref[0]))
    assert lambda_max(case.model, case.X, case.y, theta) == pytest.approx(ref[0], rel=1e-6)
    # Each vector is a unit eigenvector: H v = lambda v.
    for value, v in zip(pairs.values, pairs.vectors, strict=True):
        assert np.linalg.norm(v) == pytest.approx(1.0)
        Hv = hvp(case.model, case.X, case.y, theta, v)
        assert np.linalg.norm(Hv - value * v) < 1e-5 * abs(ref[0])


def test_hvp_matches_the_finite_difference_hessian(mlp: Case) -> None:
    theta = mlp.trajectory[10]
    H = _fd_hessian(mlp.model, mlp.X, mlp.y, theta)
    v = np.random.default_rng(0).normal(size=theta.size)
    got = hvp(mlp.model, mlp.X, mlp.y, theta, v)
    assert np.linalg.norm(got - H @ v) < 1e-6 * np.linalg.norm(H @ v)
    np.testing.assert_array_equal(hvp(mlp.model, mlp.X, mlp.y, theta, np.zeros_like(v)), 0.0)
    dense = dense_hessian(mlp.model, mlp.X, mlp.y, theta)
    np.testing.assert_array_equal(dense, dense.T)
    np.testing.assert_allclose(dense, H, atol=1e-6 * np.abs(H).max())


def test_hvp_matches_torch_exact_hessian() -> None:
    torch = require_torch()
    case = mlp_case()
    model, theta = case.model, case.trajectory[-1]
    assert isinstance(model, MLP)

    def loss(t):  # type: ignore[no-untyped-def]
        a = torch.tensor(case.X)
        for L in model.layers:
            a = a @ t[L.w_slice].reshape(L.fan_in, L.fan_out) + t[L.b_slice]
            a = torch.tanh(a) if L.index < len(model.layers) - 1 else a
        target = torch.tensor(case.y)
        return torch.nn.functional.binary_cross_entropy_with_logits(a[:, 0], target)

    exact = torch.autograd.functional.hessian(loss, torch.tensor(theta)).numpy()
    v = np.random.default_rng(1).normal(size=theta.size)
    got = hvp(model, case.X, case.y, theta, v)
    assert np.linalg.norm(got - exact @ v) < 1e-8 * np.linalg.norm(
        exact @ v
    )  # the documented error
    ref = np.linalg.eigvalsh(exact)[::-1]
    assert lambda_max(model, case.X, case.y, theta) == pytest.approx(ref[0], rel=1e-8)


def test_analytic_surfaces_use_their_exact_hessian() -> None:
    f = make_function("rosenbrock")
    theta = np.array([0.3, -0.2])
    np.testing.assert_array_equal(dense_hessian(f, None, None, theta), f.hessian(theta))
    v = np.array([0.5, 2.0])
    np.testing.assert_array_equal(hvp(f, None, None, theta, v), f.hessian(theta) @ v)
    pairs = top_eigenpairs(f, None, None, theta, k=2)
    np.testing.assert_allclose(pairs.values, np.linalg.eigvalsh(f.hessian(theta))[::-1])


def test_gradient_descent_stability_edge_on_the_ill_conditioned_quadratic() -> None:
    f = make_function("quadratic", condition=20.0, angle=25.0)
    theta0 = np.array(f.start)
    pairs = top_eigenpairs(f, None, None, theta0, k=1)
    lam, top = float(pairs.values[0]), pairs.vectors[0]
    assert lam == pytest.approx(1.0)
    assert stability(2.0 / lam * 1.02, lam)["stable"] is False
    assert stability(2.0 / lam * 0.98, lam)["stable"] is True
    for factor, grows in [(1.02, True), (0.98, False)]:
        lr, theta, along = factor * 2.0 / lam, theta0.copy(), []
        for _ in range(30):
            theta = theta - lr * f.gradient(theta)
            along.append(abs(theta @ top))  # distance from the minimum (0) along the top vector
        steps = np.diff(np.r_[abs(theta0 @ top), along])
        assert (steps > 0).all() if grows else (steps < 0).all()


def test_stability_report() -> None:
    report = stability(0.5, 3.0)
    assert report == {
        "lr": 0.5,
        "lambda_max": 3.0,
        "lr_times_lambda": 1.5,
        "edge": pytest.approx(2.0 / 3.0),
        "stable": True,
    }
    assert stability(0.1, -1.0)["edge"] is None
    assert stability(0.1, 0.0)["stable"] is True


def test_sharpness_series_without_retraining(mlp: Case) -> None:
    series = sharpness_series(mlp.model, mlp.X, mlp.y, mlp.trajectory, every=25)
    np.testing.assert_array_equal(series.index, [0, 25, 50, 60])
    for row, value in zip(series.index, series.lambda_max, strict=True):
        ref = np.linalg.eigvalsh(_fd_hessian(mlp.model, mlp.X, mlp.y, mlp.trajectory[row]))[-1]
        assert value == pytest.approx(ref, rel=1e-5)
    broken = mlp.trajectory[:3].copy()
    broken[1, 0] = np.nan
    assert np.isnan(sharpness_series(mlp.model, mlp.X, mlp.y, broken).lambda_max[1])
    with pytest.raises(ValueError, match="every"):
        sharpness_series(mlp.model, mlp.X, mlp.y, mlp.trajectory, every=0)


def test_lanczos_restarts_when_the_start_is_an_eigenvector() -> None:
    A = np.diag([5.0, 1.0, 4.0, -2.0, 3.0])
    start = np.array([0.0, 1.0, 0.0, 0.0, 0.0])  # an invariant subspace of dimension 1
    pairs = lanczos(lambda v: A @ v, start, k=3)
    np.testing.assert_allclose(pairs.values, [5.0, 4.0, 3.0], rtol=1e-12)
    assert pairs.converged


def test_k_out_of_range(neuron: Case) -> None:
    with pytest.raises(ValueError, match="k"):
        top_eigenpairs(neuron.model, neuron.X, neuron.y, neuron.trajectory[-1], k=4)
    big = MLP(60, [40], 1, "tanh", "mse")
    with pytest.raises(ValueError, match="dense_hessian"):
        dense_hessian(big, np.ones((2, 60)), np.ones(2), np.zeros(big.n_params))


def test_the_eigen_solver_is_seeded_and_lambda_max_passes_its_seed_on(mlp: Case) -> None:
    """Lanczos starts from ``default_rng(seed)``: the same seed gives the same numbers bit
    for bit (a reproducible run), the default is seed 0, and lambda_max uses the seed given."""
    theta = mlp.trajectory[-1]
    args = (mlp.model, mlp.X, mlp.y, theta)
    zero, three = top_eigenpairs(*args, 1, seed=0), top_eigenpairs(*args, 1, seed=3)
    assert top_eigenpairs(*args, 1).values[0] == zero.values[0]
    assert lambda_max(*args) == zero.values[0]
    assert lambda_max(*args, seed=3) == three.values[0]
    assert three.values[0] != zero.values[0]  # another start: the same eigenvalue to tol only
    assert three.values[0] == pytest.approx(zero.values[0], rel=1e-6)
