"""Surfaces, path projection, overlays and 1-D slices."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from gradscape.core.functions import make_function
from gradscape.core.nn import MLP
from gradscape.landscape import (
    MAX_RESOLUTION,
    MODES,
    PathProjection,
    Plane,
    auto_extent,
    interpolate,
    make_plane,
    project_path,
    slice_along,
    surface,
)
from gradscape.landscape.surface import _check_resolution
from tests.landscape.conftest import (
    Case,
    descend,
    function_case,
    linreg_case,
    mlp_case,
    neuron_case,
)

CASES = {
    "mlp": mlp_case,
    "neuron": neuron_case,
    "rosenbrock": lambda: function_case("rosenbrock"),
    "quadratic": lambda: function_case("quadratic", lr=0.5, steps=30),
}
TOLERANCE = {"float64": (1e-12, 0.0), "float32": (1e-5, 1e-7)}


def _loop(case: Case, plane: Plane, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The reference: the core's own loss, one grid point at a time, ``[row = y][col = x]``."""
    return np.array([[case.model.loss(plane.point(a, b), case.X, case.y) for a in xs] for b in ys])


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(CASES))
def test_surface_equals_a_per_point_loop(name: str, mode: str, precision: str) -> None:
    case = CASES[name]()
    plane = make_plane(mode, case.model, case.X, case.y, case.trajectory)
    s = surface(case.model, case.X, case.y, plane, resolution=7, precision=precision)
    ref = _loop(case, plane, s.x, s.y)
    rtol, atol = TOLERANCE[precision]
    assert s.z.shape == (7, 7)
    np.testing.assert_allclose(s.z, ref, rtol=rtol, atol=atol)


def test_z_rows_follow_y_and_columns_follow_x() -> None:
    f = make_function("saddle")  # x^2 - y^2: rises along x, falls along y
    plane = make_plane("axes", f, None, None, center=np.array([0.0, 0.0]))
    s = surface(f, None, None, plane, resolution=5, extent=((-2.0, 2.0), (0.0, 1.0)))
    np.testing.assert_array_equal(s.x, np.linspace(-2, 2, 5))
    np.testing.assert_array_equal(s.y, np.linspace(0, 1, 5))
    np.testing.assert_allclose(s.z, s.x[None, :] ** 2 - s.y[:, None] ** 2)
    assert s.labels == ("x", "y")


@pytest.mark.parametrize("factory", [linreg_case, lambda: function_case("beale")])
def test_a_two_parameter_path_lies_exactly_on_the_axes_surface(factory) -> None:  # type: ignore[no-untyped-def]
    case = factory()
    plane = make_plane("axes", case.model, case.X, case.y, case.trajectory)
    proj = surface(case.model, case.X, case.y, plane, path=case.trajectory).path
    assert proj is not None
    np.testing.assert_array_equal(proj.off_plane_distance, 0.0)
    np.testing.assert_array_equal(proj.a, case.trajectory[:, 0])  # axes read actual values
    np.testing.assert_array_equal(proj.b, case.trajectory[:, 1])
    np.testing.assert_allclose(proj.surface_height, proj.loss, rtol=1e-12, atol=0)


def test_a_path_off_a_random_plane_reports_its_distance(mlp: Case) -> None:
    plane = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory, seed=3)
    proj = project_path(mlp.model, mlp.X, mlp.y, plane, mlp.trajectory)
    foot = plane.origin + np.column_stack([proj.a, proj.b]) @ plane.directions
    residual = mlp.trajectory - foot
    np.testing.assert_allclose(residual @ plane.directions.T, 0.0, atol=1e-10)  # least squares
    np.testing.assert_allclose(proj.off_plane_distance, np.linalg.norm(residual, axis=1))
    assert proj.off_plane_distance[-1] == pytest.approx(0.0, abs=1e-12)  # the centre
    assert proj.off_plane_distance[0] > 0.1
    loss = [mlp.model.loss(t, mlp.X, mlp.y) for t in mlp.trajectory]
    np.testing.assert_allclose(proj.loss, loss, rtol=1e-12)
    heights = [mlp.model.loss(f, mlp.X, mlp.y) for f in foot]
    np.testing.assert_allclose(proj.surface_height, heights, rtol=1e-12)


