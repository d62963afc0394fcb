"""LiveRun: one session as a client drives it, with every command and every limit once.

REST, the WebSocket, import and the CLI call these methods (in a worker thread, under
the session's lock), so the same request gets the same answer whichever door it came
through. A refused command raises a domain error (``ValueError``, ``ConflictError``,
``PayloadTooLargeError``) before it changes anything.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradscape.core.config import Limits
from gradscape.core.records import ARRAY_FIELDS, Steps
from gradscape.core.session import TrainingSession
from gradscape.landscape import Plane
from gradscape.service.errors import ConflictError, PayloadTooLargeError
from gradscape.service.work import Work

#: Parameters kept per run for drawing paths (steps evaluated while playing or stepping).
RECENT_FLOATS = 262_144  # 2 MiB of float64: the recent end of the path (checkpoints draw the rest)
#: Evaluated (drawn) points per play tick and per socket step.
POINTS_PER_TICK = 16
Event = tuple[int, dict[str, Any]]


@dataclass(frozen=True)
class Budgets:
    """What one run may ask of the server (the service settings set these)."""

    max_steps_per_call: int = 100_000
    max_trajectory_steps: int = 1_000_000
    max_response_floats: int = 2_000_000
    max_steps_per_second: int = 200_000
    max_events: int = 10_000
    max_resolution: int = 201  # surface and data grids are at most G x G
    max_evaluated: int = 1000  # full-data losses computed for one step call's records
    max_call_seconds: float = 10.0  # compute one call may take


class LiveRun:
    """A session, its recent parameters, its current plane and its budgets."""

    def __init__(
        self,
        session: TrainingSession,
        budgets: Budgets | None = None,
        run_id: str = "",
        created: float = 0.0,
    ) -> None:
        self.session = session
        self.budgets = budgets or Budgets()
        self.id = run_id
        self.created = created
        self.playing = False
        self.steps_per_second: float | None = None
        self.paused_because: str | None = None  # why play stopped by itself (no viewer)
        #: The plane of the last surface drawn for this run (frames carry coordinates on it).
        self.plane: Plane | None = None
        #: Measured seconds of this run's evaluations (``service.cost``), reused.
        self.costs: dict[str, float] = {}
        width = max(1, session.model.n_params)
        self.recent: deque[tuple[int, np.ndarray]] = deque(maxlen=max(64, RECENT_FLOATS // width))

    # -- making one ------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        config: Mapping[str, Any] | None,
        budgets: Budgets | None = None,
        limits: Limits | None = None,
        **kwargs: Any,
    ) -> LiveRun:
        """A new run of ``config`` (``ValueError`` naming the field for a bad one)."""
        return cls(TrainingSession(config, limits=limits), budgets, **kwargs)

    @classmethod
    def imported(
        cls,
        config: Mapping[str, Any],
        events: Sequence[Sequence[Any]],
        steps: int,
        status: str | None = None,
        budgets: Budgets | None = None,
        limits: Limits | None = None,
        **kwargs: Any,
    ) -> LiveRun:
        """A run rebuilt from an export, bit for bit; every limit is checked before replay."""
        budgets = budgets or Budgets()
        checked = check_events(events, steps, budgets)
        return cls(replayed(config, checked, steps, status, limits), budgets, **kwargs)

    # -- state -----------------------------------------------------------------------
    @property
    def status(self) -> str:
        """``running``, ``paused``, ``diverged`` or ``limit``."""
        if self.session.status == "diverged":
            return "diverged"
        if self.session.step_count >= self.budgets.max_trajectory_steps:
            return "limit"
        return "running" if self.playing else "paused"

    def _check_can_train(self) -> None:
        if self.status == "diverged":
            raise ConflictError("the session diverged; rewind or reset it before stepping")
        if self.status == "limit":
            raise ConflictError(
                f"the session is at max_trajectory_steps={self.budgets.max_trajectory_steps}; "
                "rewind or reset it first"
            )

    # -- commands --------------------------------------------------------------------
    def steps_for(self, steps: int | None, epochs: int | None) -> int:
        """Updates that ``steps`` or ``epochs`` (Keras' count: ceil(n / batch) each) mean."""
        if steps is not None and epochs is not None:
            raise ValueError("steps: give steps or epochs, not both")
        if epochs is None:
            return 1 if steps is None else steps
        n, size = self.session.n_samples, self.session.settings["batch_size"]
        return epochs * (1 if n is None or size is None else math.ceil(n / size))

    def _row_floats(self, fields: Sequence[str]) -> tuple[int, int]:
        """(numbers in one record of ``fields``, of them the parameter-sized arrays')."""
        wide = sum(f in ARRAY_FIELDS for f in fields) * self.session.model.n_params
        return wide + len(fields), wide

    def check_rows(self, rows: int, fields: Sequence[str], hint: str) -> None:
        """Refuse a response of ``rows`` records of ``fields`` over ``max_response_floats``."""
        top = self.budgets.max_response_floats
        per_row, wide = self._row_floats(fields)
        if rows * per_row > top:
            raise PayloadTooLargeError(
                f"{rows} rows x {wide} parameters is over max_response_floats={top}; {hint}"
            )

    def every_to_fit(self, fields: Sequence[str], every: int | None) -> tuple[int, str | None]:
        """The spacing of a whole-run response of ``fields`` (an export): ``every`` when
        asked (refused if it does not fit), else 1 when that fits, else the smallest that
        fits ``max_response_floats``; with a note saying so when it thinned the rows."""
        rows = self.session.step_count + 1
        if every is not None:
            self.check_rows(len(range(0, rows, every)), fields, "use a larger every=k")
            return every, None
        top = self.budgets.max_response_floats
        fit = top // self._row_floats(fields)[0]
        if fit < 1:
            self.check_rows(1, fields, "ask the server for a larger max_response_floats")
        k = math.ceil(rows / fit)
        if k == 1:
            return 1, None
        kept = len(range(0, rows, k))
        return k, (
            f"one step in {k} ({kept} of {rows} rows) to fit max_response_floats={top}; "
            "every=k asks for another spacing, and importing this export rebuilds every step"
        )

    def check_resolution(self, resolution: int) -> None:
        """Refuse a grid finer than ``max_resolution`` per side."""
        top = self.budgets.max_resolution
        if resolution > top:
            raise ValueError(f"resolution: {resolution} is over max_resolution={top}")

    def check_step(self, n: int, fields: Sequence[str] = ()) -> None:
        """Refuse a step call of ``n`` updates returning ``fields`` that breaks a budget."""
        b = self.budgets
        if n > b.max_steps_per_call:
            raise ValueError(f"steps: {n} is over max_steps_per_call={b.max_steps_per_call}")
        self.check_rows(
            n, fields, "ask for fewer steps, or fetch params with GET .../trajectory?every=k"
        )
        self._check_can_train()
        if self.session.step_count + n > b.max_trajectory_steps:
            raise ConflictError(
                f"the session would pass max_trajectory_steps={b.max_trajectory_steps}"
            )

    def step(
        self,
        n: int,
        *,
        fields: Sequence[str] = (),
        evaluate: str | int = "all",
        work: Work | None = None,
    ) -> Steps:
        """Make ``n`` updates (after ``check_step``); keep the parameters captured on the way.

        ``evaluate="all"`` evaluates at most ``max_evaluated`` evenly spaced records.
        With ``work``, training takes turns with other calls and stops early at its
        budget or cancellation (``work.reason`` says why; the steps made are kept).
        """
        self.check_step(n, fields)
        if evaluate == "all" and n > self.budgets.max_evaluated:
            evaluate = math.ceil(n / self.budgets.max_evaluated)
        go_on = None if work is None else work.go_on
        steps = self.session.step(n, evaluate=evaluate, go_on=go_on)
        self.remember(steps.captured_steps, steps.captured_params)
        return steps

    def set(self, change: Mapping[str, Any]) -> dict[str, Any]:
        """A live change (lr, batch size, optimizer, schedule, clipping) from the next step.

        Refused on a diverged run: its next step never comes, a rewind would drop the
        change, and a replay of its log would train past where it stopped. Rewind first
        (``service.recovery`` says where), then change.
        """
        if self.status == "diverged":
            raise ConflictError(
                "the session diverged: rewind or reset it before a live change "
                "(GET .../recovery suggests the step and the change)"
            )
        if len(self.session.events) >= self.budgets.max_events:
            raise ConflictError(
                f"the session has max_events={self.budgets.max_events} live changes; "
                "reset it to change more"
            )
        return self.session.set(**change)

    def reset(self) -> None:
        """Back to theta_0, keeping the settings in force; playing stops."""
        self.playing = False
        self.session.reset()
        self.recent.clear()

    def rewind(self, k: int) -> None:
        """Back to step ``k``; later steps and events are dropped; playing stops."""
        self.session.rewind(k)
        self.playing = False
        self.recent = deque(((s, t) for s, t in self.recent if s <= k), maxlen=self.recent.maxlen)

    def play(self, steps_per_second: float | None) -> None:
        """Start playing at a rate (None: as fast as frames allow), or change the rate."""
        if steps_per_second is not None:
            top = self.budgets.max_steps_per_second
            ok = not isinstance(steps_per_second, bool) and isinstance(
                steps_per_second, int | float
            )
            if not ok or not math.isfinite(steps_per_second) or not 0 < steps_per_second <= top:
                raise ValueError(f"steps_per_second: must be in (0, {top}] or null")
        self._check_can_train()
        self.steps_per_second = None if steps_per_second is None else float(steps_per_second)
        self.playing = True
        self.paused_because = None

    def pause(self, because: str | None = None) -> None:
        """Stop playing (the running tick finishes); ``because``: why, when nobody asked."""
        if self.playing and because is not None:
            self.paused_because = because
        self.playing = False

    def tick(self, n: int) -> int:
        """One play tick of up to ``n`` updates (fewer near the step limit); how many ran."""
        n = min(n, self.budgets.max_trajectory_steps - self.session.step_count)
        if n <= 0 or self.status != "running":
            return 0
        start = self.session.step_count
        steps = self.session.step(n, evaluate=max(1, n // POINTS_PER_TICK))
        self.remember(steps.captured_steps, steps.captured_params)
        return self.session.step_count - start

    def memory_bytes(self) -> int:
        """Bytes this run holds: history, checkpoints, replay cache, data, kept parameters."""
        ds = self.session.dataset
        data = 0
        if ds is not None:
            data = sum(a.nbytes for a in (ds.X, ds.y, ds.X_val, ds.y_val) if a is not None)
        kept = sum(theta.nbytes + 64 for _, theta in self.recent)
        return self.session.memory_bytes() + data + kept

    # -- parameters for drawing ------------------------------------------------------
    def remember(self, steps: np.ndarray, params: np.ndarray) -> None:
        """Keep the captured parameters of recent steps (bounded by ``RECENT_FLOATS``)."""
        for k, theta in zip(steps.tolist(), params, strict=True):
            self.recent.append((k, theta))

    def params_for(self, steps: Iterable[int]) -> np.ndarray:
        """theta_k for each step ``(K, P)``: from the kept ones where possible, else rebuilt."""
        ks = np.asarray(list(steps), dtype=np.int64)
        known = dict(self.recent)
        known[self.session.step_count] = self.session.params
        out = np.empty((len(ks), self.session.model.n_params))
        missing = [i for i, k in enumerate(ks.tolist()) if k not in known]
        if missing:
            out[missing] = self.session.params_at(ks[missing])
        for i, k in enumerate(ks.tolist()):
            if k in known:
                out[i] = known[k]
        return out

    def kept_steps(self) -> frozenset[int]:
        """Steps whose parameters cost no replay: checkpoints, kept steps and the last."""
        T = self.session.step_count
        kept = {k for k, _ in self.recent if k <= T}
        return frozenset(self.session.checkpoint_steps) | kept | {T}


def replayed(
    config: Mapping[str, Any],
    events: Iterable[Sequence[Any]],
    steps: int,
    status: str | None,
    limits: Limits | None = None,
    session: TrainingSession | None = None,
) -> TrainingSession:
    """Config + events replayed to ``steps`` (on top of ``session`` when given, e.g. a
    snapshot), then on to the divergence a run that ``status`` says diverged stopped at."""
    if session is None:
        session = TrainingSession(config, limits=limits)
    if session.status != "diverged":
        session.catch_up(events, steps)
    if status == "diverged" and session.status != "diverged":
        session.step(2, evaluate="none")
    return session


def check_events(events: Sequence[Sequence[Any]], steps: int, budgets: Budgets) -> list[Event]:
    """An imported event log, checked against the budgets before anything is replayed."""
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
        raise ValueError(f"step: must be a non-negative integer, got {steps!r}")
    if steps > budgets.max_trajectory_steps:
        raise ValueError(
            f"step: {steps} is over max_trajectory_steps={budgets.max_trajectory_steps}"
        )
    if len(events) > budgets.max_events:
        raise ValueError(f"events: {len(events)} events is over max_events={budgets.max_events}")
    out: list[Event] = []
    for i, event in enumerate(events):
        if len(event) != 2 or not isinstance(event[1], Mapping):
            raise ValueError(f"events[{i}]: must be a [step, change] pair")
        at = event[0]
        if isinstance(at, bool) or not isinstance(at, int) or not 0 <= at <= steps:
            raise ValueError(
                f"events[{i}]: step {at!r} is not in [0, {steps}] (the export's step; "
                f"max_trajectory_steps={budgets.max_trajectory_steps})"
            )
        if out and at < out[-1][0]:
            raise ValueError(f"events[{i}]: steps must not decrease")
        out.append((at, dict(event[1])))
    return out
