"""Recovery for a diverged run: where to rewind, why it diverged, and the fix with its number.

Everything is read from the run's own history (``core.history`` columns: batch losses,
gradient norms, per-layer gradient norms, the lr in force) plus, for a learning rate
that is too large, the top Hessian eigenvalue at the step to rewind to.

Where to rewind (``climb``): the loss at each point ``theta_k`` is the batch loss of
update k+1 (the full-data loss when the batch is the full batch) and, at the last
point T, the full-data loss. With mini-batches one batch's loss is noisy, so it is
smoothed: the geometric mean over a centred window of one epoch (``ceil(n / batch)``
steps; geometric because a climb spans hundreds of orders of magnitude). A value that
is not finite counts as +inf. From T, walk back while the loss keeps falling as you go
back; where it stops, the climb began. The climb follows an lr raise at step ``e`` (a
live change or a schedule: ``lr[e + 1] > lr[e]``, the latest one) when ``e`` lies at or
after that point but within half a smoothing window of it (the smoothing cannot tell
which came first), or before it with the loss fallen by less than ``NO_PROGRESS`` since
``e`` (a converged run sits flat at first while the overshoot grows out of rounding
noise): then rewind to ``e``, the last point the old lr made. ``rewind`` keeps the
events logged at its step, so the raise is still in force there: send the fix after
rewinding. Diverging from step 1 gives 0; a run of a single point gives 0.

The fix is measured against the lr the climb ran at (the largest in force after
``rewind_to``): ``SAFETY`` x ``min(2 / lambda_max, that lr)``, rounded down to two
significant figures, so it is below the edge and below the lr that climbed. When
``lambda_max`` would cost more than ``max_call_seconds`` (``service.cost``) or has no
edge (not positive), that lr is halved until it is at most the largest lower lr the
run fell with before the climb (once when there is none). For exploding gradients the
fix is ``clip_norm`` at the median gradient norm of the steps up to ``rewind_to``
(rounded to two figures; the gradient at ``rewind_to`` when none was recorded; half the
clip in force when one was and did not hold).

Why (``cause``): ``exploding_gradients`` when the gradient became non-finite while the
loss was finite, or, in a network with hidden layers, when the lr was not raised and
the gradient norm grew ``EXPLODING_GROWTH`` times its median over the healthy steps or
the layers' gradient norms grow layer by layer toward the input. Otherwise the
``learning_rate``: a model without a hidden layer (the chapter's neuron, regression,
an analytic surface) has no depth to explode through, and every step that overshoots
makes the gradient grow too.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradscape.core.types import FloatArray
from gradscape.landscape import lambda_max
from gradscape.service import cost
from gradscape.service.errors import ConflictError
from gradscape.service.jsonsafe import clean_dict
from gradscape.service.live import LiveRun

#: "Orders of magnitude": the climb's largest gradient norm over the healthy median.
EXPLODING_GROWTH = 100.0
#: Layer norms "grow toward the input" when also the first is this many times the last.
LAYER_GROWTH = 10.0
#: Steps after an lr raise made no progress when the loss fell by less than this share.
NO_PROGRESS = 0.01
#: The suggested lr: this share of the stability edge 2 / lambda_max, and of the lr in force.
SAFETY = 0.5
#: The largest clip_norm a live change takes (``core.changes``).
MAX_CLIP = 1e6
#: The log of the largest float: a geometric mean capped here stays finite.
_LOG_MAX = math.log(np.finfo(np.float64).max)


def number(value: float) -> str:
    """A number for a sentence: ``5270``, ``0.996``, ``1.06e11``, ``4.29e-33``."""
    if not math.isfinite(value) or value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{float(f'{value:.3g}'):g}"
    return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", f"{value:.3g}")


def two_figures(value: float, *, down: bool = False) -> float:
    """``value`` to 2 significant figures (rounded down with ``down``: it stays below)."""
    exponent = math.floor(math.log10(value)) - 1
    scaled = value / 10.0**exponent
    digits = math.floor(scaled * (1 + 1e-12)) if down else round(scaled)
    return float(f"{digits}e{exponent}")


@dataclass(frozen=True)
class Climb:
    """Where the climb began (``rewind_to``), the lr raise it followed, the smoothing."""

    rewind_to: int
    raised_at: int | None
    window: int


def smoothed(points: FloatArray, window: int) -> FloatArray:
    """The loss per point ``(T + 1,)``: as given for ``window`` 1, else the geometric mean
    over a centred window of ``window`` points (cut at the ends); non-finite -> +inf."""
    bad = ~np.isfinite(points)
    if window <= 1:
        return np.where(bad, np.inf, points)
    logs = np.log(np.maximum(np.where(bad, 1.0, points), 1e-300))
    sums, bads = np.r_[0.0, np.cumsum(logs)], np.r_[0, np.cumsum(bad)]
    k = np.arange(points.shape[0])
    lo = np.maximum(0, k - window // 2)
    hi = np.minimum(points.shape[0], k + window // 2 + 1)
    mean = np.exp(np.minimum((sums[hi] - sums[lo]) / (hi - lo), _LOG_MAX))
    return np.where(bads[hi] > bads[lo], np.inf, mean)


def climb_start(levels: FloatArray) -> int:
    """Walk back from the last point while the loss keeps falling as you go back (or is
    not finite); the point where the walk stops."""
    rising = (levels[1:] > levels[:-1]) | ~np.isfinite(levels[1:])
    stops = np.flatnonzero(~rising)
    return 0 if stops.size == 0 else int(stops[-1]) + 1


def climb(points: FloatArray, lr: FloatArray, window: int) -> Climb:
    """Where to rewind (see the module docstring): ``points`` ``(T + 1,)`` is the loss at
    each theta_k, ``lr`` ``(T + 1,)`` the history's lr column (``lr[j]`` made step j)."""
    levels = smoothed(points, window)
    start = climb_start(levels)
    # a raise at step e shows as lr[e + 1] > lr[e]; up to half a window after the start
    # the smoothing cannot tell which came first
    last = min(start + window // 2 + 1, lr.shape[0] - 1)
    raises = np.flatnonzero(lr[1 : last + 1] > lr[:last])
    if raises.size == 0:
        return Climb(start, None, window)
    e = int(raises[-1])
    if e >= start:
        return Climb(e, e, window)
    before, after = levels[e], levels[start]
    if np.isfinite(before) and before - after < NO_PROGRESS * abs(before):
        return Climb(e, e, window)
    return Climb(start, None, window)


@dataclass(frozen=True)
class Diagnosis:
    """The cause and what shows it."""

    cause: str  # "learning_rate" | "exploding_gradients"
    why: str  # the evidence in words, for the message
    healthy_grad_norm: float  # median over the gradients at theta_0 .. theta_k (NaN: none)
    peak_grad_norm: float  # largest over the climb (NaN: no step after the rewind point)
    lr_raised: bool


def _grows_toward_input(norms: FloatArray) -> bool:
    """Per-layer gradient norms ``(L,)`` decreasing from the input layer to the output."""
    if norms.shape[0] < 2 or not np.isfinite(norms).all() or norms[-1] <= 0:
        return False
    return bool(np.all(norms[:-1] > norms[1:]) and norms[0] >= LAYER_GROWTH * norms[-1])


def diagnose(cols: dict[str, np.ndarray], k: int, reason: str, deep: bool) -> Diagnosis:
    """Why a run that climbed after step ``k`` diverged, from its history columns (``grad_norm``,
    ``lr`` ``(T + 1,)``, ``layer_grad_norms`` ``(T + 1, L)``); ``deep``: it has hidden layers."""
    grad, lr = cols["grad_norm"], cols["lr"]
    healthy = grad[1 : k + 2][np.isfinite(grad[1 : k + 2])]  # at theta_0 .. theta_k
    later = grad[k + 2 :][np.isfinite(grad[k + 2 :])]  # on the way up
    median = float(np.median(healthy)) if healthy.size else math.nan
    peak = float(later.max()) if later.size else math.nan
    raised = bool(lr[k + 1 :].size and np.max(lr[k + 1 :]) > np.max(lr[: k + 1]))
    why = None
    if reason.startswith("gradient became non-finite"):
        why = "the gradient became non-finite while the loss was still finite"
    elif deep and not raised and peak >= EXPLODING_GROWTH * median:  # False for NaN
        lr_then = number(float(lr[min(k + 1, lr.shape[0] - 1)]))
        why = (
            f"the gradient norm grew from about {number(median)} to {number(peak)} "
            f"while the learning rate stayed at {lr_then}"
        )
    elif deep and not raised and _grows_toward_input(cols["layer_grad_norms"][-1]):
        norms = cols["layer_grad_norms"][-1]
        why = (
            "the gradient norms grow layer by layer toward the input, "
            f"{number(norms[-1])} at the output to {number(norms[0])} at the first layer"
        )
    cause = "learning_rate" if why is None else "exploding_gradients"
    return Diagnosis(cause, why or "", median, peak, raised)


def _history(run: LiveRun) -> tuple[FloatArray, dict[str, np.ndarray], int]:
    """The loss at each theta_k ``(T + 1,)``, the history columns, and the smoothing window."""
    s = run.session
    T = s.step_count
    cols = s.recorded(0, T + 1, ["batch_loss", "grad_norm", "lr", "layer_grad_norms"])
    last = s.trajectory(start=T, stop=T + 1, fields=["loss"])["loss"][0]
    points = np.r_[cols["batch_loss"][1:], last]
    n, size = s.n_samples, s.settings["batch_size"]
    window = 1 if n is None or size is None else math.ceil(n / size)
    return points, cols, window


def _clip_at(run: LiveRun, k: int) -> float | None:
    """The clip_norm in force at step k (its events included, as a rewind keeps them)."""
    s = run.session
    clip: float | None = s.config.get("clip_norm")
    for at, change in s.events:
        if at <= k and "clip_norm" in change:
            clip = change["clip_norm"]
    return clip


def _curvature(run: LiveRun, k: int) -> tuple[float, str | None]:
    """lambda_max at step k, or NaN and why it was not computed (over the budget)."""
    seconds, budget = cost.curvature_seconds(run, 1), run.budgets.max_call_seconds
    if seconds > budget:
        return (
            math.nan,
            f"it would take about {number(seconds)} s, over max_call_seconds={budget:g}",
        )
    s = run.session
    X, y = (None, None) if s.dataset is None else (s.dataset.X, s.dataset.y)
    with np.errstate(all="ignore"):
        lam = lambda_max(s.model, X, y, s.params_at([k])[0])
    if not math.isfinite(lam) or lam <= 0:
        return math.nan, f"lambda_max is {number(lam)} at step {k}: no stability edge there"
    return lam, None


def _halved(lr_now: float, lrs: FloatArray) -> tuple[float, str]:
    """lr halved until it is at most the largest lower lr the loss fell with (``lrs``), once
    when there is none; and the reason in words."""
    lower = lrs[np.isfinite(lrs) & (lrs < lr_now)]
    if lower.size == 0:
        return lr_now / 2, "half the lr (no lower lr was tried: halve again if it climbs again)"
    stable = float(lower.max())
    halvings = max(1, math.ceil(math.log2(lr_now / stable) - 1e-9))
    return lr_now / 2**halvings, f"at most lr {number(stable)}, which the loss fell with before"


def _lr_fix(run: LiveRun, k: int, lr_now: float, lrs: FloatArray) -> dict[str, Any]:
    """The fix for a learning rate that is too large: below 2 / lambda_max when known."""
    lam, skipped = _curvature(run, k)
    out: dict[str, Any] = {"lambda_max": lam, "lr_limit": 2.0 / lam, "curvature_note": skipped}
    climbed = f"The loss began to climb after step {k}"
    if skipped is None:
        edge = 2.0 / lam
        new = two_figures(SAFETY * min(edge, lr_now), down=True)
        if lr_now >= edge:
            why = (
                f"{climbed} because lr {number(lr_now)} is above the stability edge "
                f"2 / lambda_max = {number(edge)} (lambda_max = {number(lam)} there), "
                "so every step overshoots"
            )
        else:
            why = (
                f"{climbed} although lr {number(lr_now)} is below 2 / lambda_max = "
                f"{number(edge)} there (the curvature grew on the way up)"
            )
        out["message"] = f"{why}: rewind to step {k} and lower lr to {number(new)}."
    else:
        value, basis = _halved(lr_now, lrs)
        new = two_figures(value, down=True)
        out["message"] = (
            f"{climbed} at lr {number(lr_now)}; lambda_max was not computed ({skipped}), "
            f"so rewind to step {k} and lower lr to {number(new)}, {basis}."
        )
    out["fix"] = {"lr": new}
    return out


def _gradient_norm_at(run: LiveRun, k: int) -> float:
    """The gradient norm at theta_k on the mini-batch of step k + 1 (none was recorded)."""
    s = run.session
    Xb, yb, theta = s.batch_at(k + 1)
    with np.errstate(all="ignore"):
        _, grad = s.model.loss_and_grad(theta, Xb, yb)
        return float(np.linalg.norm(grad))


def _clip_fix(run: LiveRun, k: int, diagnosis: Diagnosis) -> dict[str, Any]:
    """The fix for exploding gradients: clip at the healthy steps' median gradient norm."""
    norm, basis = diagnosis.healthy_grad_norm, "the median gradient norm before the climb"
    if not math.isfinite(norm):
        norm, basis = _gradient_norm_at(run, k), f"the gradient norm at step {k}"
    head = f"Exploding gradients: {diagnosis.why}"
    if not math.isfinite(norm) or norm <= 0:
        message = f"{head}, and the gradient at step {k} is not finite, so no clip can help: reset."
        return {"fix": None, "message": message}
    clip = two_figures(norm)
    if clip > MAX_CLIP:
        clip, basis = MAX_CLIP, f"{basis} is {number(norm)}, over the largest clip_norm"
    now = _clip_at(run, k)
    if now is not None and clip >= now:  # clipping at `now` did not hold it: tighter
        clip, basis = two_figures(now / 2), f"half the clip_norm {number(now)} in force"
    message = (
        f"{head}, so rewind to step {k} and clip the gradient norm at {number(clip)} ({basis})."
    )
    return {"fix": {"clip_norm": clip}, "message": message}


def recovery(run: LiveRun) -> dict[str, Any]:
    """``GET .../recovery``: where a diverged run should rewind to, why it diverged, and the
    live change that fits (``fix``), with its evidence and one sentence for the student."""
    s = run.session
    if s.status != "diverged":
        raise ConflictError(
            f"the session has not diverged (status {run.status}): recovery is for a run "
            "whose loss or parameters became non-finite"
        )
    points, cols, window = _history(run)
    found = climb(points, cols["lr"], window)
    k = found.rewind_to
    deep = len(s.model.layer_slices) > 1
    diagnosis = diagnose(cols, k, s.reason or "", deep)
    # the lr the climb ran at (a raise after rewind_to is dropped by the rewind, but it is
    # the rate that was tried: the fix is measured against it)
    lr_now = float(np.max(cols["lr"][k + 1 :])) if k < s.step_count else float(s.settings["lr"])
    out: dict[str, Any] = {
        "step": s.step_count,
        "reason": s.reason,
        "rewind_to": k,
        "loss_at": float(s.trajectory(start=k, stop=k + 1, fields=["loss"])["loss"][0]),
        "cause": diagnosis.cause,
        "lr": lr_now,
        "lambda_max": None,
        "lr_limit": None,
        "curvature_note": None,
        "grad_norm_healthy": diagnosis.healthy_grad_norm,
        "grad_norm_peak": diagnosis.peak_grad_norm,
        "lr_raised_at": found.raised_at,
        "smoothing_steps": window,
    }
    if diagnosis.cause == "learning_rate":
        out |= _lr_fix(run, k, lr_now, cols["lr"][1 : k + 1])
    else:
        out |= _clip_fix(run, k, diagnosis)
    return clean_dict(out)


__all__ = ["Climb", "Diagnosis", "climb", "climb_start", "diagnose", "recovery", "smoothed"]
