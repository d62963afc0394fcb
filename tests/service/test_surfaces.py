"""The service's surface, slice, curvature and backprop views, called directly.

References are worked out independently: by hand in the comments, with np.linalg, or
with the chapter's own NumPy loop (tests/chapter_loop.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gradscape.landscape import make_plane, plain_random_plane
from gradscape.service import surfaces
from gradscape.service.live import Budgets, LiveRun
from tests import chapter_loop as chapter

#: three features, one hidden layer of 3: 3 x 3 + 3 + 3 x 1 + 1 = 16 parameters, TINY_MODEL
TINY_DATA = {
    "X": [[0.0, 1.0, 2.0], [1.0, 0.0, 1.0], [2.0, 2.0, 0.0], [1.0, 1.0, 1.0]],
    "y": [0.0, 1.0, 1.0, 0.0],
    "feature_names": ["a", "b", "c"],
}


def _run(config: dict, steps: int, budgets: Budgets | None = None) -> LiveRun:
    run = LiveRun.create(config, budgets)
    if steps:
        run.step(steps, evaluate="none")
    return run


def _traj(run: LiveRun) -> np.ndarray:
    return run.params_for(surfaces.path_steps(run))


def _line_hessian_lambda(run: LiveRun) -> float:
    """MSE of w x + b: H = 2/n [[sum x^2, sum x], [sum x, n]], constant (np.linalg)."""
    ds = run.session.dataset
    assert ds is not None
    A = np.c_[ds.X[:, 0], np.ones(len(ds.X))]
    return float(np.linalg.eigvalsh(2 * A.T @ A / len(A)).max())


# --- paths and shapes ------------------------------------------------------------------


def test_a_run_of_exactly_dense_path_steps_draws_its_path_from_every_step() -> None:
    run = _run({"preset": "line"}, surfaces.DENSE_PATH)  # T = 2000: still dense
    # all 2001 steps thinned evenly to MAX_PATH = 1000, first and last kept (the 21
    # checkpoints a sparse path would use could not give 1000 points)
    expected = np.round(np.linspace(0, 2000, 1000)).astype(np.int64)
    np.testing.assert_array_equal(surfaces.path_steps(run), expected)


def test_a_networks_shape_is_its_layer_widths_and_a_surfaces_its_two_parameters() -> None:
    mlp = LiveRun.create({"preset": "moons-mlp"}).session.model
    assert surfaces.model_shape(mlp) == ("network", (2, 16, 16, 1))
    rosen = LiveRun.create({"preset": "rosenbrock"}).session.model
    assert surfaces.model_shape(rosen) == ("surface", (2,))


@pytest.mark.parametrize(("steps", "mode"), [(2, "random"), (3, "pca")])
def test_the_default_plane_of_a_network_turns_to_pca_at_three_steps(steps: int, mode: str) -> None:
    assert surfaces.default_mode(_run({"preset": "moons-mlp"}, steps).session) == mode


# --- planes ---------------------------------------------------------------------------


def test_a_given_plane_is_reused_as_it_is_and_must_fit_the_model() -> None:
    run = _run({"preset": "moons-mlp"}, 20)  # its default would be a pca plane
    given = plain_random_plane(np.linspace(-1.0, 1.0, 337), seed=5)
    plane = surfaces.build_plane(run, {"plane": given.to_dict()}, _traj(run))
    assert plane.mode == "random"
    for got, want in ((plane.center, given.center), (plane.d1, given.d1), (plane.d2, given.d2)):
        np.testing.assert_array_equal(got, want)
    small = plain_random_plane(np.zeros(3)).to_dict()
    with pytest.raises(
        ValueError, match="^" + re.escape("plane: expected a plane for 337 parameters") + "$"
    ):
        surfaces.build_plane(run, {"plane": small}, _traj(run))


@pytest.mark.parametrize(
    ("body", "center_step", "seed"),
    [
        ({"mode": "random"}, 3, 0),  # defaults: the current step, seed 0
        ({"mode": "random", "center": "initial", "seed": 7}, 0, 7),
        ({"mode": "random", "center": 1, "seed": 2}, 1, 2),
    ],
)
def test_a_random_plane_of_a_sixteen_parameter_model_is_plain_gaussian(
    body: dict, center_step: int, seed: int
) -> None:
    run = _run({"data": TINY_DATA, "model": {"hidden": [3]}}, 3)
    assert run.session.model.n_params == surfaces.TINY_MODEL == 16  # on the boundary
    plane = surfaces.build_plane(run, body, _traj(run))
    theta = run.session.params_at([center_step])[0]
    # plain_random_plane: two seeded normals, each scaled to max(|theta|, 1); no filter norm
    rng = np.random.default_rng(seed)
    d1, d2 = rng.standard_normal((2, 16))
    scale = max(float(np.linalg.norm(theta)), 1.0)
    np.testing.assert_array_equal(plane.center, theta)
    np.testing.assert_allclose(plane.d1, d1 * scale / np.linalg.norm(d1), rtol=1e-14)
    np.testing.assert_allclose(plane.d2, d2 * scale / np.linalg.norm(d2), rtol=1e-14)
    assert plane.options["filter_normalized"] is False


@pytest.mark.parametrize(("body", "seed"), [({}, 0), ({"seed": 7}, 7)])
def test_a_random_plane_of_a_network_is_landscapes_filter_normalised_one(
    body: dict, seed: int
) -> None:
    run = _run({"preset": "moons-mlp"}, 5)
    s, ds = run.session, run.session.dataset
    assert ds is not None
    traj = _traj(run)
    plane = surfaces.build_plane(run, {"mode": "random", **body}, traj)
    want = make_plane("random", s.model, ds.X, ds.y, traj, center=s.params, seed=seed)
    np.testing.assert_array_equal(plane.d1, want.d1)
    np.testing.assert_array_equal(plane.d2, want.d2)


def test_orthogonalize_makes_a_networks_random_directions_perpendicular() -> None:
    run = _run({"preset": "moons-mlp"}, 5)
    traj = _traj(run)
    plain = surfaces.build_plane(run, {"mode": "random"}, traj)
    cos = np.dot(plain.d1, plain.d2) / np.linalg.norm(plain.d1) / np.linalg.norm(plain.d2)
    assert abs(cos) > 1e-3  # two random directions in 337 dimensions: not perpendicular
    ortho = surfaces.build_plane(run, {"mode": "random", "orthogonalize": True}, traj)
    cos = np.dot(ortho.d1, ortho.d2) / np.linalg.norm(ortho.d1) / np.linalg.norm(ortho.d2)
    assert abs(cos) < 1e-12


def test_an_all_zero_start_falls_back_to_axes_only_when_no_mode_was_asked() -> None:
    run = LiveRun.create({"preset": "moons-mlp", "model": {"init": "zeros"}})
    assert surfaces.build_plane(run, {}, _traj(run)).mode == "axes"
    message = (
        "random: the centre's weights are all zero, so filter-normalised directions "
        "vanish; centre the plane elsewhere"
    )
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        surfaces.build_plane(run, {"mode": "random"}, _traj(run))


# --- surfaces -------------------------------------------------------------------------


def test_a_surface_without_a_resolution_is_sixty_one_points_a_side() -> None:
    out = surfaces.surface_view(_run({"preset": "line"}, 3), {}, [])
    assert len(out["x"]) == len(out["y"]) == len(out["z"]) == len(out["z"][0]) == 61


def test_a_hessian_surface_is_priced_with_its_lanczos_cost() -> None:
    run = _run({"preset": "line"}, 3, Budgets(max_call_seconds=5.0))
    run.costs["evaluation:float32"] = 1 / 1024  # seconds per grid point
    run.costs["gradient"] = 1.0  # so a Hessian plane: 2 x min(P=2, 30) gradients = 4 s
    body = {"resolution": 40}
    # 40 x 40 / 1024 = 1.5625 s of grid: fits in 5 s alone; + 4 s of Hessian = 5.5625 s;
    # (5 - 4) x 1024 = 1024 points fit: 32 a side
    message = (
        "resolution: a 40x40 surface of this run would take about 6 s, over "
        "max_call_seconds=5; resolution 32 or less fits"
    )
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        surfaces.surface_view(run, {**body, "mode": "hessian"}, [])
    assert len(surfaces.surface_view(run, {**body, "mode": "random"}, [])["z"]) == 40


def _line_loss(run: LiveRun, w: float, b: float) -> float:
    """The line preset's MSE at (w, b), by its formula."""
    ds = run.session.dataset
    assert ds is not None
    return float(np.mean((w * ds.X[:, 0] + b - ds.y) ** 2))


