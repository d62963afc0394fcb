"""Planes through parameter space: two named axes, PCA of the path, random, Hessian.

A plane is ``theta(a, b) = center + (a - offset_a) d1 + (b - offset_b) d2``: it passes
through ``center`` (P,), which sits at plane coordinates ``offset``. For ``axes``
the offset is the centre's own two parameter values, so the picture's axes read
``w1 = 0.4`` rather than "0.4 away from somewhere"; for the other modes it is
``(0, 0)``. Re-centring keeps the coordinates of every point (see ``Plane.recentered``).

Modes (Li et al. 2018, "Visualizing the loss landscape of neural nets"):

- ``axes``: unit vectors along two parameters, the rest held at the centre; exact for
  two-parameter models.
- ``pca``: top-2 right singular vectors of ``trajectory - center`` (section 7).
- ``random``: seeded Gaussian directions with filter normalisation (section 4).
- ``hessian``: the two eigenvectors of the Hessian at the centre with the largest
  eigenvalues (the sharpest directions).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from gradscape.core.nn import MLP
from gradscape.core.types import FloatArray, Model
from gradscape.landscape.curvature import top_eigenpairs
from gradscape.landscape.pca import principal_directions

MODES = ("axes", "pca", "random", "hessian")
CenterSpec = str | int | FloatArray


@dataclass(frozen=True, eq=False)
class Plane:
    """``theta(a, b) = center + (a - offset[0]) d1 + (b - offset[1]) d2``, all ``(P,)``.

    ``options`` holds what reproduces the plane (``params``, ``seed``, ...) and, for
    ``hessian``, the eigenvalues. Treat the arrays as read-only.
    """

    mode: str
    center: FloatArray
    d1: FloatArray
    d2: FloatArray
    labels: tuple[str, str]
    offset: tuple[float, float] = (0.0, 0.0)
    explained_variance: tuple[float, float] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Check the vectors agree in shape and are finite."""
        shapes = {np.shape(v) for v in (self.center, self.d1, self.d2)}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError(f"plane: center, d1, d2 must be (P,) vectors, got {shapes}")
        if not all(np.isfinite(v).all() for v in (self.center, self.d1, self.d2, self.offset)):
            raise ValueError("plane: center, directions and offset must be finite")
        g11, g22, g12 = self.d1 @ self.d1, self.d2 @ self.d2, self.d1 @ self.d2
        # Coordinates solve the 2 x 2 Gram system, so the directions must span a plane.
        if g11 * g22 - g12 * g12 <= 1e-12 * g11 * g22 or g11 * g22 == 0.0:
            raise ValueError("plane: the two directions are zero or parallel")

    @property
    def directions(self) -> FloatArray:
        """``[d1; d2]`` ``(2, P)``."""
        return np.vstack([self.d1, self.d2])

    @property
    def origin(self) -> FloatArray:
        """The point at plane coordinates ``(0, 0)`` ``(P,)``."""
        a, b = self.offset
        # For axes this zeroes the two parameters exactly, so theta(a, b) is exact too.
        origin: FloatArray = self.center - a * self.d1 - b * self.d2
        return origin

    def point(self, a: float, b: float) -> FloatArray:
        """``theta(a, b)`` ``(P,)``."""
        point: FloatArray = self.origin + a * self.d1 + b * self.d2
        return point

    def coordinates(self, thetas: FloatArray) -> FloatArray:
        """Least-squares plane coordinates ``(T, 2)`` of points ``(T, P)``."""
        D = self.directions
        rhs = (np.atleast_2d(np.asarray(thetas, dtype=np.float64)) - self.origin) @ D.T
        coords: FloatArray = np.asarray(np.linalg.solve(D @ D.T, rhs.T).T, dtype=np.float64)
        return coords

    def recentered(self, theta: FloatArray) -> Plane:
        """The parallel plane through ``theta``, keeping every point's coordinates.

        The new offset is ``theta``'s coordinates on this plane, so a live view that
        re-centres each frame keeps the path and axes still while the surface follows.
        """
        theta = np.array(theta, dtype=np.float64)
        if theta.shape != self.center.shape:
            raise ValueError(f"center: expected shape {self.center.shape}, got {theta.shape}")
        # For axes this is exact: theta's own two values.
        a, b = self.coordinates(theta)[0]
        return replace(self, center=theta, offset=(float(a), float(b)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form; ``Plane.from_dict`` rebuilds the same plane."""
        ev = self.explained_variance
        return {
            "mode": self.mode,
            "center": self.center.tolist(),
            "d1": self.d1.tolist(),
            "d2": self.d2.tolist(),
            "labels": list(self.labels),
            "offset": list(self.offset),
            "explained_variance": None if ev is None else list(ev),
            "options": dict(self.options),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plane:
        """The plane ``to_dict`` described; ValueError on a malformed one."""
        try:
            ev = data.get("explained_variance")
            a, b = (float(v) for v in data.get("offset", (0.0, 0.0)))
            first, second = (str(s) for s in data["labels"])
            vectors = [np.array(data[key], dtype=np.float64) for key in ("center", "d1", "d2")]
            variance = None if ev is None else (float(ev[0]), float(ev[1]))
            options = dict(data.get("options", {}))
            mode = _check_mode(data["mode"])
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise ValueError(f"plane: malformed ({exc})") from None
        center, d1, d2 = vectors
        return cls(mode, center, d1, d2, (first, second), (a, b), variance, options)


def make_plane(
    mode: str,
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    trajectory: FloatArray | None = None,
    *,
    center: CenterSpec = "final",
    params: tuple[int | str, int | str] | None = None,
    seed: int = 0,
    orthogonalize: bool = False,
    ignore_biases: bool = True,
) -> Plane:
    """A plane of ``mode`` through ``center`` (see ``resolve_center``).

    ``params`` picks the ``axes`` (default the first two parameters); ``seed``,
    ``orthogonalize`` and ``ignore_biases`` shape ``random`` (and ``seed`` the Lanczos
    start of ``hessian``). ``trajectory`` ``(T, P)`` is needed by ``pca`` and by the
    named centres.
    """
    mode = _check_mode(mode)
    traj = None if trajectory is None else _as_trajectory(trajectory, model.n_params)
    theta = resolve_center(center, traj, model.n_params)
    spec = _center_spec(center)
    if mode == "axes":
        return axes_plane(model, theta, params, center_spec=spec)
    if mode == "pca":
        if traj is None:
            raise ValueError("pca: needs a trajectory")
        return pca_plane(traj, theta, center_spec=spec)
    if mode == "random":
        return random_plane(
            model, theta, seed=seed, orthogonalize=orthogonalize, ignore_biases=ignore_biases,
            center_spec=spec,
        )  # fmt: skip
    return hessian_plane(model, X, y, theta, seed=seed, center_spec=spec)


def resolve_center(center: CenterSpec, trajectory: FloatArray | None, n_params: int) -> FloatArray:
    """``"initial"``, ``"final"``/``"current"`` (last row), a row index, or a ``(P,)`` theta."""
    if isinstance(center, str):
        if center not in ("initial", "final", "current"):
            raise ValueError(f"center: unknown {center!r}; use initial, final, current")
        if trajectory is None or len(trajectory) == 0:
            raise ValueError(f"center: {center!r} needs a trajectory")
        row: FloatArray = trajectory[0 if center == "initial" else -1].copy()
        return row
    if isinstance(center, int | np.integer) and not isinstance(center, bool):
        if trajectory is None or not -len(trajectory) <= center < len(trajectory):
            raise ValueError(f"center: step {center} is not a row of the trajectory")
        step: FloatArray = trajectory[int(center)].copy()
        return step
    theta = np.array(center, dtype=np.float64)
    if theta.shape != (n_params,) or not np.isfinite(theta).all():
        raise ValueError(f"center: expected {n_params} finite parameters, got {theta.shape}")
    return theta


def center_at_step(
    center: CenterSpec, last_step: int, params_at: Callable[[int], FloatArray]
) -> CenterSpec:
    """A centre given as a step ``0..last_step`` of a run, resolved to that step's theta.

    Names and explicit vectors pass through to ``resolve_center``; ``"current"`` is the
    last step's theta.
    """
    if isinstance(center, int | np.integer) and not isinstance(center, bool):
        if not 0 <= center <= last_step:
            raise ValueError(f"center: step must be in [0, {last_step}], got {center}")
        return params_at(int(center))
    if isinstance(center, str) and center == "current":
        return params_at(last_step)
    return center


def axes_plane(
    model: Model,
    center: FloatArray,
    params: tuple[int | str, int | str] | None = None,
    *,
    center_spec: Any = None,
) -> Plane:
    """Two parameters (index or name) as axes; coordinates are their actual values."""
    names = model.param_names
    i, j = (_param_index(p, names) for p in (params or (0, 1)))
    if i == j:
        raise ValueError(f"params: the two axes must differ, got {names[i]!r} twice")
    d1, d2 = np.zeros(len(names)), np.zeros(len(names))
    d1[i] = d2[j] = 1.0
    offset = (float(center[i]), float(center[j]))
    options = {"params": [i, j], "center": center_spec}
    return Plane("axes", center.copy(), d1, d2, (names[i], names[j]), offset, None, options)


def pca_plane(trajectory: FloatArray, center: FloatArray, *, center_spec: Any = None) -> Plane:
    """Top-2 principal directions of ``trajectory - center`` with their variance shares."""
    (d1, d2), share = principal_directions(trajectory - center, k=2)
    labels = (f"PC1 ({100 * share[0]:.1f} %)", f"PC2 ({100 * share[1]:.1f} %)")
    ev = (float(share[0]), float(share[1]))
    options = {"center": center_spec, "steps": len(trajectory)}
    return Plane("pca", center.copy(), d1, d2, labels, (0.0, 0.0), ev, options)


def random_plane(
    model: Model,
    center: FloatArray,
    *,
    seed: int = 0,
    orthogonalize: bool = False,
    ignore_biases: bool = True,
    center_spec: Any = None,
) -> Plane:
    """Two seeded Gaussian directions, filter-normalised to the centre's weights.

    ``orthogonalize`` removes d2's component along d1 and restores d2's length, so
    d2's per-neuron norms then hold only approximately.
    """
    rng = np.random.default_rng(seed)
    d1 = filter_normalize(model, center, rng.standard_normal(center.shape), ignore_biases)
    d2 = filter_normalize(model, center, rng.standard_normal(center.shape), ignore_biases)
    if orthogonalize:
        norm = np.linalg.norm(d2)
        d2 = d2 - (d2 @ d1) / (d1 @ d1) * d1
        d2 *= norm / np.linalg.norm(d2)
    options = {
        "seed": seed,
        "orthogonalize": orthogonalize,
        "ignore_biases": ignore_biases,
        "center": center_spec,
    }
    return Plane("random", center.copy(), d1, d2, ("random 1", "random 2"), options=options)


def plain_random_plane(center: FloatArray, *, seed: int = 0) -> Plane:
    """Two seeded Gaussian directions scaled to the centre's norm (at least 1), unnormalised.

    For models of a few parameters: filter normalisation (Li et al.) rescales each
    neuron's slice to its weights' norm, and when a neuron has one weight that leaves
    only a sign, so the two directions collapse onto one line. These do not.
    """
    rng = np.random.default_rng(seed)
    d1, d2 = rng.standard_normal((2, center.shape[0]))
    scale = max(float(np.linalg.norm(center)), 1.0)
    d1 *= scale / np.linalg.norm(d1)
    d2 *= scale / np.linalg.norm(d2)
    options = {"seed": seed, "filter_normalized": False}
    return Plane("random", center.copy(), d1, d2, ("random 1", "random 2"), options=options)


def filter_normalize(
    model: Model, center: FloatArray, direction: FloatArray, ignore_biases: bool = True
) -> FloatArray:
    """Scale each neuron's slice of ``direction`` to the norm of the centre's (P,).

    A neuron is a column of ``W``. Biases follow Li et al.'s code: zero when
    ``ignore_biases`` (their ``--xignore biasbn``, used in all their examples), else a
    copy of the centre's biases. Models without layers scale per ``layer_slices``.
    """
    d = direction.astype(np.float64, copy=True)
    if isinstance(model, MLP):
        for L in model.layers:
            Wd = d[L.w_slice].reshape(L.fan_in, L.fan_out)
            Wc = center[L.w_slice].reshape(L.fan_in, L.fan_out)
            Wd *= _ratio(np.linalg.norm(Wc, axis=0), np.linalg.norm(Wd, axis=0))
            d[L.w_slice] = Wd.ravel()
            d[L.b_slice] = 0.0 if ignore_biases else center[L.b_slice]
    else:
        for _, part in model.layer_slices:
            d[part] *= _ratio(np.linalg.norm(center[part]), np.linalg.norm(d[part]))
    if not np.any(d):
        raise ValueError(
            "random: the centre's weights are all zero, so filter-normalised directions "
            "vanish; centre the plane elsewhere"
        )
    return d


def hessian_plane(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    center: FloatArray,
    *,
    seed: int = 0,
    center_spec: Any = None,
) -> Plane:
    """The Hessian's top-2 eigenvectors at the centre (unit length, largest entry > 0)."""
    if model.n_params < 2:
        raise ValueError("hessian: needs at least two parameters")
    pairs = top_eigenpairs(model, X, y, center, k=2, seed=seed)
    lam = [float(v) for v in pairs.values]
    labels = (f"H1 (λ = {lam[0]:.3g})", f"H2 (λ = {lam[1]:.3g})")
    options = {
        "seed": seed,
        "eigenvalues": lam,
        "converged": pairs.converged,
        "center": center_spec,
    }
    d1, d2 = pairs.vectors
    return Plane("hessian", center.copy(), d1, d2, labels, options=options)


def _check_mode(mode: Any) -> str:
    if mode not in MODES:
        raise ValueError(f"mode: unknown plane {mode!r}; known: {', '.join(MODES)}")
    return str(mode)


def _as_trajectory(trajectory: FloatArray, n_params: int) -> FloatArray:
    traj = np.asarray(trajectory, dtype=np.float64)
    if traj.ndim != 2 or traj.shape[1] != n_params or traj.shape[0] == 0:
        raise ValueError(f"trajectory: expected shape (T, {n_params}), got {traj.shape}")
    return traj


def _center_spec(center: CenterSpec) -> Any:
    """The centre as JSON: its name, its step, or "explicit" (the vector is in the plane)."""
    if isinstance(center, str):
        return center
    if isinstance(center, int | np.integer) and not isinstance(center, bool):
        return int(center)
    return "explicit"


def _param_index(param: int | str, names: tuple[str, ...]) -> int:
    if isinstance(param, str):
        if param not in names:
            shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
            raise ValueError(f"params: unknown parameter {param!r}; known: {shown}")
        return names.index(param)
    if isinstance(param, bool) or not isinstance(param, int | np.integer):
        raise ValueError(f"params: expected an index or a name, got {param!r}")
    if not 0 <= param < len(names):
        raise ValueError(f"params: index {param} out of range 0..{len(names) - 1}")
    return int(param)


def _ratio(target: Any, current: Any) -> Any:
    """``target / current``, 0 where ``current`` is 0 (Li et al. add 1e-10 instead)."""
    current = np.asarray(current, dtype=np.float64)
    safe = np.where(current > 0, current, 1.0)
    return np.where(current > 0, target / safe, 0.0)
