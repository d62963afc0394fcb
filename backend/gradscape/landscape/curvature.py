"""Curvature: Hessian-vector products, top eigenpairs by Lanczos, the ``2 / lambda`` edge.

Hessian-vector products are exact for models that expose ``hessian(P)`` (the analytic
surfaces). For networks they are central differences of backprop gradients,

    H v ~ (g(theta + t v) - g(theta - t v)) / (2 t),    t = h / ||v||,

with ``h = FD_STEP * max(1, rms(theta))``. The truncation error is
``(h^2 / 6) |d^3 L[u, u, .]|`` and the rounding error about ``eps |g| / h``; at
``FD_STEP = 3e-5`` ``H v`` is within ``1e-8`` of ``||H v||`` from PyTorch's exact
Hessian on a smooth network, and so is ``lambda_max`` (the tests). On relu networks the Hessian
is piecewise constant and a difference across a kink is not a derivative at all.

Why it matters: gradient descent on a quadratic multiplies the error along an
eigenvector of eigenvalue ``lambda`` by ``1 - lr lambda`` each step, so it closes in
only while ``lr lambda < 2``; ``lr lambda_max`` against 2 says whether a learning rate
is too large. On non-quadratic losses this is the local picture (Cohen et al. 2021 show
training often hovers at this "edge of stability").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypedDict, runtime_checkable

import numpy as np

from gradscape.core.types import FloatArray, IntArray, Model

FD_STEP = 3e-5
#: Largest P for which ``dense_hessian`` builds the full matrix (P Hessian-vector products).
MAX_DENSE_PARAMS = 2000
DEFAULT_TOL = 1e-8
DEFAULT_MAX_ITER = 300


@runtime_checkable
class _ExactHessian(Protocol):
    def hessian(self, P: FloatArray) -> FloatArray: ...


@dataclass(frozen=True, eq=False)
class Eigenpairs:
    """Top eigenvalues ``(k,)`` (descending) and unit eigenvectors ``(k, P)``.

    Each vector's largest entry is positive. ``converged`` is False when the Lanczos
    residuals had not reached the tolerance after ``max_iter`` products.
    """

    values: FloatArray
    vectors: FloatArray
    converged: bool
    products: int  # Hessian-vector products used


class Stability(TypedDict):
    """Learning rate against the gradient-descent stability edge ``2 / lambda_max``."""

    lr: float
    lambda_max: float
    lr_times_lambda: float
    edge: float | None  # 2 / lambda_max, None when lambda_max <= 0 (no edge)
    stable: bool  # lr * lambda_max < 2


@dataclass(frozen=True, eq=False)
class Sharpness:
    """``lambda_max`` ``(S,)`` at trajectory rows ``index`` ``(S,)`` (NaN where not finite)."""

    index: IntArray
    lambda_max: FloatArray


def hvp(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    theta: FloatArray,
    v: FloatArray,
) -> FloatArray:
    """Hessian-vector product ``H(theta) v`` ``(P,)``: exact or central differences."""
    if isinstance(model, _ExactHessian):
        exact: FloatArray = model.hessian(theta) @ v
        return exact
    norm = float(np.linalg.norm(v))
    if norm == 0.0:
        return np.zeros_like(theta)
    t = FD_STEP * max(1.0, float(np.sqrt(np.mean(theta * theta)))) / norm
    _, g_plus = model.loss_and_grad(theta + t * v, X, y)
    _, g_minus = model.loss_and_grad(theta - t * v, X, y)
    product: FloatArray = (g_plus - g_minus) / (2.0 * t)
    return product


def dense_hessian(
    model: Model, X: FloatArray | None, y: FloatArray | None, theta: FloatArray
) -> FloatArray:
    """The full Hessian ``(P, P)``, symmetrised; for small models (``MAX_DENSE_PARAMS``)."""
    if isinstance(model, _ExactHessian):
        exact: FloatArray = np.asarray(model.hessian(theta), dtype=np.float64)
        return exact
    n = model.n_params
    if n > MAX_DENSE_PARAMS:
        raise ValueError(f"dense_hessian: P = {n} is above {MAX_DENSE_PARAMS}; use Lanczos")
    H = np.stack([hvp(model, X, y, theta, e) for e in np.eye(n)])
    sym: FloatArray = 0.5 * (H + H.T)
    return sym


def top_eigenpairs(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    theta: FloatArray,
    k: int = 1,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    seed: int = 0,
) -> Eigenpairs:
    """The ``k`` largest Hessian eigenpairs at ``theta``, by Lanczos on ``hvp``.

    Converged when every wanted Ritz pair's residual is below ``tol * |lambda|_max``;
    the eigenvalue error is at most that residual. Exact Hessians use ``eigh``.
    """
    theta = np.asarray(theta, dtype=np.float64)
    n = model.n_params
    if not 1 <= k <= n:
        raise ValueError(f"k: must be in 1..{n}, got {k}")
    if isinstance(model, _ExactHessian):
        w, vecs = np.linalg.eigh(dense_hessian(model, X, y, theta))
        return Eigenpairs(w[::-1][:k].copy(), _signed(vecs[:, ::-1][:, :k].T), True, 0)
    start = np.random.default_rng(seed).standard_normal(n)

    def matvec(v: FloatArray) -> FloatArray:
        return hvp(model, X, y, theta, v)

    return lanczos(matvec, start, k, tol=tol, max_iter=max_iter)


def lambda_max(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    theta: FloatArray,
    *,
    tol: float = DEFAULT_TOL,
    seed: int = 0,
) -> float:
    """The Hessian's largest eigenvalue at ``theta`` (the sharpness)."""
    return float(top_eigenpairs(model, X, y, theta, 1, tol=tol, seed=seed).values[0])