def test_auto_extent_covers_the_path_and_centre_with_a_margin(mlp: Case) -> None:
    plane = make_plane("pca", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    s = surface(mlp.model, mlp.X, mlp.y, plane, resolution=3, path=mlp.trajectory)
    assert s.path is not None
    (x0, x1), (y0, y1) = s.extent
    assert x0 < s.path.a.min() and s.path.a.max() < x1
    assert y0 < s.path.b.min() and s.path.b.max() < y1
    assert x0 < 0 < x1 and y0 < 0 < y1  # the centre (final point) is at the origin


def test_random_planes_span_one_unit_each_way(mlp: Case) -> None:
    plane = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    assert auto_extent(plane, []) == ((-1.0, 1.0), (-1.0, 1.0))


def test_analytic_axes_cover_the_function_default_extent(rosenbrock: Case) -> None:
    plane = make_plane("axes", rosenbrock.model, None, None, rosenbrock.trajectory)
    (x0, x1), (y0, y1) = surface(rosenbrock.model, None, None, plane, resolution=2).extent
    (fx0, fx1), (fy0, fy1) = make_function("rosenbrock").extent
    assert x0 <= fx0 and x1 >= fx1 and y0 <= fy0 and y1 >= fy1


def test_explicit_extent_and_resolution_bounds(neuron: Case) -> None:
    plane = make_plane("axes", neuron.model, neuron.X, neuron.y, neuron.trajectory)
    s = surface(neuron.model, neuron.X, neuron.y, plane, resolution=2, extent=((0, 1), (2, 3)))
    assert s.extent == ((0.0, 1.0), (2.0, 3.0))
    assert s.z.shape == (2, 2)
    for bad in (1, MAX_RESOLUTION + 1, 2.5, True):
        with pytest.raises(ValueError, match="resolution"):
            surface(neuron.model, neuron.X, neuron.y, plane, resolution=bad)  # type: ignore[arg-type]
    for box in (((1, 0), (0, 1)), ((0, np.inf), (0, 1)), ((0, 1),)):
        with pytest.raises(ValueError, match="extent"):
            surface(neuron.model, neuron.X, neuron.y, plane, extent=box)  # type: ignore[arg-type]


def test_non_finite_losses_are_nan_and_null_in_json() -> None:
    f = make_function("rosenbrock")
    plane = make_plane("axes", f, None, None, center=np.array([0.0, 0.0]))
    s = surface(f, None, None, plane, resolution=3, extent=((-1e200, 1e200), (-1.0, 1.0)))
    assert np.isnan(s.z[:, 0]).all() and np.isfinite(s.z[:, 1]).all()
    data = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert data["z"][0][0] is None and data["z"][0][1] is not None
    assert data["plane"]["mode"] == "axes"


def test_log_scale_is_log10_with_zero_clipped(linreg: Case) -> None:
    f = make_function("quadratic")
    plane = make_plane("axes", f, None, None, center=np.array([0.0, 0.0]))
    box = ((-1.0, 1.0), (-1.0, 1.0))
    lin = surface(f, None, None, plane, resolution=5, extent=box)
    log = surface(f, None, None, plane, resolution=5, extent=box, log_scale=True)
    positive = lin.z[lin.z > 0]
    np.testing.assert_allclose(log.z, np.log10(np.maximum(lin.z, positive.min())))
    assert lin.z[2, 2] == 0.0 and np.isfinite(log.z).all()
    saddle = make_function("saddle")
    with pytest.raises(ValueError, match="negative"):
        surface(saddle, None, None, plane, resolution=3, extent=box, log_scale=True)


def test_log_scale_applies_to_the_path_too(rosenbrock: Case) -> None:
    plane = make_plane("axes", rosenbrock.model, None, None, rosenbrock.trajectory)
    s = surface(rosenbrock.model, None, None, plane, resolution=3, path=rosenbrock.trajectory)
    logged = surface(
        rosenbrock.model,
        None,
        None,
        plane,
        resolution=3,
        path=rosenbrock.trajectory,
        log_scale=True,
    )
    assert s.path is not None and logged.path is not None
    np.testing.assert_allclose(logged.path.loss, np.log10(s.path.loss))


def test_overlays_share_the_plane_and_the_extent(mlp: Case) -> None:
    # Same start, two optimisers: plain descent and a larger step.
    fast = descend(mlp.model, mlp.X, mlp.y, mlp.trajectory[0], 1.5, 60)
    plane = make_plane("pca", mlp.model, mlp.X, mlp.y, np.vstack([mlp.trajectory, fast]))
    s = surface(mlp.model, mlp.X, mlp.y, plane, resolution=3, path=mlp.trajectory, overlays=[fast])
    assert s.path is not None and len(s.overlays) == 1
    other = project_path(mlp.model, mlp.X, mlp.y, plane, fast)
    np.testing.assert_array_equal(s.overlays[0].a, other.a)
    (x0, x1), _ = s.extent
    assert x0 < min(s.path.a.min(), other.a.min()) and max(s.path.a.max(), other.a.max()) < x1
    assert s.path.a[0] == pytest.approx(other.a[0])  # the shared start
    with pytest.raises(ValueError, match="trajectory"):
        surface(mlp.model, mlp.X, mlp.y, plane, overlays=[fast[:, :3]])


def test_recentering_keeps_coordinates_and_moves_the_surface(mlp: Case) -> None:
    plane = make_plane("pca", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    before = project_path(mlp.model, mlp.X, mlp.y, plane, mlp.trajectory)
    moved = plane.recentered(mlp.trajectory[20])
    after = project_path(mlp.model, mlp.X, mlp.y, moved, mlp.trajectory)
    np.testing.assert_allclose(after.a, before.a, atol=1e-12)
    np.testing.assert_allclose(after.b, before.b, atol=1e-12)
    assert after.off_plane_distance[20] == pytest.approx(0.0, abs=1e-12)
    a, b = moved.offset
    s = surface(mlp.model, mlp.X, mlp.y, moved, resolution=3, extent=((a, a + 1), (b, b + 1)))
    assert s.z[0, 0] == pytest.approx(mlp.model.loss(mlp.trajectory[20], mlp.X, mlp.y), rel=1e-5)


def test_axes_recentering_keeps_actual_parameter_values(neuron: Case) -> None:
    plane = make_plane("axes", neuron.model, neuron.X, neuron.y, neuron.trajectory, params=(0, 2))
    moved = plane.recentered(neuron.trajectory[7])
    assert moved.offset == (neuron.trajectory[7][0], neuron.trajectory[7][2])
    np.testing.assert_array_equal(moved.point(*moved.offset), neuron.trajectory[7])


def test_interpolation_runs_from_theta_a_to_theta_b(mlp: Case) -> None:
    start, end = mlp.trajectory[0], mlp.trajectory[-1]
    line = interpolate(mlp.model, mlp.X, mlp.y, start, end)
    assert line.alphas[0] == -0.5 and line.alphas[-1] == 1.5 and line.alphas.size == 101
    ref = [mlp.model.loss((1 - t) * start + t * end, mlp.X, mlp.y) for t in line.alphas]
    np.testing.assert_allclose(line.loss, ref, rtol=1e-12)
    at = interpolate(mlp.model, mlp.X, mlp.y, start, end, np.array([0.0, 1.0]))
    assert at.loss[0] == pytest.approx(mlp.model.loss(start, mlp.X, mlp.y), rel=1e-14)
    assert at.loss[1] == pytest.approx(mlp.model.loss(end, mlp.X, mlp.y), rel=1e-12)


def test_slice_along_a_direction(rosenbrock: Case) -> None:
    f, center, d = rosenbrock.model, np.array([1.0, 1.0]), np.array([1.0, 0.0])
    s = slice_along(f, None, None, center, d)
    np.testing.assert_allclose(
        s.loss, (1 - (1 + s.alphas)) ** 2 + 100 * (1 - (1 + s.alphas) ** 2) ** 2
    )
    assert json.dumps(s.to_dict(), allow_nan=False)
    with pytest.raises(ValueError, match="slice"):
        slice_along(f, None, None, center, np.ones(3))
    with pytest.raises(ValueError, match="alphas"):
        slice_along(f, None, None, center, d, np.array([np.nan]))


def test_a_diverged_path_point_is_nan_and_null(mlp: Case) -> None:
    plane = make_plane("pca", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    broken = mlp.trajectory.copy()
    broken[3, 0] = np.nan
    s = surface(mlp.model, mlp.X, mlp.y, plane, resolution=3, path=broken)
    assert s.path is not None
    for column in (s.path.a, s.path.loss, s.path.surface_height, s.path.off_plane_distance):
        assert np.isnan(column[3]) and np.isfinite(np.delete(column, 3)).all()
    data = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert data["path"]["loss"][3] is None


def test_a_path_that_ran_off_still_gets_a_finite_grid() -> None:
    f = make_function("quadratic")
    path = np.array([[1.0, 1.0], [-1e308, 1e308]])
    s = surface(f, None, None, make_plane("axes", f, None, None, path), resolution=3, path=path)
    assert all(np.isfinite(edge).all() for edge in s.extent)
    assert json.dumps(s.to_dict(), allow_nan=False)


def test_a_float64_surface_is_the_core_loss_at_every_grid_point(mlp: Case) -> None:
    """precision reaches the evaluator: float64 grids are the model's own loss at each
    theta(a, b) to 1e-12 (float32 would be ~1e-7 off), and to_dict carries every part."""
    plane = make_plane("pca", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    box = ((-1.0, 2.0), (-0.5, 0.5))
    s = surface(mlp.model, mlp.X, mlp.y, plane, resolution=4, extent=box, precision="float64")
    ref = [[mlp.model.loss(plane.point(a, b), mlp.X, mlp.y) for a in s.x] for b in s.y]
    np.testing.assert_allclose(s.z, ref, rtol=1e-12, atol=0)
    f32 = surface(mlp.model, mlp.X, mlp.y, plane, resolution=4, extent=box)  # the default
    np.testing.assert_allclose(f32.z, ref, rtol=1e-5)
    assert np.max(np.abs(f32.z - s.z) / s.z) > 1e-10  # float32 arithmetic, as asked
    np.testing.assert_array_equal(s.x, np.linspace(-1.0, 2.0, 4))
    np.testing.assert_array_equal(s.y, np.linspace(-0.5, 0.5, 4))
    d = s.to_dict()
    assert list(d) == ["x", "y", "z", "labels", "extent", "precision", "log_scale", "plane",
                       "path", "overlays"]  # fmt: skip
    assert d["extent"] == [[-1.0, 2.0], [-0.5, 0.5]]
    assert (d["precision"], d["log_scale"], d["path"], d["overlays"]) == (
        "float64",
        False,
        None,
        [],
    )


def test_log_scale_applies_to_the_overlays_too(mlp: Case) -> None:
    fast = descend(mlp.model, mlp.X, mlp.y, mlp.trajectory[0], 2.0, 30)
    plane = make_plane("pca", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    args = (mlp.model, mlp.X, mlp.y, plane)
    kw = {"resolution": 3, "path": mlp.trajectory, "overlays": [fast]}
    linear, log = surface(*args, **kw), surface(*args, **kw, log_scale=True)  # type: ignore[arg-type]
    for lin, lg in zip((linear.path, *linear.overlays), (log.path, *log.overlays), strict=True):
        assert lin is not None and lg is not None
        np.testing.assert_allclose(lg.loss, np.log10(lin.loss), rtol=1e-12)
        np.testing.assert_allclose(lg.surface_height, np.log10(lin.surface_height), rtol=1e-12)
    first = log.to_dict()["overlays"][0]["loss"][0]
    assert first == pytest.approx(np.log10(linear.overlays[0].loss[0]), rel=1e-12)


def test_a_slice_defaults_to_101_alphas_from_minus_one_to_one(rosenbrock: Case) -> None:
    s = slice_along(rosenbrock.model, None, None, np.array([1.0, 1.0]), np.array([1.0, 0.0]))
    np.testing.assert_array_equal(s.alphas, np.linspace(-1.0, 1.0, 101))


# -- reference values: extents worked by hand, slices, log floors, messages ----------------


def _pca_plane(offset: tuple[float, float] = (0.0, 0.0), mode: str = "pca") -> Plane:
    """A plane whose centre sits at ``offset``; auto_extent reads only mode and offset."""
    d1, d2 = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    return Plane(mode, np.array(offset), d1, d2, ("a", "b"), offset)


def _path(a: list[float], b: list[float]) -> PathProjection:
    zeros = np.zeros(len(a))
    return PathProjection(np.array(a), np.array(b), zeros, zeros, zeros)


def test_auto_extent_pads_each_side_by_a_quarter_of_the_span() -> None:
    # Box a in [-1, 3], b in [0, 0.2] (the centre at 0, 0); pads max(span / 4, span_max / 10)
    # = (1, 0.4). The third point has no finite b and is left out.
    paths = [_path([-1.0, 3.0, 100.0], [0.2, 0.1, np.nan])]
    (x0, x1), (y0, y1) = auto_extent(_pca_plane(), paths)
    assert (x0, x1) == pytest.approx((-2.0, 4.0), rel=1e-15)
    assert (y0, y1) == pytest.approx((-0.4, 0.6), rel=1e-15)
    # A box of spans (0.5, 0.25) from (1, 2): pads (0.125, 0.0625), all exact in binary.
    box = auto_extent(_pca_plane((1.0, 2.0)), [_path([1.5], [2.25])])
    assert box == ((0.875, 1.625), (1.9375, 2.3125))


def test_auto_extent_of_a_point_is_one_unit_each_way() -> None:
    assert auto_extent(_pca_plane((2.0, -3.0)), []) == ((1.0, 3.0), (-4.0, -2.0))
    assert auto_extent(_pca_plane((2.0, -3.0)), [_path([2.0], [-3.0])]) == (
        (1.0, 3.0),
        (-4.0, -2.0),
    )


def test_a_random_plane_spans_one_unit_about_its_centre_whatever_the_path() -> None:
    plane = _pca_plane((2.0, -3.0), mode="random")
    assert auto_extent(plane, [_path([10.0, -10.0], [5.0, 0.0])]) == ((1.0, 3.0), (-4.0, -2.0))


def test_auto_extent_stays_within_max_coord() -> None:
    # A centre at (1e308, -1e308): each edge is clipped to +-1e300.
    far = auto_extent(_pca_plane((1e308, -1e308)), [])
    assert far == ((1e300, 1e300), (-1e300, -1e300))
    # A path from -1e308 to 1e308 has an infinite span; no overflow warning, a finite box.
    wide = auto_extent(_pca_plane(), [_path([-1e308, 1e308], [0.0, 0.0])])
    assert wide == ((-1e300, 1e300), (-1e300, 1e300))


def test_a_slice_to_dict_has_alphas_and_losses() -> None:
    # Rosenbrock (1 - x)^2 + 100 (y - x^2)^2 at x = 0, 1, 2, y = 1: 101, 0, 901; 1e200 overflows.
    f = make_function("rosenbrock")
    alphas = np.array([-1.0, 0.0, 1.0, 1e200])
    s = slice_along(f, None, None, np.array([1.0, 1.0]), np.array([1.0, 0.0]), alphas)
    assert s.to_dict() == {"alphas": [-1.0, 0.0, 1.0, 1e200], "loss": [101.0, 0.0, 901.0, None]}
    whole = slice_along(f, None, None, np.array([1.0, 1.0]), np.array([1.0, 0.0]), [-1, 0, 1])  # type: ignore[arg-type]
    assert whole.alphas.dtype == np.float64
    np.testing.assert_array_equal(whole.loss, [101.0, 0.0, 901.0])


def test_slice_errors_name_the_argument() -> None:
    f, center = make_function("rosenbrock"), np.array([1.0, 1.0])
    message = r"^alphas: expected a finite 1-D array$"
    for alphas in (np.array([np.nan]), np.zeros((2, 2))):
        with pytest.raises(ValueError, match=message):
            slice_along(f, None, None, center, np.array([1.0, 0.0]), alphas)
    with pytest.raises(ValueError, match=r"^slice: center and direction must have shape \(2,\)$"):
        slice_along(f, None, None, center, np.ones(3))


def test_an_extent_must_have_width_and_height() -> None:
    f = make_function("quadratic")
    plane = make_plane("axes", f, None, None, center=np.zeros(2))
    for box in (((1, 1), (0, 1)), ((0, 1), (2, 2))):
        message = f"extent: need finite x0 < x1 and y0 < y1, got {box!r}"
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            surface(f, None, None, plane, resolution=2, extent=box)


def test_the_largest_resolution_is_allowed() -> None:
    assert _check_resolution(MAX_RESOLUTION) == MAX_RESOLUTION


def test_a_log_surface_of_a_zero_loss_sits_at_the_smallest_float() -> None:
    # With X = 0 and y = 0 a linear model's MSE is b^2: zero over the whole (w1, w2) plane,
    # so no positive loss sets the floor and log10 of float64's tiny is drawn.
    model = MLP(2, [], 1, [], "mse")
    X, y = np.zeros((3, 2)), np.zeros(3)
    center = np.array([0.3, -0.2, 0.0])
    plane = make_plane("axes", model, X, y, center=center)
    s = surface(model, X, y, plane, resolution=3, path=center[None, :], log_scale=True)
    floor = np.log10(np.finfo(np.float64).tiny)  # -307.65...
    np.testing.assert_array_equal(s.z, floor)
    assert s.path is not None
    np.testing.assert_array_equal(s.path.loss, [floor])


def test_between_is_called_while_the_grid_is_evaluated(neuron: Case) -> None:
    plane = make_plane("axes", neuron.model, neuron.X, neuron.y, neuron.trajectory)
    calls: list[int] = []
    s = surface(
        neuron.model, neuron.X, neuron.y, plane, resolution=3, between=lambda: calls.append(1)
    )
    assert calls and s.z.shape == (3, 3)


def test_a_point_far_off_the_plane_is_nan_distance_without_a_warning(neuron: Case) -> None:
    # The bias at 1e200 is off the (w1, w2) plane; its distance squared overflows, and
    # like every non-finite value it is NaN. The coordinates are still exact.
    plane = make_plane("axes", neuron.model, neuron.X, neuron.y, neuron.trajectory)
    proj = project_path(neuron.model, neuron.X, neuron.y, plane, np.array([[0.5, -0.5, 1e200]]))
    assert (proj.a[0], proj.b[0]) == (0.5, -0.5)
    assert np.isnan(proj.off_plane_distance[0])
