"""Loss surfaces on a plane, the descent path projected onto it, and 1-D slices.

``z[row][col]`` is the loss at ``(x[col], y[row])`` (Plotly's convention). Non-finite
losses are NaN in ``z`` (``to_dict`` sends them as null). The path comes back with its
true loss, the surface height under it and its distance off the plane, so a picture
never pretends a path lies on a surface it has left.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradscape.core.records import finite_or_none
from gradscape.core.types import FloatArray, Model
from gradscape.landscape.directions import Plane
from gradscape.landscape.evaluate import affine_losses

Extent = tuple[tuple[float, float], tuple[float, float]]

DEFAULT_RESOLUTION = 61
MAX_RESOLUTION = 1001
#: Automatic extents pad the path's bounding box by this fraction of its span per side.
MARGIN = 0.25
#: ``random`` planes span +-1 filter-normalised units about the centre (Li et al.).
RANDOM_HALF_WIDTH = 1.0
MAX_COORD = 1e300


@dataclass(frozen=True, eq=False)
class PathProjection:
    """A trajectory seen on a plane: all ``(T,)``.

    ``a, b`` are least-squares plane coordinates; ``loss`` is the true loss at each
    point; ``surface_height`` the loss at its foot on the plane; ``off_plane_distance``
    the Euclidean distance between the two. Non-finite entries are NaN.
    """

    a: FloatArray
    b: FloatArray
    loss: FloatArray
    surface_height: FloatArray
    off_plane_distance: FloatArray

    def to_dict(self) -> dict[str, list[float | None]]:
        """JSON-able columns, null where not finite."""
        names = ("a", "b", "loss", "surface_height", "off_plane_distance")
        return {name: _json_list(getattr(self, name)) for name in names}


@dataclass(frozen=True, eq=False)
class Surface:
    """A grid of losses over a plane: ``x (G,)``, ``y (G,)``, ``z (G, G)`` with ``z[y][x]``.

    With ``log_scale`` the ``z`` values and the paths' ``loss``/``surface_height`` are
    ``log10`` of the loss (zeros shown at the smallest positive loss drawn).
    """

    x: FloatArray
    y: FloatArray
    z: FloatArray
    labels: tuple[str, str]
    plane: Plane
    extent: Extent
    precision: str
    log_scale: bool
    path: PathProjection | None = None
    overlays: tuple[PathProjection, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form: the grid with null for non-finite values, labels, plane, paths."""
        return {
            "x": _json_list(self.x),
            "y": _json_list(self.y),
            "z": [_json_list(row) for row in self.z],
            "labels": list(self.labels),
            "extent": [list(self.extent[0]), list(self.extent[1])],
            "precision": self.precision,
            "log_scale": self.log_scale,
            "plane": self.plane.to_dict(),
            "path": None if self.path is None else self.path.to_dict(),
            "overlays": [p.to_dict() for p in self.overlays],
        }


@dataclass(frozen=True, eq=False)
class Slice:
    """Loss ``(S,)`` along a line ``theta(alpha)`` at ``alphas`` ``(S,)``; NaN if not finite."""

    alphas: FloatArray
    loss: FloatArray

    def to_dict(self) -> dict[str, list[float | None]]:
        """JSON-able columns, null where not finite."""
        return {"alphas": _json_list(self.alphas), "loss": _json_list(self.loss)}


