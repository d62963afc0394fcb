"""Planes: axes, PCA of the trajectory, filter-normalised random, Hessian eigenvectors."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pytest

from gradscape.core.functions import make_function
from gradscape.core.nn import MLP
from gradscape.core.types import Model
from gradscape.landscape import (
    Plane,
    center_at_step,
    dense_hessian,
    filter_normalize,
    hessian_plane,
    make_plane,
    plain_random_plane,
    random_plane,
    top_eigenpairs,
)
from tests.landscape.conftest import Case, assert_same_lines, svd_directions

# -- axes ---------------------------------------------------------------------------------


def test_axes_default_to_the_first_two_parameters(neuron: Case) -> None:
    plane = make_plane("axes", neuron.model, neuron.X, neuron.y, neuron.trajectory)
    np.testing.assert_array_equal(plane.d1, [1.0, 0.0, 0.0])
    np.testing.assert_array_equal(plane.d2, [0.0, 1.0, 0.0])
    assert plane.labels == ("w_study", "w_sleep")
    np.testing.assert_array_equal(plane.center, neuron.trajectory[-1])
    assert plane.offset == tuple(neuron.trajectory[-1][:2])
    assert plane.explained_variance is None


def test_axes_by_name_or_index(neuron: Case) -> None:
    by_name = make_plane(
        "axes", neuron.model, neuron.X, neuron.y, neuron.trajectory, params=("bias", 0)
    )
    assert by_name.labels == ("bias", "w_study")
    assert by_name.options["params"] == [2, 0]
    np.testing.assert_array_equal(by_name.point(5.0, 6.0), [6.0, neuron.trajectory[-1][1], 5.0])
    for params, match in [((0, 0), "differ"), (("nope", 1), "unknown"), ((0, 9), "range")]:
        with pytest.raises(ValueError, match=match):
            make_plane("axes", neuron.model, neuron.X, neuron.y, neuron.trajectory, params=params)


def test_centres(neuron: Case) -> None:
    traj = neuron.trajectory
    for spec, row in [("initial", 0), ("final", -1), ("current", -1), (5, 5), (-3, -3)]:
        plane = make_plane("axes", neuron.model, neuron.X, neuron.y, traj, center=spec)
        np.testing.assert_array_equal(plane.center, traj[row])
        assert plane.options["center"] == spec
    explicit = make_plane("axes", neuron.model, neuron.X, neuron.y, center=np.array([1.0, 2, 3]))
    np.testing.assert_array_equal(explicit.center, [1, 2, 3])
    bad: list[object] = ["middle", len(traj), np.array([1.0, 2.0]), np.array([1.0, np.nan, 0.0])]
    for spec in bad:
        with pytest.raises(ValueError, match="center"):
            make_plane("axes", neuron.model, neuron.X, neuron.y, traj, center=spec)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a trajectory"):
        make_plane("axes", neuron.model, neuron.X, neuron.y)


def test_unknown_mode_and_pca_without_a_trajectory(neuron: Case) -> None:
    with pytest.raises(ValueError, match="mode"):
        make_plane("tsne", neuron.model, neuron.X, neuron.y, neuron.trajectory)
    with pytest.raises(ValueError, match="pca"):
        make_plane("pca", neuron.model, neuron.X, neuron.y, center=np.zeros(3))


# -- pca ----------------------------------------------------------------------------------


def test_pca_plane_of_a_trajectory(mlp: Case) -> None:
    plane = make_plane("pca", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    M = mlp.trajectory - mlp.trajectory[-1]
    ref, ref_share = svd_directions(M)
    assert_same_lines(plane.directions, ref, 1e-10)
    assert plane.explained_variance is not None
    np.testing.assert_allclose(plane.explained_variance, ref_share, rtol=1e-10)
    assert sum(plane.explained_variance) <= 1.0
    assert plane.labels[0] == f"PC1 ({100 * ref_share[0]:.1f} %)"
    np.testing.assert_allclose(plane.directions @ plane.directions.T, np.eye(2), atol=1e-12)


def test_pca_signs_survive_a_refit(mlp: Case) -> None:
    full = make_plane("pca", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    shorter = make_plane("pca", mlp.model, mlp.X, mlp.y, mlp.trajectory[:-2])
    decimated = make_plane("pca", mlp.model, mlp.X, mlp.y, mlp.trajectory[::3], center=-1)
    for other in (shorter, decimated):
        assert other.d1 @ full.d1 > 0.9
        assert other.d2 @ full.d2 > 0.5
    # The far end of the path (the start) is on the positive side of PC1.
    assert (mlp.trajectory[0] - full.center) @ full.d1 > 0


def test_pca_of_a_straight_path_still_gives_a_plane() -> None:
    f = make_function("quadratic")
    line = np.outer(np.linspace(1, 0, 20), [3.0, 0.0])  # moves along x only
    plane = make_plane("pca", f, None, None, line)
    assert plane.explained_variance == (1.0, 0.0)
    np.testing.assert_allclose(np.abs(plane.d1), [1.0, 0.0])
    np.testing.assert_allclose(np.abs(plane.d2), [0.0, 1.0])
    with pytest.raises(ValueError, match="never leaves"):
        make_plane("pca", f, None, None, np.zeros((4, 2)))


# -- random -------------------------------------------------------------------------------


def test_filter_normalisation_holds_per_neuron(mlp: Case) -> None:
    plane = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory, seed=7)
    model = mlp.model
    assert isinstance(model, MLP)
    for d in (plane.d1, plane.d2):
        for L in model.layers:
            Wd = d[L.w_slice].reshape(L.fan_in, L.fan_out)
            Wc = plane.center[L.w_slice].reshape(L.fan_in, L.fan_out)
            np.testing.assert_allclose(np.linalg.norm(Wd, axis=0), np.linalg.norm(Wc, axis=0))
            np.testing.assert_array_equal(d[L.b_slice], 0.0)  # Li et al.'s --xignore biasbn


def test_random_planes_are_seeded(mlp: Case) -> None:
    a = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory, seed=1)
    b = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory, seed=1)
    c = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory, seed=2)
    np.testing.assert_array_equal(a.d1, b.d1)
    assert not np.allclose(a.d1, c.d1)
    assert a.options["seed"] == 1


def test_random_biases_can_copy_the_centre(mlp: Case) -> None:
    plane = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory, ignore_biases=False)
    assert isinstance(mlp.model, MLP)
    for L in mlp.model.layers:
        np.testing.assert_array_equal(plane.d1[L.b_slice], plane.center[L.b_slice])


def test_orthogonalised_random_directions(mlp: Case) -> None:
    raw = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    ortho = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory, orthogonalize=True)
    np.testing.assert_array_equal(ortho.d1, raw.d1)
    assert abs(ortho.d1 @ ortho.d2) < 1e-12 * np.linalg.norm(ortho.d1) * np.linalg.norm(ortho.d2)
    assert np.linalg.norm(ortho.d2) == pytest.approx(np.linalg.norm(raw.d2))


def test_random_on_a_layerless_model_scales_to_the_centre(rosenbrock: Case) -> None:
    plane = make_plane("random", rosenbrock.model, None, None, rosenbrock.trajectory)
    norm = np.linalg.norm(plane.center)
    assert np.linalg.norm(plane.d1) == pytest.approx(norm)
    assert np.linalg.norm(plane.d2) == pytest.approx(norm)


def test_random_at_all_zero_weights_is_refused() -> None:
    model = MLP(2, [3], 1, "tanh", "bce", init="zeros")
    X, y = np.ones((4, 2)), np.ones(4)
    with pytest.raises(ValueError, match="all zero"):
        make_plane("random", model, X, y, center=np.zeros(model.n_params))


# -- hessian ------------------------------------------------------------------------------


def test_hessian_plane_spans_the_top_two_eigenvectors(mlp: Case) -> None:
    plane = make_plane("hessian", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    w, V = np.linalg.eigh(dense_hessian(mlp.model, mlp.X, mlp.y, plane.center))
    assert_same_lines(plane.directions, V[:, ::-1][:, :2].T, 1e-6)
    np.testing.assert_allclose(plane.options["eigenvalues"], w[::-1][:2], rtol=1e-6)
    assert plane.labels[0].startswith("H1 (λ = ")
    for d in plane.directions:  # a reproducible sign: the largest entry is positive
        assert d[np.argmax(np.abs(d))] > 0


def test_hessian_plane_of_an_analytic_surface_is_exact() -> None:
    f = make_function("quadratic", condition=10.0, angle=30.0)
    plane = make_plane("hessian", f, None, None, center=np.array([1.0, 2.0]))
    np.testing.assert_allclose(plane.options["eigenvalues"], [1.0, 0.1])
    top = np.array([-np.sin(np.radians(30)), np.cos(np.radians(30))])
    assert abs(plane.d1 @ top) == pytest.approx(1.0)


# -- serialisation ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["axes", "pca", "random", "hessian"])
def test_planes_round_trip_through_json(mlp: Case, mode: str) -> None:
    plane = make_plane(mode, mlp.model, mlp.X, mlp.y, mlp.trajectory, center=10)
    again = Plane.from_dict(json.loads(json.dumps(plane.to_dict(), allow_nan=False)))
    for name in ("center", "d1", "d2"):
        np.testing.assert_array_equal(getattr(again, name), getattr(plane, name))
    assert (again.mode, again.labels, again.offset) == (plane.mode, plane.labels, plane.offset)
    assert again.explained_variance == plane.explained_variance
    assert dict(again.options) == dict(plane.options)


def test_malformed_planes_are_value_errors() -> None:
    good = {"mode": "axes", "center": [0, 0], "d1": [1, 0], "d2": [0, 1], "labels": ["x", "y"]}
    assert Plane.from_dict(good).offset == (0.0, 0.0)
    changes: list[dict[str, object]] = [
        {"mode": "sideways"},
        {"d1": [1, 0, 0]},
        {"d2": [0, 0]},
        {"d2": [2, 0]},
        {"labels": []},
        {"offset": [1]},
    ]
    for change in changes:
        with pytest.raises(ValueError, match="plane"):
            Plane.from_dict({**good, **change})
    with pytest.raises(ValueError, match="plane"):
        Plane.from_dict({k: v for k, v in good.items() if k != "mode"})
    with pytest.raises(ValueError, match="finite"):
        Plane.from_dict({**good, "center": [0, float("nan")]})


# -- tiny models and centres given as steps ------------------------------------------------


def test_plain_random_plane_is_seeded_gaussian_scaled_to_the_centre() -> None:
    center = np.array([3.0, -4.0, 0.0])  # norm 5
    plane = plain_random_plane(center, seed=3)
    d1, d2 = np.random.default_rng(3).standard_normal((2, 3))
    np.testing.assert_allclose(plane.d1, d1 * 5 / np.linalg.norm(d1), rtol=1e-15)
    np.testing.assert_allclose(plane.d2, d2 * 5 / np.linalg.norm(d2), rtol=1e-15)
    assert np.linalg.norm(plane.d1) == pytest.approx(5.0, rel=1e-14)
    assert abs(plane.d1 @ plane.d2) < 0.99 * 25  # two directions, not one line
    small = plain_random_plane(np.zeros(3), seed=3)  # a zero centre: unit-norm directions
    assert np.linalg.norm(small.d1) == pytest.approx(1.0, rel=1e-14)
    assert plane.options == {"seed": 3, "filter_normalized": False}
    np.testing.assert_array_equal(plane.center, center)


@pytest.mark.parametrize("norm", [0.0, 0.25, 1.0, 5.0, 1e3])
def test_plain_random_plane_scales_both_directions_to_the_centres_norm(norm: float) -> None:
    """Both directions: the seed's Gaussian rows, each of norm max(||centre||, 1) (np.linalg)."""
    rng = np.random.default_rng(11)
    center = rng.standard_normal(4)
    center *= norm / np.linalg.norm(center)
    plane = plain_random_plane(center, seed=7)
    g = np.random.default_rng(7).standard_normal((2, 4))
    want = max(norm, 1.0)
    for got, row in zip((plane.d1, plane.d2), g, strict=True):
        assert np.linalg.norm(got) == pytest.approx(want, rel=1e-14)
        np.testing.assert_allclose(got, row / np.linalg.norm(row) * want, rtol=1e-14)
    assert (plane.mode, plane.labels, plane.offset) == ("random", ("random 1", "random 2"), (0, 0))
    # the plane's coordinates of centre + a d1 + b d2 are (a, b): they index these lengths
    ab = plane.coordinates(center + 0.5 * plane.d1 - 2.0 * plane.d2)[0]
    np.testing.assert_allclose(ab, [0.5, -2.0], rtol=1e-12, atol=1e-12)


