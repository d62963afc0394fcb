"""What a surface or a curvature would cost on a run, measured on the run itself.

A request that cannot finish within ``max_call_seconds`` is refused before it starts,
naming what would fit (a coarser grid, a sparser series). The cost of one full-data
loss (per parameter vector, batched) and of one full-data gradient are timed once per
run on its own model and data, then reused.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np

from gradscape.landscape.evaluate import affine_losses
from gradscape.service.live import LiveRun

#: Timed grid points: about this much work (points x samples x width), so small
#: models amortise their overhead as a real grid does, and big ones time a few points.
_TIMED_WORK = 1 << 21
_TIMED_POINTS = (2, 512)
#: Timings of each measured cost; the estimate is the fastest.
_TIMINGS = 3
#: Hessian-vector products a Lanczos ``lambda_max`` typically needs (measured: 10-30 on
#: the presets; its cap is ``landscape.curvature.DEFAULT_MAX_ITER``).
TYPICAL_PRODUCTS = 30


def _data(run: LiveRun) -> tuple[np.ndarray | None, np.ndarray | None]:
    ds = run.session.dataset
    return (None, None) if ds is None else (ds.X, ds.y)


def _best_seconds(work: Callable[[], object]) -> float:
    """The least wall time of ``_TIMINGS`` runs of ``work`` (as ``timeit`` advises: the
    first pays for cold caches, and any one may share the cores with a burst)."""
    best = math.inf
    for _ in range(_TIMINGS):
        t0 = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - t0)
    return best


def evaluation_seconds(run: LiveRun, precision: str = "float32") -> float:
    """Seconds of one full-data loss on a surface grid, per grid point (timed once per
    run and precision on the surface code itself, the best of ``_TIMINGS``)."""
    key = f"evaluation:{precision}"
    if key not in run.costs:
        s, (X, y) = run.session, _data(run)
        n, width = s.n_samples or 1, max(getattr(s.model, "sizes", (1,)))
        k = min(_TIMED_POINTS[1], max(_TIMED_POINTS[0], _TIMED_WORK // (n * width)))
        P = s.model.n_params
        directions = np.eye(2, P) if P >= 2 else np.ones((2, P))
        coords = np.linspace(-1e-3, 1e-3, 2 * k).reshape(k, 2)
        seconds = _best_seconds(
            lambda: affine_losses(s.model, X, y, s.params, directions, coords, precision=precision)
        )
        run.costs[key] = seconds / k
    return run.costs[key]


def gradient_seconds(run: LiveRun) -> float:
    """Seconds of one full-data loss and gradient (measured once per run, the best of
    ``_TIMINGS``)."""
    if "gradient" not in run.costs:
        s, (X, y) = run.session, _data(run)
        with np.errstate(all="ignore"):
            run.costs["gradient"] = _best_seconds(lambda: s.model.loss_and_grad(s.params, X, y))
    return run.costs["gradient"]


def _eigen_seconds(run: LiveRun) -> float:
    """What one ``lambda_max`` (or a Hessian plane) typically costs: Lanczos converges in
    a few dozen Hessian-vector products (two gradients each), far below its cap."""
    products = min(run.session.model.n_params, TYPICAL_PRODUCTS)
    return 2 * products * gradient_seconds(run)


def check_surface(run: LiveRun, resolution: int, mode: str, precision: str) -> None:
    """Refuse a G x G surface that would take longer than ``max_call_seconds``."""
    budget = run.budgets.max_call_seconds
    per = evaluation_seconds(run, precision)
    fixed = _eigen_seconds(run) if mode == "hessian" else 0.0
    estimate = resolution * resolution * per + fixed
    if estimate <= budget:
        return
    fits = math.isqrt(max(0, int((budget - fixed) / per))) if budget > fixed else 0
    cheaper = f"resolution {fits} or less fits" if fits >= 2 else "no resolution fits"
    raise ValueError(
        f"resolution: a {resolution}x{resolution} surface of this run would take about "
        f"{estimate:.0f} s, over max_call_seconds={budget:g}; {cheaper}"
    )


def curvature_seconds(run: LiveRun, points: int) -> float:
    """What ``lambda_max`` at ``points`` steps of this run would typically take."""
    return points * _eigen_seconds(run)


def check_curvature(run: LiveRun, points: int) -> None:
    """Refuse a curvature at ``points`` steps that would take longer than the budget."""
    budget = run.budgets.max_call_seconds
    one = _eigen_seconds(run)
    estimate = curvature_seconds(run, points)
    if estimate <= budget:
        return
    fits = int(budget // one)
    if curvature_seconds(run, fits + 1) <= budget:  # the floor can round one below the check
        fits += 1
    field = "series_every" if points > 1 else "step"
    cheaper = (
        f"at most {fits} points fit (a larger series_every)"
        if fits >= 2
        else "ask for one step without series_every"
        if fits == 1
        else "this model is too large for it within the budget"
    )
    raise ValueError(
        f"{field}: the curvature at {points} step(s) of this run would take about "
        f"{estimate:.0f} s, over max_call_seconds={budget:g}; {cheaper}"
    )
