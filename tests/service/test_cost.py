"""Up-front refusals of surfaces and curvatures that would not finish in the budget."""

from __future__ import annotations

import dataclasses
import re
import time

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
    turns.acquire()
    calls = []
    original = work.go_on

    def counted() -> bool:
        calls.append(1)
        return original()

    work.go_on = counted  # type: ignore[method-assign]
    with pytest.raises(WorkStoppedError, match=r"max_call_seconds=0\.05"):
        surfaces.surface_view(run, {"mode": "random", "resolution": 201}, [], work)
    turns.release()
    assert len(calls) >= 2  # asked between chunks, not once at the end


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