def test_center_at_step_resolves_steps_and_passes_names_through() -> None:
    thetas = np.arange(12.0).reshape(4, 3)
    lookup = thetas.__getitem__
    np.testing.assert_array_equal(center_at_step(2, 3, lookup), thetas[2])
    np.testing.assert_array_equal(center_at_step("current", 3, lookup), thetas[3])
    assert center_at_step("initial", 3, lookup) == "initial"
    for bad in (4, -1):
        with pytest.raises(ValueError, match=r"center: step must be in \[0, 3\]"):
            center_at_step(bad, 3, lookup)


def test_random_planes_leave_biases_out_by_default_as_li_et_al_do(mlp: Case) -> None:
    """Li et al.'s examples use ``--xignore biasbn``: the directions' biases are zero unless
    asked for, and then they are the centre's own."""
    center = mlp.trajectory[-1]
    plane = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory, seed=2)
    assert isinstance(mlp.model, MLP)
    for layer in mlp.model.layers:
        np.testing.assert_array_equal(plane.d1[layer.b_slice], 0.0)
        np.testing.assert_array_equal(plane.d2[layer.b_slice], 0.0)
    assert plane.options["ignore_biases"] is True
    default = random_plane(mlp.model, center, seed=2)
    np.testing.assert_array_equal(default.d1, plane.d1)

    kept = random_plane(mlp.model, center, seed=2, ignore_biases=False)
    assert kept.options == {"seed": 2, "orthogonalize": False, "ignore_biases": False,
                            "center": None}  # fmt: skip
    for layer in mlp.model.layers:
        np.testing.assert_array_equal(kept.d1[layer.b_slice], center[layer.b_slice])


