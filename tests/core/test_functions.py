"""Analytic surfaces: exact derivatives, known minima, the Model protocol, validation."""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pytest

from gradscape.core.functions import (
    FUNCTIONS,
    AnalyticFunction,
    Quadratic,
    function_specs,
    make_function,
)
from gradscape.core.types import FloatArray, Model

# Every surface at its defaults, plus non-default options so those paths are checked too.
CASES: list[tuple[str, dict[str, float]]] = [(name, {}) for name in FUNCTIONS] + [
    ("rosenbrock", {"a": -0.7, "b": 5.0}),
    ("saddle", {"scale": 3.0}),
    ("quadratic", {"condition": 50.0, "angle": 30.0}),
    ("quadratic", {"condition": 1e4, "angle": -115.0}),
    ("rastrigin", {"A": 3.0}),
]
IDS = [f"{name}-{opts}" if opts else name for name, opts in CASES]


@pytest.fixture(params=CASES, ids=IDS)
def surface(request: pytest.FixtureRequest) -> AnalyticFunction:
    name, opts = request.param
    return make_function(name, **opts)


def _points(f: AnalyticFunction, n: int = 12, seed: int = 0) -> FloatArray:
    """``n`` seeded points inside the surface's plotting window, ``(n, 2)``."""
    (x0, x1), (y0, y1) = f.extent
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


def _central_diff(fn: Callable[[FloatArray], FloatArray], p: FloatArray) -> FloatArray:
    """Central differences of ``fn`` at ``p`` ``(2,)``; derivative index last."""
    cols = []
    for j in range(2):
        h = 1e-6 * max(1.0, abs(float(p[j])))
        e = np.zeros(2)
        e[j] = h
        cols.append((fn(p + e) - fn(p - e)) / (2.0 * h))
    return np.stack(cols, axis=-1)


def _rel_err(approx: FloatArray, exact: FloatArray) -> float:
    return float(np.linalg.norm(approx - exact) / max(float(np.linalg.norm(exact)), 1.0))


def test_gradient_matches_central_differences(surface: AnalyticFunction) -> None:
    for p in _points(surface):
        fd = _central_diff(surface.value, p)
        assert _rel_err(fd, surface.gradient(p)) < 1e-6, p


def test_hessian_matches_central_differences_of_gradient(surface: AnalyticFunction) -> None:
    for p in _points(surface, seed=1):
        fd = _central_diff(surface.gradient, p)  # fd[i, j] = d g_i / d p_j
        H = surface.hessian(p)
        assert _rel_err(fd, H) < 1e-6, p
        np.testing.assert_array_equal(H, H.T)


def test_derivative_check_catches_a_wrong_gradient() -> None:
    f = make_function("rosenbrock")
    p = np.array([0.3, -0.4])
    wrong = f.gradient(p) * np.array([1.0, 1.0 + 1e-4])
    assert _rel_err(_central_diff(f.value, p), wrong) > 1e-6


@pytest.mark.parametrize(("name", "opts"), CASES, ids=IDS)
def test_known_minima_are_stationary_with_value_zero(name: str, opts: dict[str, float]) -> None:
    f = make_function(name, **opts)
    for m in f.minima:
        p = np.array(m)
        assert f.value(p) == pytest.approx(0.0, abs=1e-20)
        np.testing.assert_allclose(f.gradient(p), 0.0, atol=1e-12)
        assert np.all(np.linalg.eigvalsh(f.hessian(p)) > 0.0)


@pytest.mark.parametrize(
    ("name", "opts", "minimum"),
    [
        ("rosenbrock", {}, (1.0, 1.0)),
        ("rosenbrock", {"a": 1.5, "b": 7.0}, (1.5, 2.25)),
        ("beale", {}, (3.0, 0.5)),
        ("himmelblau", {}, (3.0, 2.0)),
        ("rastrigin", {}, (0.0, 0.0)),
        ("quadratic", {"angle": 40.0}, (0.0, 0.0)),
    ],
)
def test_textbook_minima_are_listed(
    name: str, opts: dict[str, float], minimum: tuple[float, float]
) -> None:
    f = make_function(name, **opts)
    assert minimum in f.minima
    assert f.value(np.array(minimum)) == 0.0