def test_an_extent_sets_the_grids_corners_on_the_axes() -> None:
    run = _run({"preset": "line"}, 3)
    body = {"resolution": 3, "precision": "float64", "extent": [[-1.0, 2.0], [3.0, 5.0]]}
    out = surfaces.surface_view(run, body, [])
    assert out["mode"] == "axes" and out["log_scale"] is False
    assert out["x"] == [-1.0, 0.5, 2.0] and out["y"] == [3.0, 4.0, 5.0]
    for r, b in enumerate(out["y"]):
        for c, w in enumerate(out["x"]):
            assert out["z"][r][c] == pytest.approx(_line_loss(run, w, b), rel=1e-12)


def test_a_log_scale_surface_holds_the_log10_of_the_loss() -> None:
    run = _run({"preset": "line"}, 3)
    body = {
        "resolution": 3,
        "precision": "float64",
        "extent": [[-1.0, 2.0], [3.0, 5.0]],
        "log_scale": True,
    }
    out = surfaces.surface_view(run, body, [])
    assert out["log_scale"] is True
    for r, b in enumerate([3.0, 4.0, 5.0]):
        for c, w in enumerate([-1.0, 0.5, 2.0]):
            assert out["z"][r][c] == pytest.approx(np.log10(_line_loss(run, w, b)), rel=1e-12)


