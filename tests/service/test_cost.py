"""Up-front refusals of surfaces and curvatures that would not finish in the budget."""

from __future__ import annotations

import dataclasses
import math
import re
import time

import numpy as np
import pytest

from gradscape.service import cost, surfaces
from gradscape.service.live import Budgets, LiveRun


def _run(seconds: float) -> LiveRun:
    run = LiveRun.create({"preset": "moons-mlp"}, Budgets(max_call_seconds=seconds))
    run.step(20, evaluate="none")
    return run


@pytest.mark.timing
def test_a_surface_over_the_budget_is_refused_naming_one_that_fits() -> None:
    run = _run(10.0)
    per = cost.evaluation_seconds(run, "float32")
    budget = 40 * 40 * per  # room for about a 40 x 40 grid
    run.budgets = dataclasses.replace(run.budgets, max_call_seconds=budget)
    with pytest.raises(
        ValueError, match=r"^resolution: a 201x201 surface .* over max_call_seconds"
    ):
        surfaces.surface_view(run, {"mode": "random", "resolution": 201}, [])
    try:
        surfaces.surface_view(run, {"mode": "random", "resolution": 201}, [])
    except ValueError as exc:
        fits = int(re.search(r"resolution (\d+) or less fits", str(exc)).group(1))  # type: ignore[union-attr]
    assert 30 <= fits <= 41
    t0 = time.perf_counter()
    out = surfaces.surface_view(run, {"mode": "random", "resolution": fits}, [])
    took = time.perf_counter() - t0
    assert len(out["z"]) == fits
    assert took < 20 * budget + 1.0  # the estimate is of the right order (loose: noisy cores)


def test_the_measured_cost_is_cached_per_run_and_precision() -> None:
    run = _run(10.0)
    a = cost.evaluation_seconds(run, "float32")
    assert cost.evaluation_seconds(run, "float32") == a and "evaluation:float32" in run.costs
    cost.evaluation_seconds(run, "float64")
    assert "evaluation:float64" in run.costs


def test_a_curvature_series_over_the_budget_is_refused_naming_what_fits() -> None:
    run = _run(10.0)
    one = 2 * cost.TYPICAL_PRODUCTS * cost.gradient_seconds(run)
    run.budgets = dataclasses.replace(run.budgets, max_call_seconds=3.5 * one)
    with pytest.raises(ValueError, match=r"^series_every: .* at most 3 points fit"):
        surfaces.curvature_view(run, None, 1)
    assert surfaces.curvature_view(run, None, None)["lambda_max"] > 0  # one step fits
    run.budgets = dataclasses.replace(run.budgets, max_call_seconds=0.5 * one)
    with pytest.raises(ValueError, match=r"^step: .* too large"):
        surfaces.curvature_view(run, None, None)


def test_a_surface_takes_turns_and_stops_at_its_budget_when_the_estimate_was_wrong() -> None:
    from gradscape.service.work import Turns, Work, WorkStoppedError

    run = _run(1000.0)  # the estimate lets it through
    turns = Turns(1)
    work = Work(turns, 0.05, slice_seconds=0.01)
    # The 0.05 s run out at the third check, not by the clock: on a loaded machine the
    # first chunk alone can take 0.05 s, and the test is that the chunks ask in between.
    work.deadline = math.inf
    turns.acquire()
    calls = []
    original = work.go_on

    def counted() -> bool:
        calls.append(1)
        if len(calls) == 3:
            work.deadline = time.monotonic()
        return original()

    work.go_on = counted  # type: ignore[method-assign]
    with pytest.raises(WorkStoppedError, match=r"max_call_seconds=0\.05"):
        surfaces.surface_view(run, {"mode": "random", "resolution": 201}, [], work)
    turns.release()
    assert len(calls) >= 3  # asked between chunks, not once at the end