def test_himmelblau_has_four_distinct_minima() -> None:
    f = make_function("himmelblau")
    minima = np.array(f.minima)
    assert minima.shape == (4, 2)
    assert len({(round(x, 6), round(y, 6)) for x, y in f.minima}) == 4
    np.testing.assert_allclose(f.value(minima), 0.0, atol=1e-20)


def test_saddle_origin_is_a_saddle_point() -> None:
    f = make_function("saddle", scale=2.0)
    origin = np.zeros(2)
    np.testing.assert_array_equal(f.gradient(origin), 0.0)
    np.testing.assert_allclose(np.linalg.eigvalsh(f.hessian(origin)), [-4.0, 4.0])
    assert f.minima == ()


@pytest.mark.parametrize("condition", [1.0, 10.0, 250.0, 1e6])
@pytest.mark.parametrize("angle", [0.0, 30.0, -90.0, 137.0])
def test_quadratic_eigenvalues_match_condition(condition: float, angle: float) -> None:
    f = make_function("quadratic", condition=condition, angle=angle)
    H = f.hessian(np.array([0.3, -2.0]))
    eig = np.linalg.eigvalsh(H)
    # eigvalsh is accurate to about eps * ||H|| = eps in absolute terms.
    np.testing.assert_allclose(eig, [1.0 / condition, 1.0], rtol=1e-12, atol=1e-15)
    assert eig[1] / eig[0] == pytest.approx(condition, rel=1e-9)


def test_quadratic_angle_rotates_the_valley() -> None:
    f = make_function("quadratic", condition=100.0, angle=30.0)
    along = np.array([math.cos(math.radians(30.0)), math.sin(math.radians(30.0))])
    across = np.array([-along[1], along[0]])
    assert f.value(along) == pytest.approx(0.5 / 100.0, rel=1e-12)
    assert f.value(across) == pytest.approx(0.5, rel=1e-12)