def test_an_overlays_path_carries_its_own_steps() -> None:
    main = _run({"preset": "rosenbrock"}, 50)
    other = _run({"preset": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.05}}, 30)
    out = surfaces.surface_view(main, {"resolution": 5}, [other])
    (overlay,) = out["overlays"]
    assert overlay["id"] == other.id and overlay["path"]["step"] == list(range(31))
    assert len(overlay["path"]["a"]) == 31


def test_an_overlay_of_another_shape_is_refused_by_name() -> None:
    line, mlp = _run({"preset": "line"}, 3), _run({"preset": "moons-mlp"}, 3)
    message = "overlay: sessions must have the same model shape to share a plane"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        surfaces.surface_view(line, {"resolution": 5}, [mlp])


def test_the_current_point_on_an_axes_plane_is_theta_and_its_arrow_minus_the_gradient() -> None:
    run = _run({"preset": "line"}, 5)
    s, ds = run.session, run.session.dataset
    assert ds is not None
    w, b = s.params
    # d/dw mean(r^2) = 2 mean(r x), d/db = 2 mean(r), r = w x + b - y
    r = w * ds.X[:, 0] + b - ds.y
    grad = np.array([2 * np.mean(r * ds.X[:, 0]), 2 * np.mean(r)])
    cur = surfaces.surface_view(run, {"resolution": 3}, [])["current"]
    assert (cur["step"], cur["a"], cur["b"]) == (5, w, b)  # axes: coordinates are the values
    np.testing.assert_allclose(cur["descent"], -grad, rtol=1e-9)


# --- slices ---------------------------------------------------------------------------


def test_a_slice_stops_where_asked() -> None:
    run = _run({"preset": "line"}, 5)
    out = surfaces.slice_view(run, 0, 2, 0.0, 1.0, 3)
    assert (out["start"], out["stop"], out["alpha"]) == (0, 2, [0.0, 0.5, 1.0])
    for alpha, k in ((0.0, 0), (1.0, 2)):
        w, b = run.session.params_at([k])[0]
        loss = out["loss"][out["alpha"].index(alpha)]
        assert loss == pytest.approx(_line_loss(run, w, b), rel=1e-12)


@pytest.mark.parametrize(
    ("start", "stop", "message"),
    [
        (7, None, "start: step must be in [0, 5], got 7"),
        (0, 9, "stop: step must be in [0, 5], got 9"),
    ],
)
def test_a_slice_outside_the_run_is_refused_naming_the_end(
    start: int, stop: int | None, message: str
) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        surfaces.slice_view(_run({"preset": "line"}, 5), start, stop, 0.0, 1.0, 3)


def test_a_slice_of_an_analytic_surface_needs_no_data() -> None:
    out = surfaces.slice_view(_run({"preset": "rosenbrock"}, 3), 0, None, 0.0, 0.0, 1)
    # (1 - x)^2 + 100 (y - x^2)^2 at the start (-1.2, 1): 4.84 + 100 x 0.1936 = 24.2
    assert out["loss"] == [pytest.approx(24.2, rel=1e-12)]


# --- curvature ------------------------------------------------------------------------


def _lr_changing_run() -> LiveRun:
    """line: steps 1-3 at lr 0.1, steps 4-5 at 0.05, and 0.02 set for the next step."""
    run = _run({"preset": "line"}, 3)
    run.set({"lr": 0.05})
    run.step(2, evaluate="none")
    run.set({"lr": 0.02})
    return run