def test_a_float64_surface_is_priced_at_float64s_measured_cost() -> None:
    run = _run(10.0)
    run.costs["evaluation:float32"] = 1e-9  # as if float32 grids were free
    run.costs["evaluation:float64"] = 1.0  # and float64 points took a second each
    cost.check_surface(run, 4, "random", "float32")  # 16 x 1e-9 s: fits in 10 s
    with pytest.raises(ValueError, match=r"^resolution: a 4x4 surface .* 3 or less fits$"):
        cost.check_surface(run, 4, "random", "float64")  # 16 s of float64 points: over


def test_one_stalled_timing_does_not_refuse_a_surface(monkeypatch: pytest.MonkeyPatch) -> None:
    # the cost is timed once per run; a burst of other work during that one timing (a
    # browser drawing, another run's tick) must not make a 2 s surface look like a 12 s one
    run = _run(10.0)
    real, points = cost.affine_losses, []

    def stalled(*args: object, **kwargs: object) -> object:
        points.append(len(args[5]))  # type: ignore[arg-type]
        if len(points) == 1:
            time.sleep(0.5)  # the machine was busy for this timing only
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cost, "affine_losses", stalled)
    per = cost.evaluation_seconds(run, "float32")
    assert len(points) >= 2 and per * points[0] < 0.25  # the stall is not the estimate


# --- the measured costs, with what they time ------------------------------------------


def test_the_evaluation_cost_is_of_float32_points_unless_asked() -> None:
    run = _run(10.0)
    run.costs["evaluation:float32"] = 0.25  # as if measured already
    assert cost.evaluation_seconds(run) == 0.25


def _timed_calls(
    monkeypatch: pytest.MonkeyPatch, run: LiveRun, precision: str
) -> list[tuple[tuple, dict]]:
    """The calls ``evaluation_seconds`` makes to the surface code, recorded."""
    real, calls = cost.affine_losses, []

    def spy(*args: object, **kwargs: object) -> object:
        calls.append((args, kwargs))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cost, "affine_losses", spy)
    cost.evaluation_seconds(run, precision)
    return calls


def test_a_wide_network_times_about_two_million_units_of_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = LiveRun.create({"preset": "moons-mlp", "model": {"hidden": [64]}})
    s = run.session
    assert (s.n_samples, s.model.sizes, s.model.n_params) == (200, (2, 64, 1), 257)
    calls = _timed_calls(monkeypatch, run, "float64")
    assert len(calls) == cost._TIMINGS == 3
    for args, kwargs in calls:
        theta, directions, coords = args[3], args[4], args[5]
        # 2^21 // (200 samples x 64 wide) = 2097152 // 12800 = 163 points
        assert coords.shape == (163, 2)
        np.testing.assert_array_equal(coords.ravel(), np.linspace(-1e-3, 1e-3, 326))
        np.testing.assert_array_equal(directions, np.eye(2, 257))
        np.testing.assert_array_equal(theta, s.params)
        assert kwargs == {"precision": "float64"}


def test_a_small_model_times_at_most_512_points_along_its_two_axes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = LiveRun.create({"preset": "line"})  # 50 samples x width 1: 2^21 / 50 is over 512
    (args, kwargs), *_ = _timed_calls(monkeypatch, run, "float32")
    assert args[5].shape == (512, 2) and (args[5][0, 0], args[5][-1, -1]) == (-1e-3, 1e-3)
    np.testing.assert_array_equal(args[4], [[1.0, 0.0], [0.0, 1.0]])  # P = 2: both axes
    assert kwargs == {"precision": "float32"}