def surface(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    plane: Plane,
    *,
    resolution: int = DEFAULT_RESOLUTION,
    extent: Extent | None = None,
    path: FloatArray | None = None,
    overlays: Sequence[FloatArray] = (),
    precision: str = "float32",
    log_scale: bool = False,
    workers: int | None = None,
    between: Callable[[], None] | None = None,
) -> Surface:
    """The loss on a ``resolution`` x ``resolution`` grid over ``plane``.

    ``between`` is called after each chunk of grid points (a caller's turn-taking or
    time budget; it may raise to stop).
    ``extent`` ``((x0, x1), (y0, y1))`` defaults to ``auto_extent`` of the projected
    ``path`` and ``overlays`` (other runs' ``(T, P)`` trajectories on the same plane).
    ``precision`` ``float32`` is for display (relative error ~1e-7); ``float64`` for
    exact values. Paths are always evaluated in float64.
    """
    resolution = _check_resolution(resolution)
    main = None if path is None else project_path(model, X, y, plane, path)
    others = tuple(project_path(model, X, y, plane, t) for t in overlays)
    projections = ([] if main is None else [main]) + list(others)
    box = auto_extent(plane, projections, model) if extent is None else _check_extent(extent)
    xs = np.linspace(box[0][0], box[0][1], resolution)
    ys = np.linspace(box[1][0], box[1][1], resolution)
    grid_x, grid_y = np.meshgrid(xs, ys)  # rows follow y, columns x
    coords = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    z = _finite_or_nan(
        affine_losses(
            model, X, y, plane.origin, plane.directions, coords,
            precision=precision, workers=workers, between=between,
        )
    ).reshape(resolution, resolution)  # fmt: skip
    if log_scale:
        floor = _log_floor(z, projections)
        z = _log10(z, floor)
        main = None if main is None else _log_path(main, floor)
        others = tuple(_log_path(p, floor) for p in others)
    return Surface(xs, ys, z, plane.labels, plane, box, precision, log_scale, main, others)


def project_path(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    plane: Plane,
    trajectory: FloatArray,
) -> PathProjection:
    """Plane coordinates, true loss, surface height and off-plane distance per row."""
    traj = np.atleast_2d(np.asarray(trajectory, dtype=np.float64))
    if traj.ndim != 2 or traj.shape[1] != plane.center.shape[0]:
        raise ValueError(
            f"trajectory: expected shape (T, {plane.center.shape[0]}), got {traj.shape}"
        )
    with np.errstate(all="ignore"):
        coords = plane.coordinates(traj)
        foot = plane.origin + coords @ plane.directions
        off = np.linalg.norm(traj - foot, axis=1)
        loss = model.batch_loss(traj, X, y)
    height = affine_losses(model, X, y, plane.origin, plane.directions, coords)
    a, b = coords[:, 0], coords[:, 1]
    parts = (a, b, loss, height, off)
    return PathProjection(*(_finite_or_nan(np.asarray(p, dtype=np.float64)) for p in parts))


def auto_extent(
    plane: Plane, paths: Sequence[PathProjection], model: Model | None = None
) -> Extent:
    """The centre and every finite path point, padded by ``MARGIN``.

    ``random`` planes span ``+-RANDOM_HALF_WIDTH`` about the centre, as in Li et al.
    An ``axes`` plane of a two-parameter model with a default ``extent`` (the analytic
    surfaces) also covers that. A path with no spread gets +-1 about the centre.
    """
    ca, cb = plane.offset
    if plane.mode == "random":
        h = RANDOM_HALF_WIDTH
        return ((ca - h, ca + h), (cb - h, cb + h))
    a = np.concatenate([[ca], *(p.a for p in paths)])
    b = np.concatenate([[cb], *(p.b for p in paths)])
    keep = np.isfinite(a) & np.isfinite(b)
    lo, hi = np.array([a[keep].min(), b[keep].min()]), np.array([a[keep].max(), b[keep].max()])
    with np.errstate(over="ignore", invalid="ignore"):
        span = hi - lo
        # A flat direction still gets a visible band, a fraction of the other's span.
        pad = np.maximum(MARGIN * span, 0.1 * span.max()) if span.max() > 0 else np.ones(2)
        # A path that ran off to 1e308 still gets a finite (if useless) grid.
        lo, hi = np.clip(lo - pad, -MAX_COORD, MAX_COORD), np.clip(hi + pad, -MAX_COORD, MAX_COORD)
    default = getattr(model, "extent", None)
    if plane.mode == "axes" and plane.center.shape[0] == 2 and default is not None:
        (x0, x1), (y0, y1) = default
        lo, hi = np.minimum(lo, [x0, y0]), np.maximum(hi, [x1, y1])
    return ((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])))