@pytest.mark.parametrize(("step", "lr"), [(1, 0.1), (4, 0.05), (5, 0.02), (None, 0.02)])
def test_the_curvature_of_a_step_is_weighed_against_the_lr_of_that_step(
    step: int | None, lr: float
) -> None:
    run = _lr_changing_run()
    out = surfaces.curvature_view(run, step, None)
    lam = _line_hessian_lambda(run)  # MSE of a line: the same Hessian at every step
    assert out["step"] == (5 if step is None else step) and out["lr"] == lr
    assert out["lambda_max"] == pytest.approx(lam, rel=1e-6)
    assert out["lr_times_lambda"] == pytest.approx(lr * lam, rel=1e-6)


def test_the_curvature_at_step_zero_uses_the_runs_lr() -> None:
    run = _run({"preset": "line"}, 4)  # one lr, 0.1, throughout
    out = surfaces.curvature_view(run, 0, None)
    assert (out["step"], out["lr"]) == (0, 0.1)
    assert out["lambda_max"] == pytest.approx(_line_hessian_lambda(run), rel=1e-6)


def test_the_curvature_at_step_zero_of_a_run_whose_lr_changed_uses_its_starting_lr() -> None:
    run = _lr_changing_run()  # started at 0.1; 0.05 and 0.02 were set later
    out = surfaces.curvature_view(run, 0, 1)
    assert out["step"] == 0 and out["lr"] == 0.1
    assert out["series"]["lr"][0] == out["lr"]  # the same step, the same lr


def test_a_curvature_series_takes_every_nth_step_and_the_last() -> None:
    run = _lr_changing_run()
    series = surfaces.curvature_view(run, None, 2)["series"]
    assert series["step"] == [0, 2, 4, 5]
    assert series["lr"] == [0.1, 0.1, 0.05, 0.05]  # the lr each of those steps was taken with
    np.testing.assert_allclose(series["lambda_max"], [_line_hessian_lambda(run)] * 4, rtol=1e-6)


def test_a_curvature_outside_the_run_is_refused() -> None:
    message = "step: must be in [0, 5], got 6"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        surfaces.curvature_view(_run({"preset": "line"}, 5), 6, None)


def test_the_curvature_of_an_analytic_surface_is_its_hessians_top_eigenvalue() -> None:
    out = surfaces.curvature_view(_run({"preset": "rosenbrock"}, 3), 0, None)
    # Rosenbrock's Hessian at (-1.2, 1): f_xx = 2 - 400 (y - x^2) + 800 x^2 = 1330,
    # f_xy = -400 x = 480, f_yy = 200
    lam = float(np.linalg.eigvalsh(np.array([[1330.0, 480.0], [480.0, 200.0]])).max())
    assert out["lambda_max"] == pytest.approx(lam, rel=1e-6)


# --- backprop -------------------------------------------------------------------------


def test_backprop_of_an_analytic_surface_is_refused() -> None:
    message = "backprop: an analytic surface has no layers to propagate through"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        surfaces.backprop_view(_run({"preset": "rosenbrock"}, 2), None, 4)


@pytest.mark.parametrize(("steps", "step", "shown"), [(1, None, 1), (2, None, 2), (2, 1, 1)])
def test_backprop_lays_out_the_chapters_step(steps: int, step: int | None, shown: int) -> None:
    run = _run({"preset": "pass-fail"}, steps)
    out = surfaces.backprop_view(run, step, 2)  # the first 2 of the 4 students
    epoch = chapter.chapter_loop(shown)[shown - 1]  # step k starts from theta_{k-1}
    z = chapter.X @ epoch.before[:2] + epoch.before[2]
    pred = epoch.pred
    assert out["step"] == shown and out["n"] == 4
    assert out["loss"] == pytest.approx(epoch.loss, abs=1e-8)  # the chapter adds 1e-9
    np.testing.assert_allclose(np.ravel(out["targets"]), chapter.y[:2], rtol=0)
    np.testing.assert_allclose(np.ravel(out["prediction"]), pred[:2], rtol=1e-12)
    (layer,) = out["layers"]
    assert (layer["index"], layer["name"], layer["activation"]) == (0, "layer1", "sigmoid")
    np.testing.assert_allclose(np.ravel(layer["z"]), z[:2], rtol=1e-12)
    np.testing.assert_allclose(np.ravel(layer["a"]), pred[:2], rtol=1e-12)
    np.testing.assert_allclose(np.ravel(layer["slope"]), (pred * (1 - pred))[:2], rtol=1e-12)
    # saturated: slope below 5 % of the sigmoid's top slope 1/4
    assert layer["saturated_fraction"] == np.mean(pred * (1 - pred) < 0.05 * 0.25)
    assert layer["grad_norm"] == pytest.approx(np.linalg.norm(epoch.grad), rel=1e-12)
