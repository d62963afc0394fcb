"""Curvature: Hessian-vector products, Lanczos eigenpairs, the 2 / lambda stability edge."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import numpy as np
import pytest

from gradscape.core.data import make_dataset
from gradscape.core.functions import make_function
from gradscape.core.nn import MLP
from gradscape.core.types import Model
from gradscape.landscape import (
    curvature,
    dense_hessian,
    hvp,
    lambda_max,
    sharpness_series,
    stability,
    top_eigenpairs,
)
from gradscape.landscape.curvature import _signed, _tridiagonal, lanczos
from tests.helpers import require_torch
from tests.landscape.conftest import Case, linreg_case, mlp_case, neuron_case


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


class _Quartic:
    """``L = sum(theta^4) / 4``, gradient ``theta^3``, no ``hessian``: hvp differences it."""

    def __init__(self, n: int) -> None:
        self.n_params = n

    def loss_and_grad(self, theta: np.ndarray, X: object, y: object) -> tuple[float, np.ndarray]:
        return float(np.sum(theta**4) / 4), theta**3


class _Diagonal:
    """``L = sum(d theta^2) / 2``: the Hessian is ``diag(d)`` and differences are exact."""

    def __init__(self, d: np.ndarray) -> None:
        self.d, self.n_params = d, d.size

    def loss_and_grad(self, theta: np.ndarray, X: object, y: object) -> tuple[float, np.ndarray]:
        return float(self.d @ theta**2 / 2), self.d * theta


def test_hvp_truncation_error_is_the_documented_step_squared() -> None:
    # For g = theta^3, ((theta + t v)^3 - (theta - t v)^3) / (2 t) = 3 theta^2 v + t^2 v^3
    # exactly, with t = h / ||v|| and h = FD_STEP * max(1, rms(theta)).
    model = cast(Model, _Quartic(4))
    v = np.array([0.5, -0.5, 0.5, 0.5])  # a unit vector: t = h
    for theta, rms in [(np.zeros(4), 0.0), (np.full(4, 10.0), 10.0)]:
        h = curvature.FD_STEP * max(1.0, rms)
        error = hvp(model, None, None, theta, v) - 3 * theta**2 * v
        np.testing.assert_allclose(error, h**2 * v**3, rtol=0.1)
    zero = hvp(model, None, None, np.full(4, 2.0), np.zeros(4))
    assert zero.shape == (4,) and zero.dtype == np.float64
    np.testing.assert_array_equal(zero, 0.0)


def test_dense_hessian_goes_up_to_max_dense_params(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(curvature, "MAX_DENSE_PARAMS", 5)  # the bound, without 2000 products
    d = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    H = dense_hessian(cast(Model, _Diagonal(d)), None, None, np.ones(5))
    np.testing.assert_allclose(H, np.diag(d), atol=1e-9)  # a quadratic: differences are exact
    over = cast(Model, _Diagonal(np.ones(6)))
    with pytest.raises(ValueError, match=r"^dense_hessian: P = 6 is above 5; use Lanczos$"):
        dense_hessian(over, None, None, np.ones(6))


def _symmetric(n: int, values: np.ndarray, seed: int) -> np.ndarray:
    """``Q diag(values) Q^T`` for a random orthogonal Q."""
    Q = np.linalg.qr(np.random.default_rng(seed).normal(size=(n, n)))[0]
    A: np.ndarray = (Q * values) @ Q.T
    return A


def _counted(A: np.ndarray) -> tuple[Callable[[np.ndarray], np.ndarray], list[int]]:
    calls = [0]

    def matvec(v: np.ndarray) -> np.ndarray:
        calls[0] += 1
        Av: np.ndarray = A @ v
        return Av

    return matvec, calls


def _worst_residual(A: np.ndarray, values: np.ndarray, vectors: np.ndarray) -> float:
    return max(
        float(np.linalg.norm(A @ v - lam * v)) for lam, v in zip(values, vectors, strict=True)
    )


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_lanczos_matches_eigh_and_stops_at_the_first_converged_step(k: int, scale: float) -> None:
    n, tol = 40, 1e-8
    rng = np.random.default_rng(7)
    # A spread spectrum (reached in a few dozen products) with a gap after the top 3.
    spectrum = np.r_[[4.0, 3.0, 2.5], rng.uniform(-1.5, 1.5, n - 3)] * scale
    A = _symmetric(n, spectrum, seed=8)
    start = rng.normal(size=n)
    matvec, calls = _counted(A)
    pairs = lanczos(matvec, start, k, tol=tol)
    w, U = np.linalg.eigh(A)
    top = np.abs(w).max()
    assert pairs.converged and pairs.products == calls[0] < n
    np.testing.assert_allclose(pairs.values, w[::-1][:k], rtol=0, atol=10 * tol * top)
    assert pairs.values.shape == (k,) and pairs.vectors.shape == (k, n)
    # Unit eigenvectors (eigh's, up to sign) with their largest entry positive.
    ref = U[:, ::-1][:, :k].T
    ref = ref * np.sign(ref[np.arange(k), np.argmax(np.abs(ref), axis=1)])[:, None]
    np.testing.assert_allclose(pairs.vectors, ref, atol=1e-6)
    assert (pairs.vectors[np.arange(k), np.argmax(np.abs(pairs.vectors), axis=1)] > 0).all()
    # Converged means every wanted pair's true residual is below tol * |lambda|_max ...
    assert _worst_residual(A, pairs.values, pairs.vectors) <= 2 * tol * top
    # ... and one product earlier it was not: the run stopped as soon as it could.
    early = lanczos(lambda v: A @ v, start, k, tol=tol, max_iter=pairs.products - 1)
    assert not early.converged and early.products == pairs.products - 1
    assert _worst_residual(A, early.values, early.vectors) > tol * top
    # The tolerance is relative: the same spectrum at another scale takes the same products.
    unit = lanczos(lambda v: A @ v / scale, start, k, tol=tol)
    assert unit.products == pairs.products


def test_lanczos_from_the_top_eigenspace_stops_after_k_products() -> None:
    # The Krylov space of a start in span(e1, e3) is that span: exact after 2 products.
    A = np.diag([5.0, 1.0, 4.0, -2.0, 3.0])
    pairs = lanczos(lambda v: A @ v, np.array([1.0, 0.0, 1.0, 0.0, 0.0]), k=2)
    assert pairs.converged and pairs.products == 2
    np.testing.assert_allclose(pairs.values, [5.0, 4.0], rtol=1e-14)
    np.testing.assert_allclose(pairs.vectors, [[1, 0, 0, 0, 0], [0, 0, 1, 0, 0]], atol=1e-14)
    # From the top eigenvector itself the residual is exactly 0, which even tol = 0 accepts.
    exact = lanczos(lambda v: A @ v, np.array([1.0, 0.0, 0.0, 0.0, 0.0]), k=1, tol=0.0)
    assert exact.converged and exact.products == 1
    np.testing.assert_array_equal(exact.values, [5.0])


def test_lanczos_restarts_after_a_two_dimensional_invariant_subspace() -> None:
    # The start lies in span(e2, e6) (eigenvalues 1 and 0.5); the top 3 are 5, 4, 3 on the
    # axes e1, e3, e5, which only a fresh direction orthogonal to both can reach.
    A = np.diag([5.0, 1.0, 4.0, -2.0, 3.0, 0.5])
    pairs = lanczos(lambda v: A @ v, np.array([0.0, 1.0, 0.0, 0.0, 0.0, 1.0]), k=3)
    assert pairs.converged
    np.testing.assert_allclose(pairs.values, [5.0, 4.0, 3.0], rtol=1e-12)
    np.testing.assert_allclose(pairs.vectors, np.eye(6)[[0, 2, 4]], atol=1e-8)


def test_lanczos_restarts_are_reproducible() -> None:
    n = 30
    A = _symmetric(n, np.linspace(-1.0, 3.0, n), seed=2)
    start = np.linalg.eigh(A)[1][:, 3]  # an eigenvector: invariant after one product
    runs = [lanczos(lambda v: A @ v, start, k=2, tol=1e-6) for _ in range(2)]
    assert runs[0].converged and runs[0].products < n
    np.testing.assert_array_equal(runs[0].values, runs[1].values)  # bit for bit
    np.testing.assert_array_equal(runs[0].vectors, runs[1].vectors)
    np.testing.assert_allclose(runs[0].values, [3.0, 3.0 - 4.0 / 29], rtol=1e-5)


def test_lanczos_that_runs_out_of_products_is_not_converged() -> None:
    A = _symmetric(40, np.linspace(-1.0, 1.0, 40), seed=3)
    pairs = lanczos(lambda v: A @ v, np.ones(40), k=1, max_iter=5)
    assert pairs.converged is False and pairs.products == 5


def test_signed_rows_are_unit_with_the_largest_entry_positive() -> None:
    # By hand: (3, -4) / 5 flipped, (0, 0.5) / 0.5 kept, (0.6, 0.8) kept.
    rows = _signed(np.array([[3.0, -4.0], [0.0, 0.5], [0.6, 0.8]]))
    np.testing.assert_allclose(rows, [[-0.6, 0.8], [0.0, 1.0], [0.6, 0.8]], rtol=1e-15)


def test_tridiagonal_is_the_full_symmetric_matrix() -> None:
    T = _tridiagonal([1.0, 2.0, 3.0], [4.0, 5.0])
    np.testing.assert_array_equal(T, [[1.0, 4.0, 0.0], [4.0, 2.0, 5.0], [0.0, 5.0, 3.0]])


def test_stability_edge_is_exclusive_and_exists_for_any_positive_lambda() -> None:
    at_edge = stability(1.0, 2.0)  # lr lambda = 2: the error along the top vector flips sign
    assert at_edge["stable"] is False  # but never shrinks (|1 - 2| = 1)
    assert stability(0.1, 0.5)["edge"] == 4.0  # 2 / 0.5, a small positive lambda


def test_exact_hessians_report_their_defaults_and_use_no_products() -> None:
    f = make_function("rosenbrock")
    pairs = top_eigenpairs(f, None, None, np.array([0.3, -0.2]))
    assert pairs.values.shape == (1,) and pairs.vectors.shape == (1, 2)  # k defaults to 1
    assert pairs.converged is True and pairs.products == 0


def test_top_eigenpairs_and_lambda_max_pass_tol_and_max_iter_on(mlp: Case) -> None:
    args = (mlp.model, mlp.X, mlp.y, mlp.trajectory[-1])
    tight, loose = top_eigenpairs(*args), top_eigenpairs(*args, tol=1e-3)
    assert loose.products < tight.products  # a looser tolerance stops sooner
    capped = top_eigenpairs(*args, max_iter=3)
    assert capped.products == 3 and capped.converged is False
    # lambda_max is the k = 1 top value at the tolerance given (k = 2 would stop later).
    assert lambda_max(*args, tol=1e-3) == loose.values[0]
    assert lambda_max(*args, tol=1e-3) != top_eigenpairs(*args, 2, tol=1e-3).values[0]
    assert lambda_max(*args, tol=1e-3) == pytest.approx(tight.values[0], rel=1e-3)


def test_sharpness_series_passes_tol_and_seed_on(mlp: Case) -> None:
    args = (mlp.model, mlp.X, mlp.y)
    rows = mlp.trajectory[[0, 30, 60]]
    default = sharpness_series(*args, rows)  # tol 1e-6 and seed 0 by default
    other = sharpness_series(*args, rows, tol=1e-4, seed=3)
    for i, theta in enumerate(rows):
        assert default.lambda_max[i] == lambda_max(*args, theta, tol=1e-6, seed=0)
        assert other.lambda_max[i] == lambda_max(*args, theta, tol=1e-4, seed=3)
        assert other.lambda_max[i] != lambda_max(*args, theta, tol=1e-4, seed=0)


def test_float32_parameters_are_read_as_float64(mlp: Case) -> None:
    # rms(theta) > 1, so the difference step depends on it: float32 arithmetic would move it.
    theta32 = (3.0 * mlp.trajectory[-1]).astype(np.float32)
    assert np.sqrt(np.mean(theta32.astype(np.float64) ** 2)) > 1.0
    args = (mlp.model, mlp.X, mlp.y)
    got = top_eigenpairs(*args, theta32, k=2)
    ref = top_eigenpairs(*args, theta32.astype(np.float64), k=2)
    np.testing.assert_array_equal(got.values, ref.values)
    np.testing.assert_array_equal(got.vectors, ref.vectors)


def test_lanczos_on_a_flat_hessian_keeps_small_but_real_couplings() -> None:
    # Eigenvalues near 1e-6 (a flat region). The start is e5 + 1e-5 e4, so the first step's
    # residual is about 1e-11: tiny, but 1e5 times tol * lambda_max, so it is a real
    # direction (e4), not an invariant subspace; after it the top pair is e5 exactly.
    A = 1e-6 * np.diag([1.0, 2.0, 3.0, 4.0, 5.0])
    pairs = lanczos(lambda v: A @ v, np.array([0.0, 0.0, 0.0, 1e-5, 1.0]), k=1)
    assert pairs.converged and pairs.products == 2
    np.testing.assert_allclose(pairs.values, [5e-6], rtol=1e-12)
    np.testing.assert_allclose(pairs.vectors, [[0.0, 0.0, 0.0, 0.0, 1.0]], atol=1e-12)


@pytest.mark.parametrize(
    ("make", "huge"),
    [(linreg_case, 1e200), (neuron_case, 1e160), (mlp_case, 1e160)],
    ids=["linreg", "neuron", "mlp"],
)
def test_sharpness_of_a_huge_finite_row_is_nan_quietly(
    make: Callable[[], Case], huge: float
) -> None:
    # A run that blew up is still finite, but its squares overflow in the difference step
    # (linear regression at 1e200) or in a network's Hessian-vector product (1e160, where
    # Lanczos once fed eigh a tridiagonal of infinities: "Eigenvalues did not converge"):
    # the row's sharpness is NaN, quietly (pytest makes warnings errors).
    case = make()
    traj = case.trajectory[[0, 1, 2]].copy()
    traj[1] = huge
    series = sharpness_series(case.model, case.X, case.y, traj)
    assert np.isnan(series.lambda_max[1])
    assert np.isfinite(series.lambda_max[[0, 2]]).all()


@pytest.mark.parametrize("make", [neuron_case, mlp_case], ids=["neuron", "mlp"])
def test_the_eigenpairs_of_a_network_where_its_products_overflow_are_nan(
    make: Callable[[], Case],
) -> None:
    case = make()
    theta = np.full(case.trajectory.shape[1], 1e160)
    with np.errstate(all="ignore"):
        pairs = top_eigenpairs(case.model, case.X, case.y, theta, k=2)
    # the first product already overflows: one product, no answer, and it says so
    assert pairs.converged is False and pairs.products == 1
    assert pairs.values.shape == (2,) and np.isnan(pairs.values).all()
    assert pairs.vectors.shape == (2, theta.size) and pairs.vectors.dtype == np.float64
    assert np.isnan(pairs.vectors).all()