def test_the_gradient_cost_is_timed_once_on_the_runs_own_loss_and_gradient(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = _run(10.0)
    s, ds = run.session, run.session.dataset
    assert ds is not None
    real, calls = s.model.loss_and_grad, []

    def spy(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> object:
        calls.append((theta, X, y))
        return real(theta, X, y)

    monkeypatch.setattr(s.model, "loss_and_grad", spy)
    first = cost.gradient_seconds(run)
    assert len(calls) == 3 and first > 0
    for theta, X, y in calls:
        np.testing.assert_array_equal(theta, s.params)
        assert X is ds.X and y is ds.y
    assert cost.gradient_seconds(run) == first and len(calls) == 3  # reused, not re-timed
    other = _run(10.0)
    other.costs["gradient"] = 0.5  # as if measured already
    assert cost.gradient_seconds(other) == 0.5


# --- the refusals, on set costs (the line's P = 2: a Hessian is 2 x 2 gradients) ------


def _priced(per: float, gradient: float, budget: float) -> LiveRun:
    run = LiveRun.create({"preset": "line"}, Budgets(max_call_seconds=budget))
    run.costs["evaluation:float32"] = per
    run.costs["gradient"] = gradient
    return run


@pytest.mark.parametrize(
    ("mode", "resolution", "per", "budget", "cheaper", "about"),
    [
        # 900 / 64 = 14.0625 s + 4 s of Hessian = 18.06 s; (10 - 4) x 64 = 384: 19 a side
        ("hessian", 30, 1 / 64, 10.0, "resolution 19 or less fits", 18),
        # no Hessian: 14.0625 s; 10 x 64 = 640 points: 25 a side
        ("random", 30, 1 / 64, 10.0, "resolution 25 or less fits", 14),
        # 9 s over 4 s; 4 points fit: 2 a side, the smallest grid
        ("random", 3, 1.0, 4.0, "resolution 2 or less fits", 9),
        # 4 s over 3 s; 3 points fit: 1 a side, no grid
        ("random", 2, 1.0, 3.0, "no resolution fits", 4),
        # free grid points, but the Hessian alone (4 s) is over 3 s
        ("hessian", 10, 0.0, 3.0, "no resolution fits", 4),
    ],
)
def test_a_surface_refusal_names_its_cost_and_the_largest_grid_that_fits(
    mode: str, resolution: int, per: float, budget: float, cheaper: str, about: int
) -> None:
    run = _priced(per, 1.0, budget)
    message = (
        f"resolution: a {resolution}x{resolution} surface of this run would take about "
        f"{about} s, over max_call_seconds={budget:g}; {cheaper}"
    )
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        cost.check_surface(run, resolution, mode, "float32")


@pytest.mark.parametrize(
    ("points", "budget", "message"),
    [
        (3, 3.0, None),  # 3 x 1 s: exactly the budget, allowed
        (
            4,
            2.0,
            "series_every: the curvature at 4 step(s) of this run would take about 4 s, "
            "over max_call_seconds=2; at most 2 points fit (a larger series_every)",
        ),
        (
            2,
            1.0,
            "series_every: the curvature at 2 step(s) of this run would take about 2 s, "
            "over max_call_seconds=1; ask for one step without series_every",
        ),
        (
            1,
            0.5,
            "step: the curvature at 1 step(s) of this run would take about 1 s, "
            "over max_call_seconds=0.5; this model is too large for it within the budget",
        ),
    ],
)
def test_a_curvature_refusal_names_what_would_fit(
    points: int, budget: float, message: str | None
) -> None:
    run = _priced(1.0, 0.25, budget)  # one lambda_max: 2 x 2 gradients of 0.25 s = 1 s
    if message is None:
        cost.check_curvature(run, points)
        return
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        cost.check_curvature(run, points)


@pytest.mark.parametrize(
    ("one", "budget", "fits"),
    [
        # 1.0 // 0.1 is 9.0 in floats, yet 10 x 0.1 == 1.0: ten points pass the check
        (0.1, 1.0, 10),
        # 13.402956127087796 / 4.467652042362599 rounds to 3.0, yet 3 x one is
        # 13.402956127087798, over the budget: only two points pass the check
        (4.467652042362599, 13.402956127087796, 2),
    ],
)
def test_a_curvature_refusal_names_the_count_its_own_check_accepts(
    one: float, budget: float, fits: int
) -> None:
    run = _priced(1.0, one / 4, budget)  # one lambda_max: 2 x 2 gradients
    cost.check_curvature(run, fits)  # accepted
    with pytest.raises(ValueError, match=r"over max_call_seconds"):
        cost.check_curvature(run, fits + 1)
    with pytest.raises(ValueError, match=re.escape(f"; at most {fits} points fit (")):
        cost.check_curvature(run, 20)