def interpolate(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    theta_a: FloatArray,
    theta_b: FloatArray,
    alphas: FloatArray | None = None,
) -> Slice:
    """Loss along ``(1 - alpha) theta_a + alpha theta_b``; alphas default 101 in [-0.5, 1.5]."""
    theta_a = np.asarray(theta_a, dtype=np.float64)
    direction = np.asarray(theta_b, dtype=np.float64) - theta_a
    if alphas is None:
        alphas = np.linspace(-0.5, 1.5, 101)
    return slice_along(model, X, y, theta_a, direction, alphas)


def slice_along(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    center: FloatArray,
    direction: FloatArray,
    alphas: FloatArray | None = None,
) -> Slice:
    """Loss along ``center + alpha direction`` (float64); alphas default 101 in [-1, 1]."""
    center = np.asarray(center, dtype=np.float64)
    direction = np.asarray(direction, dtype=np.float64)
    if center.shape != (model.n_params,) or direction.shape != center.shape:
        raise ValueError(f"slice: center and direction must have shape ({model.n_params},)")
    alphas = np.linspace(-1.0, 1.0, 101) if alphas is None else np.asarray(alphas, np.float64)
    if alphas.ndim != 1 or not np.isfinite(alphas).all():
        raise ValueError("alphas: expected a finite 1-D array")
    loss = affine_losses(model, X, y, center, direction[None, :], alphas[:, None])
    return Slice(alphas, _finite_or_nan(loss))


def _check_resolution(resolution: int) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
        raise ValueError(f"resolution: expected an integer, got {resolution!r}")
    if not 2 <= resolution <= MAX_RESOLUTION:
        raise ValueError(f"resolution: must be in [2, {MAX_RESOLUTION}], got {resolution}")
    return int(resolution)


def _check_extent(extent: Extent) -> Extent:
    try:
        (x0, x1), (y0, y1) = ((float(lo), float(hi)) for lo, hi in extent)
    except (TypeError, ValueError):
        raise ValueError(f"extent: expected ((x0, x1), (y0, y1)), got {extent!r}") from None
    if not all(map(math.isfinite, (x0, x1, y0, y1))) or not (x0 < x1 and y0 < y1):
        raise ValueError(f"extent: need finite x0 < x1 and y0 < y1, got {extent!r}")
    return ((x0, x1), (y0, y1))


def _finite_or_nan(values: FloatArray) -> FloatArray:
    out: FloatArray = np.where(np.isfinite(values), values, np.nan)
    return out


def _log_floor(z: FloatArray, paths: Sequence[PathProjection]) -> float:
    """The smallest positive loss on the grid or paths; ValueError if any is negative."""
    values = np.concatenate([z.ravel(), *(np.r_[p.loss, p.surface_height] for p in paths)])
    finite = values[np.isfinite(values)]
    if finite.size and finite.min() < 0:
        raise ValueError(f"log_scale: the loss goes negative ({finite.min():.3g}); use linear")
    positive = finite[finite > 0]
    return float(positive.min()) if positive.size else float(np.finfo(np.float64).tiny)


def _log10(values: FloatArray, floor: float) -> FloatArray:
    with np.errstate(all="ignore"):
        out: FloatArray = np.log10(np.maximum(values, floor))
    return out


def _log_path(p: PathProjection, floor: float) -> PathProjection:
    return PathProjection(
        p.a, p.b, _log10(p.loss, floor), _log10(p.surface_height, floor), p.off_plane_distance
    )


def _json_list(values: FloatArray) -> list[float | None]:
    return [finite_or_none(v) for v in values.tolist()]