def test_an_unknown_parameter_name_lists_the_first_six(mlp: Case) -> None:
    names = ", ".join(mlp.model.param_names[:6])
    message = f"params: unknown parameter 'nope'; known: {names}, ..."
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_plane("axes", mlp.model, mlp.X, mlp.y, mlp.trajectory, params=("nope", 0))


def test_a_trajectory_of_one_point_makes_a_plane_and_none_is_refused(mlp: Case) -> None:
    one = mlp.trajectory[:1]
    plane = make_plane("random", mlp.model, mlp.X, mlp.y, one, seed=1)
    np.testing.assert_array_equal(plane.center, one[0])
    with pytest.raises(
        ValueError, match=r"^trajectory: expected shape \(T, \d+\), got \(0, \d+\)$"
    ):
        make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory[:0], seed=1)


def test_a_plane_given_in_whole_numbers_is_read_as_floats() -> None:
    """JSON writes 4e9 as the integer 4000000000: read as float64, d1 . d1 = 1.6e19 is
    exact, where int64 arithmetic would wrap around."""
    data = {"mode": "random", "center": [1, 2], "d1": [4_000_000_000, 0], "d2": [0, 3],
            "labels": ["a", "b"]}  # fmt: skip
    plane = Plane.from_dict(data)
    assert plane.d1.dtype == plane.center.dtype == np.float64
    np.testing.assert_allclose(
        plane.coordinates(np.array([1.0 + 4e9 * 0.25, 2.0 - 3 * 2.0]))[0], [0.25, -2.0],
        rtol=1e-12,
    )  # fmt: skip