def lanczos(
    matvec: Callable[[FloatArray], FloatArray],
    start: FloatArray,
    k: int,
    *,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
) -> Eigenpairs:
    """Lanczos with full reorthogonalisation for the ``k`` largest eigenpairs of ``matvec``.

    Stops when the wanted Ritz residuals are below ``tol * |ritz|_max``, after ``max_iter``
    products, or when the Krylov space is invariant. A product that is not finite (a
    point where the gradient overflows) gives NaN pairs, not converged. Like any Krylov
    method from one start vector it sees a repeated eigenvalue once.
    """
    n = start.shape[0]
    steps = max(k, min(n, max_iter))
    Q = np.zeros((steps, n))
    alpha: list[float] = []
    beta: list[float] = []
    q = start / np.linalg.norm(start)
    ritz, S, converged = np.zeros(0), np.zeros((0, 0)), False
    for j in range(steps):
        Q[j] = q
        w = matvec(q)
        if not np.isfinite(w).all():  # the product overflowed (a diverged point): no curvature
            return Eigenpairs(np.full(k, np.nan), np.full((k, n), np.nan), False, j + 1)
        alpha.append(float(q @ w))
        for _ in range(2):  # "twice is enough" to stay orthogonal in floating point
            w -= Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = float(np.linalg.norm(w))
        ritz, S = np.linalg.eigh(_tridiagonal(alpha, beta))
        scale = max(float(np.max(np.abs(ritz))), np.finfo(float).tiny)
        residual = b * np.abs(S[-1, ::-1][:k])
        converged = j + 1 >= k and bool(np.all(residual <= tol * scale))
        if converged or j + 1 == steps:
            break
        if b <= 1e-12 * scale:  # an invariant subspace: continue from a fresh direction
            q = _fresh_direction(Q[: j + 1], np.random.default_rng(j))
            b = 0.0
        else:
            q = w / b
        beta.append(b)
    m = len(alpha)
    vectors = S[:, ::-1][:, :k].T @ Q[:m]
    return Eigenpairs(ritz[::-1][:k].copy(), _signed(vectors), converged or m == n, m)


def stability(lr: float, lambda_max: float) -> Stability:
    """``lr * lambda_max`` against 2: gradient descent is stable below the edge."""
    product = lr * lambda_max
    edge = 2.0 / lambda_max if lambda_max > 0 else None
    return Stability(
        lr=lr, lambda_max=lambda_max, lr_times_lambda=product, edge=edge, stable=product < 2.0
    )


def sharpness_series(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    trajectory: FloatArray,
    every: int = 1,
    *,
    tol: float = 1e-6,
    seed: int = 0,
) -> Sharpness:
    """``lambda_max`` at every ``every``-th row of ``trajectory`` ``(T, P)`` and the last row."""
    if every < 1:
        raise ValueError(f"every: must be at least 1, got {every}")
    traj = np.asarray(trajectory, dtype=np.float64)
    rows = np.unique(np.r_[np.arange(0, len(traj), every), len(traj) - 1]).astype(np.int64)
    values = np.full(rows.shape, np.nan)
    with np.errstate(all="ignore"):
        for i, row in enumerate(rows):
            if np.isfinite(traj[row]).all():
                values[i] = lambda_max(model, X, y, traj[row], tol=tol, seed=seed)
    return Sharpness(rows, np.where(np.isfinite(values), values, np.nan))


def _tridiagonal(alpha: list[float], beta: list[float]) -> FloatArray:
    T = np.diag(alpha)
    off = np.asarray(beta[: len(alpha) - 1])
    idx = np.arange(off.size)
    T[idx, idx + 1] = T[idx + 1, idx] = off
    return T


def _fresh_direction(Q: FloatArray, rng: np.random.Generator) -> FloatArray:
    """A unit vector orthogonal to the rows of ``Q``."""
    v: FloatArray = rng.standard_normal(size=(Q.shape[1],))
    for _ in range(2):
        v = v - Q.T @ (Q @ v)
    unit: FloatArray = v / np.linalg.norm(v)
    return unit


def _signed(vectors: FloatArray) -> FloatArray:
    """Unit rows with their largest-magnitude entry positive (a reproducible sign)."""
    rows = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    largest = rows[np.arange(rows.shape[0]), np.argmax(np.abs(rows), axis=1)]
    signed: FloatArray = rows * np.where(largest < 0, -1.0, 1.0)[:, None]
    return signed