def test_quadratic_start_keeps_its_place_in_the_rotated_valley() -> None:
    plain, rotated = Quadratic(), Quadratic(angle=75.0)
    assert rotated.value(np.array(rotated.start)) == pytest.approx(
        plain.value(np.array(plain.start)), rel=1e-12
    )


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 1, 3)])
def test_vectorised_shapes(surface: AnalyticFunction, shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(2)
    P = rng.uniform(-2.0, 2.0, (*shape, 2))
    v, g, H = surface.value(P), surface.gradient(P), surface.hessian(P)
    assert v.shape == shape
    assert g.shape == (*shape, 2)
    assert H.shape == (*shape, 2, 2)
    flat = P.reshape(-1, 2)
    for k, p in enumerate(flat):
        assert v.reshape(-1)[k] == surface.value(p)
        np.testing.assert_array_equal(g.reshape(-1, 2)[k], surface.gradient(p))
        np.testing.assert_array_equal(H.reshape(-1, 2, 2)[k], surface.hessian(p))


def test_batch_loss_equals_a_loop_of_loss(surface: AnalyticFunction) -> None:
    thetas = _points(surface, n=7, seed=3)
    batch = surface.batch_loss(thetas, None, None)
    assert batch.shape == (7,)
    np.testing.assert_array_equal(batch, [surface.loss(t, None, None) for t in thetas])


def test_model_protocol(surface: AnalyticFunction) -> None:
    assert isinstance(surface, Model)
    assert surface.n_params == 2
    assert surface.param_names == ("x", "y")
    assert surface.layer_slices == (("surface", slice(0, 2)),)
    assert surface.needs_data is False
    theta = np.array([0.25, -0.5])
    assert surface.accuracy(theta, None, None) is None
    loss, grad = surface.loss_and_grad(theta, None, None)
    assert isinstance(loss, float)
    assert loss == surface.loss(theta, None, None) == float(surface.value(theta))
    np.testing.assert_array_equal(grad, surface.gradient(theta))


def test_init_params_is_the_start_and_ignores_rng(surface: AnalyticFunction) -> None:
    a = surface.init_params(np.random.default_rng(0))
    b = surface.init_params(np.random.default_rng(99))
    assert a.dtype == np.float64
    assert a.shape == (2,)
    np.testing.assert_array_equal(a, surface.start)
    np.testing.assert_array_equal(a, b)
    a[0] = 1e9  # a fresh copy each time, so callers may update it in place
    assert surface.init_params(np.random.default_rng(0))[0] == surface.start[0]


def test_start_minima_and_extent_fit_the_window(surface: AnalyticFunction) -> None:
    (x0, x1), (y0, y1) = surface.extent
    assert x0 < x1
    assert y0 < y1
    for x, y in (surface.start, *surface.minima):
        assert x0 <= x <= x1
        assert y0 <= y <= y1
    assert np.isfinite(surface.value(np.array(surface.start)))


def test_theta_of_the_wrong_shape_is_rejected() -> None:
    f = make_function("beale")
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        f.loss(np.zeros(3), None, None)
    with pytest.raises(ValueError, match=r"\(K, 2\)"):
        f.batch_loss(np.zeros(2), None, None)
    with pytest.raises(ValueError, match=r"\(\.\.\., 2\)"):
        f.value(np.zeros((4, 3)))


@pytest.mark.parametrize(
    "point",
    [(1e200, 1e200), (-1e200, 3e180), (1e300, -1e300), (np.inf, 0.0), (-np.inf, np.inf)],
)
def test_huge_inputs_give_non_finite_values_without_warnings(
    surface: AnalyticFunction, point: tuple[float, float]
) -> None:
    # pytest turns any RuntimeWarning into an error, so merely running is the check.
    p = np.array(point)
    assert not np.isfinite(surface.value(p))
    assert not math.isfinite(surface.loss(p, None, None))
    surface.loss_and_grad(p, None, None)
    surface.hessian(p)
    batch = surface.batch_loss(np.array([point, (0.5, 0.5)]), None, None)
    assert not np.isfinite(batch[0])
    assert np.isfinite(batch[1])


def test_nan_input_gives_nan_without_warnings(surface: AnalyticFunction) -> None:
    p = np.array([np.nan, 1.0])
    assert np.isnan(surface.value(p))
    assert np.isnan(surface.gradient(p)[0])


def test_unknown_function_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"model\.function: unknown function 'bogus'") as info:
        make_function("bogus")
    for name in FUNCTIONS:
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("name", "opts", "field"),
    [
        ("rosenbrock", {"b": -1.0}, "model.b"),
        ("rosenbrock", {"a": 2.5}, "model.a"),
        ("rosenbrock", {"a": math.nan}, "model.a"),
        ("rosenbrock", {"c": 1.0}, "model.c"),
        ("beale", {"a": 1.0}, "model.a"),
        ("quadratic", {"condition": 0.5}, "model.condition"),
        ("quadratic", {"condition": math.inf}, "model.condition"),
        ("quadratic", {"angle": 400.0}, "model.angle"),
        ("quadratic", {"angle": "30"}, "model.angle"),
        ("saddle", {"scale": 0.0}, "model.scale"),
        ("saddle", {"scale": True}, "model.scale"),
        ("rastrigin", {"A": -1.0}, "model.A"),
        ("rastrigin", {"A": None}, "model.A"),
    ],
)
def test_bad_options_name_the_field(name: str, opts: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        make_function(name, **opts)


def test_options_accept_ints_and_numpy_scalars_and_keep_defaults() -> None:
    f = make_function("quadratic", condition=np.float32(20.0), angle=np.int64(45))
    assert f.options == {"condition": 20.0, "angle": 45.0}
    assert all(type(v) is float for v in f.options.values())
    assert make_function("rosenbrock", b=3).options == {"a": 1.0, "b": 3.0}


def test_function_specs_describe_every_function() -> None:
    specs = function_specs()
    assert set(specs) == set(FUNCTIONS)
    assert specs["quadratic"]["options"]["condition"] == {
        "default": 10.0,
        "min": 1.0,
        "max": 1e6,
        "type": "float",
    }
    assert specs["rosenbrock"]["minima"] == [[1.0, 1.0]]
    for name, spec in specs.items():
        assert set(spec) == {"description", "options", "start", "minima", "extent"}
        assert spec["description"].endswith(".")
        assert spec["description"].count(". ") == 0, "one sentence"
        f = make_function(name, **{k: o["default"] for k, o in spec["options"].items()})
        assert spec["start"] == list(f.start)
        for o in spec["options"].values():
            assert o["min"] <= o["default"] <= o["max"]


@pytest.mark.parametrize(
    ("name", "known"),
    [("rosenbrock", "a, b"), ("beale", "none"), ("himmelblau", "none"),
     ("saddle", "scale"), ("quadratic", "condition, angle"), ("rastrigin", "A")],
)  # fmt: skip
def test_an_unknown_option_names_the_ones_each_surface_has(name: str, known: str) -> None:
    with pytest.raises(ValueError, match=rf"^model\.bogus: unknown option; known: {known}$"):
        make_function(name, bogus=1)


@pytest.mark.parametrize(
    ("name", "opts", "text"),
    [
        ("rosenbrock", {}, "Rosenbrock(a=1.0, b=100.0)"),
        ("quadratic", {"condition": 50, "angle": -30.0}, "Quadratic(condition=50.0, angle=-30.0)"),
        ("beale", {}, "Beale()"),
    ],
)
def test_a_surface_prints_as_its_class_with_every_option(
    name: str, opts: dict[str, float], text: str
) -> None:
    assert repr(make_function(name, **opts)) == text


def test_integer_points_are_read_as_floats_without_wrapping_around() -> None:
    """x = 4e9 as an int64: x^2 = 1.6e19 is past int64's 9.2e18, so only floats get the
    value (x^2 - 11)^2 + (x - 7)^2 at y = 0 right."""
    f = make_function("himmelblau")
    x = 4_000_000_000
    ref = float((x * x - 11) ** 2 + (x - 7) ** 2)  # Python ints: exact, then rounded once
    P = np.array([[x, 0]], dtype=np.int64)
    assert f.value(P)[0] == pytest.approx(ref, rel=1e-15)
    np.testing.assert_allclose(f.gradient(P)[0], [4.0 * x * (x * x - 11) + 2.0 * (x - 7),
                                                  2.0 * (x * x - 11)], rtol=1e-15)  # fmt: skip


@pytest.mark.parametrize(
    ("a", "extent"),
    [
        (1.0, ((-2.0, 2.0), (-1.0, 3.0))),  # the default window
        (-1.8, ((-2.3, 2.0), (-1.0, 4.24))),  # half a unit past a on the left, a^2 + 1 above
        (1.8, ((-2.0, 2.3), (-1.0, 4.24))),  # and on the right
    ],
)
def test_rosenbrocks_window_grows_to_hold_its_minimum(
    a: float, extent: tuple[tuple[float, float], tuple[float, float]]
) -> None:
    f = make_function("rosenbrock", a=a)
    assert f.start == (-1.2, 1.0)  # the textbook start, whatever a is
    assert np.array(f.extent) == pytest.approx(np.array(extent), rel=1e-15)


def test_an_unknown_function_lists_every_known_one() -> None:
    want = (
        "model.function: unknown function 'bogus'; "
        "known: rosenbrock, beale, himmelblau, saddle, quadratic, rastrigin"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(want)}$"):
        make_function("bogus")
