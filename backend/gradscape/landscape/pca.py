"""Principal directions of a trajectory about a centre, fast for long paths and large P.

For ``M = trajectory - center`` ``(T, P)`` the directions are the top right singular
vectors of ``M`` itself, not of ``M`` minus its mean (which sklearn's PCA in Li et al.'s
code would subtract): the plane has to pass through the centre, and through a fixed
point the uncentred singular vectors give the plane with the smallest total squared
distance to the path. Each direction's share is ``sigma_i^2 / ||M||_F^2``, the
fraction of the path's squared distance from the centre that the plane shows, so the
shares sum to at most 1.
"""

from __future__ import annotations

import numpy as np

from gradscape.core.types import FloatArray

#: Eigendecompose the smaller Gram matrix exactly while it is at most this wide.
EXACT_MAX_DIM = 512
OVERSAMPLE = 10
POWER_ITERATIONS = 4
#: A direction whose share is below this is numerically absent (the path is flatter).
RANK_TOL = 1e-24


def principal_directions(
    M: FloatArray, k: int = 2, *, method: str = "auto", seed: int = 0
) -> tuple[FloatArray, FloatArray]:
    """Top-k right singular vectors ``(k, P)`` of ``M`` ``(T, P)`` and their shares ``(k,)``.

    ``method`` is ``exact`` (eigendecompose the smaller of ``M^T M`` ``(P, P)`` and
    ``M M^T`` ``(T, T)``), ``randomized`` (Halko, Martinsson and Tropp 2011, for when
    both are large) or ``auto``. Signs are fixed so a refit does not flip the picture.
    """
    M = np.asarray(M, dtype=np.float64)
    total = float(np.einsum("ij,ij->", M, M))
    if not np.isfinite(total):
        raise ValueError("pca: the trajectory is not finite")
    if total == 0.0:
        raise ValueError("pca: the trajectory never leaves the centre; take a few steps first")
    if method == "auto":
        method = "exact" if min(M.shape) <= EXACT_MAX_DIM else "randomized"
    if method == "exact":
        V = _exact(M, k)
    elif method == "randomized":
        V = _randomized(M, k, seed)
    else:
        raise ValueError(f"pca: unknown method {method!r}; use auto, exact, randomized")
    V = _orthonormalized(V)
    # Each share measured on the direction kept (|M v|^2), not read off the Gram matrix:
    # there a direction the path does not use has rounding noise, ~1e-16 of the whole.
    coords = M @ V.T
    s2 = np.einsum("ij,ij->j", coords, coords)
    s2, V = _complete(s2, V, total)
    share = np.minimum(s2 / total, 1.0)
    # Rounding can push the sum a hair past 1; the shares are fractions of one whole.
    return _orient(M, V), share / max(1.0, float(share.sum()))


def _exact(M: FloatArray, k: int) -> FloatArray:
    """Top-k right singular vectors (not yet normalised) via the smaller Gram matrix."""
    T, P = M.shape
    if P <= T:
        vecs = np.linalg.eigh(M.T @ M)[1]
        return _pad(vecs[:, ::-1][:, :k].T, k)
    U = np.linalg.eigh(M @ M.T)[1]
    # v_i = M^T u_i / sigma_i; renormalising (later) is more accurate than dividing.
    return _pad((M.T @ U[:, ::-1][:, :k]).T, k)


def _randomized(M: FloatArray, k: int, seed: int) -> FloatArray:
    """Randomised range finder with power iterations, then an exact small problem."""
    rng = np.random.default_rng(seed)
    width = min(k + OVERSAMPLE, *M.shape)
    Y = M @ rng.standard_normal((M.shape[1], width))
    for _ in range(POWER_ITERATIONS):
        # Re-orthonormalising each half step keeps small singular values from rounding away.
        Y = M @ np.linalg.qr(M.T @ np.linalg.qr(Y)[0])[0]
    B = np.linalg.qr(Y)[0].T @ M  # (width, P), same top singular values as M
    U = np.linalg.eigh(B @ B.T)[1]
    return _pad((B.T @ U[:, ::-1][:, :k]).T, k)


def _pad(V: FloatArray, k: int) -> FloatArray:
    return np.vstack([V, np.zeros((k - V.shape[0], V.shape[1]))])


def _orthonormalized(V: FloatArray) -> FloatArray:
    """Rows made orthonormal in order (Gram-Schmidt twice); a row left with nothing is 0.

    Via ``M M^T`` (fewer rows than parameters) a direction the path does not use comes
    out as ``M^T u`` for a noise eigenvector ``u``: mostly the earlier directions again.
    """
    V = V.copy()
    for i in range(V.shape[0]):
        for _ in range(2):
            V[i] -= V[:i].T @ (V[:i] @ V[i])
        norm = float(np.linalg.norm(V[i]))
        V[i] = V[i] / norm if norm > 0 else 0.0
    return V


def _complete(s2: FloatArray, V: FloatArray, total: float) -> tuple[FloatArray, FloatArray]:
    """Replace directions the path does not use by unit vectors orthogonal to the rest.

    A straight path has no second direction; the plane still needs one, and its
    share (0) says honestly that it shows nothing of the path.
    """
    s2, V = s2.copy(), V.copy()
    for i in range(len(s2)):
        if s2[i] > RANK_TOL * total:
            continue
        s2[i] = 0.0
        # Start from the coordinate axis the earlier directions use least.
        v = np.zeros(V.shape[1])
        v[np.argmin(np.sum(V[:i] ** 2, axis=0)) if i else 0] = 1.0
        for _ in range(2):  # Gram-Schmidt twice is enough
            v -= V[:i].T @ (V[:i] @ v)
        V[i] = v / np.linalg.norm(v)
    return s2, V


def _orient(M: FloatArray, V: FloatArray) -> FloatArray:
    """Flip each direction so the path's coordinates along it have positive third moment.

    The far end of the path lands on the positive side (Li et al.'s sklearn made the
    largest coordinate positive); a cube sum changes continuously as the path grows,
    so a refit on a longer path keeps the sign. Ties fall back to the largest entry.
    """
    coords = M @ V.T  # (T, k)
    skew = np.sum(coords**3, axis=0)
    largest = V[np.arange(V.shape[0]), np.argmax(np.abs(V), axis=1)]
    sign = np.where(skew != 0.0, np.sign(skew), np.sign(largest))
    oriented: FloatArray = V * sign[:, None]
    return oriented
