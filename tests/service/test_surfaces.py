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