# -- reference values for every mode and every error message ------------------------------


def _li_filter_normalized(model: MLP, center: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Li et al. 2018, section 4: each neuron's column of W scaled to the centre's column
    norm, biases zero (their ``--xignore biasbn``)."""
    out = np.zeros_like(center)
    for L in model.layers:
        Wg = g[L.w_slice].reshape(L.fan_in, L.fan_out)
        Wc = center[L.w_slice].reshape(L.fan_in, L.fan_out)
        scaled = Wg / np.linalg.norm(Wg, axis=0) * np.linalg.norm(Wc, axis=0)
        out[L.w_slice] = scaled.ravel()
    return out


def test_random_plane_defaults_are_seed_zero_li_et_al_directions(mlp: Case) -> None:
    assert isinstance(mlp.model, MLP)
    center = mlp.trajectory[-1]
    rng = np.random.default_rng(0)  # the default seed: d1 is the first draw, d2 the second
    g1, g2 = rng.standard_normal(center.shape), rng.standard_normal(center.shape)
    plane = random_plane(mlp.model, center)
    np.testing.assert_allclose(plane.d1, _li_filter_normalized(mlp.model, center, g1), rtol=1e-12)
    np.testing.assert_allclose(plane.d2, _li_filter_normalized(mlp.model, center, g2), rtol=1e-12)
    assert plane.labels == ("random 1", "random 2")
    assert plane.options == {
        "seed": 0,
        "orthogonalize": False,
        "ignore_biases": True,
        "center": None,
    }
    made = make_plane("random", mlp.model, mlp.X, mlp.y, mlp.trajectory)
    assert made.options["seed"] == 0
    np.testing.assert_array_equal(made.d2, plane.d2)


def test_kept_biases_are_the_centres_in_both_directions(mlp: Case) -> None:
    assert isinstance(mlp.model, MLP)
    center = mlp.trajectory[-1]
    plane = random_plane(mlp.model, center, seed=4, ignore_biases=False)
    for layer in mlp.model.layers:
        np.testing.assert_array_equal(plane.d2[layer.b_slice], center[layer.b_slice])


def test_filter_normalize_leaves_its_input_and_a_zero_neuron_alone(mlp: Case) -> None:
    model = mlp.model
    assert isinstance(model, MLP)
    center = mlp.trajectory[-1]
    g = np.random.default_rng(9).standard_normal(center.shape)
    first = model.layers[0]
    g[first.w_slice].reshape(first.fan_in, first.fan_out)[:, 0] = 0.0  # neuron 0 of layer 1
    given = g.copy()
    d = filter_normalize(model, center, g)  # default: biases ignored, as Li et al. do
    np.testing.assert_array_equal(g, given)  # a copy is scaled, not the caller's array
    W = d[first.w_slice].reshape(first.fan_in, first.fan_out)
    np.testing.assert_array_equal(W[:, 0], 0.0)  # 0 / 0 is 0, without a warning
    keep = np.ones(center.shape, dtype=bool)
    keep[np.arange(center.size)[first.w_slice].reshape(first.fan_in, first.fan_out)[:, 0]] = False
    want = _li_filter_normalized(model, center, np.where(keep, g, 1.0))
    np.testing.assert_allclose(d[keep], want[keep], rtol=1e-12)
    for layer in model.layers:
        np.testing.assert_array_equal(d[layer.b_slice], 0.0)


def test_filter_normalising_at_zero_weights_names_the_problem() -> None:
    model = MLP(2, [3], 1, "tanh", "bce", init="zeros")
    message = (
        "random: the centre's weights are all zero, so filter-normalised directions "
        "vanish; centre the plane elsewhere"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        filter_normalize(model, np.zeros(model.n_params), np.ones(model.n_params))


def test_plain_random_plane_defaults_to_seed_zero() -> None:
    center = np.array([0.0, 3.0, 4.0])  # norm 5
    plane = plain_random_plane(center)
    d1, _ = np.random.default_rng(0).standard_normal((2, 3))
    np.testing.assert_allclose(plane.d1, d1 * 5 / np.linalg.norm(d1), rtol=1e-14)
    assert plane.options["seed"] == 0


def test_pca_plane_of_a_hand_made_path() -> None:
    # Rows about the final point (0, 0): M^T M = diag(8, 2), so PC1 = x holds 80 %.
    f = make_function("quadratic")
    path = np.array([[2.0, 0.0], [0.0, 1.0], [-2.0, 0.0], [0.0, -1.0], [0.0, 0.0]])
    plane = make_plane("pca", f, None, None, path)
    assert plane.labels == ("PC1 (80.0 %)", "PC2 (20.0 %)")
    assert plane.explained_variance == pytest.approx((0.8, 0.2), rel=1e-12)
    np.testing.assert_allclose(np.abs(plane.directions), np.eye(2), atol=1e-12)
    assert plane.options == {"center": "final", "steps": 5}


@pytest.mark.parametrize("mode", ["axes", "pca", "random", "hessian"])
def test_every_mode_records_how_its_centre_was_given(neuron: Case, mode: str) -> None:
    traj = neuron.trajectory
    for spec, want in [("initial", "initial"), (4, 4), (traj[9], "explicit")]:
        plane = make_plane(mode, neuron.model, neuron.X, neuron.y, traj, center=spec)
        assert plane.options["center"] == want


def test_hessian_plane_of_a_rotated_bowl_labels_and_options() -> None:
    # quadratic(condition 10): Hessian eigenvalues 1 and 1 / 10, whatever the angle.
    f = make_function("quadratic", condition=10.0, angle=30.0)
    plane = hessian_plane(f, None, None, np.array([1.0, 2.0]))
    assert plane.labels == ("H1 (λ = 1)", "H2 (λ = 0.1)")
    assert sorted(plane.options) == ["center", "converged", "eigenvalues", "seed"]
    assert plane.options["seed"] == 0
    assert plane.options["converged"] is True
    assert plane.options["center"] is None
    np.testing.assert_allclose(plane.options["eigenvalues"], [1.0, 0.1], rtol=1e-12)
    made = make_plane("hessian", f, None, None, center=np.array([1.0, 2.0]), seed=5)
    assert (made.options["seed"], made.options["center"]) == (5, "explicit")


def test_the_hessian_seed_is_the_lanczos_start(mlp: Case) -> None:
    center = mlp.trajectory[-1]
    plane = hessian_plane(mlp.model, mlp.X, mlp.y, center, seed=5)
    ref = top_eigenpairs(mlp.model, mlp.X, mlp.y, center, k=2, seed=5)
    np.testing.assert_array_equal(plane.directions, ref.vectors)
    other = top_eigenpairs(mlp.model, mlp.X, mlp.y, center, k=2, seed=0)
    assert not np.array_equal(ref.vectors, other.vectors)  # so the seed is seen


def test_a_hessian_plane_needs_two_parameters() -> None:
    one = cast(Model, SimpleNamespace(n_params=1))  # refused before anything else is read
    with pytest.raises(ValueError, match=r"^hessian: needs at least two parameters$"):
        hessian_plane(one, None, None, np.zeros(1))


def test_error_messages_of_make_plane(neuron: Case) -> None:
    model, X, y, traj = neuron.model, neuron.X, neuron.y, neuron.trajectory
    cases: list[tuple[dict[str, Any], str]] = [
        ({"mode": "tsne"}, "mode: unknown plane 'tsne'; known: axes, pca, random, hessian"),
        ({"mode": "pca", "trajectory": None, "center": np.zeros(3)}, "pca: needs a trajectory"),
        ({"trajectory": traj[:, :2]}, "trajectory: expected shape (T, 3), got (201, 2)"),
        ({"center": np.array([1.0, 2.0])}, "center: expected 3 finite parameters, got (2,)"),
        ({"center": np.array([1.0, np.nan, 0])}, "center: expected 3 finite parameters, got (3,)"),
        ({"params": (1.5, 0)}, "params: expected an index or a name, got 1.5"),
        ({"params": (True, 0)}, "params: expected an index or a name, got True"),
        ({"params": (0, 3)}, "params: index 3 out of range 0..2"),
    ]
    for change, message in cases:
        kwargs: dict[str, Any] = {"mode": "axes", "trajectory": traj, **change}
        mode, trajectory = kwargs.pop("mode"), kwargs.pop("trajectory")
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            make_plane(mode, model, X, y, trajectory, **kwargs)


@pytest.mark.parametrize(
    ("n_features", "shown"),
    [(5, "w_x1, w_x2, w_x3, w_x4, w_x5, bias"), (6, "w_x1, w_x2, w_x3, w_x4, w_x5, w_x6, ...")],
)
def test_unknown_parameter_names_list_six_then_an_ellipsis(n_features: int, shown: str) -> None:
    model = MLP(n_features, [], 1, [], "mse")  # n_features + 1 parameters
    message = f"params: unknown parameter 'z'; known: {shown}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_plane("axes", model, None, None, center=np.ones(model.n_params), params=("z", 0))


def test_integer_inputs_become_float64_planes(neuron: Case) -> None:
    ints = np.array([[1, 2, 3], [4, 5, 6]])
    for center in ("final", ints[0]):
        plane = make_plane("axes", neuron.model, neuron.X, neuron.y, ints, center=center)
        assert plane.center.dtype == np.float64
    moved = plane.recentered(np.array([7, 8, 9]))
    assert moved.center.dtype == np.float64
    assert moved.offset == (7.0, 8.0)


def test_centre_steps_count_from_either_end(neuron: Case) -> None:
    traj = neuron.trajectory
    first = make_plane("axes", neuron.model, neuron.X, neuron.y, traj, center=-len(traj))
    np.testing.assert_array_equal(first.center, traj[0])
    thetas = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(center_at_step(0, 3, thetas.__getitem__), thetas[0])
    np.testing.assert_array_equal(center_at_step(3, 3, thetas.__getitem__), thetas[3])


def test_recentering_on_a_point_of_another_size_is_refused(neuron: Case) -> None:
    plane = make_plane("axes", neuron.model, neuron.X, neuron.y, neuron.trajectory)
    with pytest.raises(ValueError, match=r"^center: expected shape \(3,\), got \(2,\)$"):
        plane.recentered(np.zeros(2))


def _plane(d1: list[float], d2: list[float], center: float = 0.0) -> Plane:
    return Plane("pca", np.full(2, center), np.array(d1), np.array(d2), ("a", "b"))


def test_plane_checks_name_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"^plane: center, directions and offset must be finite$"):
        _plane([1.0, 0.0], [0.0, 1.0], center=np.nan)
    parallel = r"^plane: the two directions are zero or parallel$"
    with pytest.raises(ValueError, match=parallel):
        _plane([1.0, 0.0], [2.0, 0.0])
    # Parallel but tiny: d1 . d1 = 1e-320, so det = 0 and 1e-12 d1.d1 d2.d2 underflows to 0.
    with pytest.raises(ValueError, match=parallel):
        _plane([1e-160, 0.0], [1.0, 0.0])
    # 1e-7 rad apart: sin^2 = 1e-14 is under the 1e-12 bound however long d1 is.
    with pytest.raises(ValueError, match=parallel):
        _plane([1e3, 0.0], [1.0, 1e-7])


def test_orthogonal_directions_of_any_lengths_make_a_plane() -> None:
    plane = _plane([1e-150, 0.0], [0.0, 1e150])  # d1.d1 / d2.d2 underflows; still a plane
    ab = plane.coordinates(2.0 * plane.d1 + 3.0 * plane.d2)[0]
    np.testing.assert_allclose(ab, [2.0, 3.0], rtol=1e-12)
