"""TrainingSession: config -> step() -> records, with live changes, rewind and exact replay.

A step is one parameter update on one mini-batch. Only per-step scalars are kept for
every step; parameters are kept at checkpoints (multiples of ``checkpoint_every``, at
most 64 within ``Limits.checkpoint_bytes``, densest near the latest step) and any theta_k
is rebuilt exactly by replaying from the nearest one, at most about
``max(1000, T / 32)`` steps (the run is deterministic: config + seed + event log gives
the same trajectory bit for bit). The full-data loss
at theta_k is evaluated lazily, only for the steps someone looks at, and cached.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from gradscape.core.backprop import BackpropTrace, trace
from gradscape.core.changes import check_change
from gradscape.core.config import Built, Limits, build
from gradscape.core.history import History
from gradscape.core.nn import MLP
from gradscape.core.records import ALL_FIELDS, Steps
from gradscape.core.snapshot import Snapshot, dumps, loads
from gradscape.core.state import Event
from gradscape.core.trainer import Trainer
from gradscape.core.types import FloatArray, Model
from gradscape.core.update import UpdateTrace, trace_update

EVALUATED = ("loss", "accuracy", "val_loss", "val_accuracy")


def _capture_every(evaluate: str | int) -> int:
    """How often ``step`` keeps parameters on the way (0: never; the last is added after)."""
    if evaluate == "all":
        return 1
    if evaluate in ("last", "none"):
        return 0
    if isinstance(evaluate, bool) or not isinstance(evaluate, int) or evaluate < 1:
        raise ValueError(f"evaluate must be 'last', 'all', 'none' or an int >= 1, got {evaluate!r}")
    return evaluate


class TrainingSession:
    """One training run of a model on its data, stepped by the caller."""

    def __init__(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        limits: Limits | None = None,
        checkpoint_every: int = 100,
    ) -> None:
        if isinstance(checkpoint_every, bool) or not 1 <= int(checkpoint_every) <= 100_000:
            raise ValueError("checkpoint_every must be an integer in [1, 100000]")
        built: Built = build(config, limits)
        self.config: dict[str, Any] = built.config
        self.model: Model = built.model
        self.dataset = built.dataset
        self._start(Trainer(built, int(checkpoint_every), limits))

    # -- construction and state ------------------------------------------------------
    def _start(self, trainer: Trainer) -> None:
        """Begin at step 0 with a fresh trainer."""
        self._trainer = trainer
        self._last: tuple[FloatArray, FloatArray, float] | None = None
        self.status = "active"
        self.reason: str | None = None
        self._history = History(len(self.model.layer_slices))
        self._history.append(0.0, math.nan, math.nan, None, trainer.state.lr, self._batch_col())

    @classmethod
    def replay(
        cls,
        config: Mapping[str, Any],
        events: Iterable[Sequence[Any]],
        steps: int,
        **kwargs: Any,
    ) -> TrainingSession:
        """Rebuild a session from its config, event log and step count, bit for bit."""
        session = cls(config, **kwargs)
        session.catch_up(events, steps)
        return session

    def catch_up(self, events: Iterable[Sequence[Any]], steps: int) -> None:
        """Apply later ``(step, change)`` events at their steps and train on to ``steps``."""
        pending = sorted(((int(s), dict(c)) for s, c in events), key=lambda e: e[0])
        for at, change in pending:
            if at > self.step_count:
                self.step(at - self.step_count, evaluate="none")
            if at != self.step_count:
                raise ValueError(f"events: an event at step {at} is past where the run stopped")
            self.set(**change)
        if steps > self.step_count:
            self.step(steps - self.step_count, evaluate="none")

    def snapshot(self) -> bytes:
        """History, checkpoints and state as bytes (``restore`` puts them back)."""
        t = self._trainer
        return dumps(
            Snapshot(
                self.config,
                self._history,
                t.state,
                dict(t.checkpoints),
                t.events,
                self.status,
                self.reason,
                t.checkpoints.base,
            )
        )

    @classmethod
    def restore(cls, data: bytes, config: Mapping[str, Any], **kwargs: Any) -> TrainingSession:
        """A session rebuilt from a ``snapshot`` of a run of ``config``, without replaying it.

        Bytes that are not a snapshot of this config raise ``ValueError``.
        """
        session = cls(config, **kwargs)
        saved = loads(data, session.config, session.n_samples)
        session._trainer.resume(saved.state, saved.checkpoints, saved.events, saved.ladder)
        session._history = saved.history
        session.status, session.reason = saved.status, saved.reason
        return session

    @property
    def step_count(self) -> int:
        """T: the number of updates made so far (the current point is theta_T)."""
        return self._trainer.state.step

    @property
    def params(self) -> FloatArray:
        """A copy of the current parameters theta_T ``(P,)``."""
        return self._trainer.state.theta.copy()

    @property
    def events(self) -> list[Event]:
        """The live changes so far, as ``(step, change)`` pairs (a copy)."""
        return copy.deepcopy(self._trainer.events)

    @property
    def settings(self) -> dict[str, Any]:
        """What is in force now: optimizer (with base lr), lr in force, batch size, schedule."""
        s = self._trainer.state
        return {
            "optimizer": {"name": s.optimizer.name, **s.optimizer.hyper, "lr": s.base_lr},
            "lr": s.lr,
            "batch_size": s.batch_size,
            "schedule": dict(s.schedule),
            "clip_norm": s.clip_norm,
        }

    @property
    def checkpoint_steps(self) -> list[int]:
        """Steps whose parameters are kept (rebuilding them costs no replay)."""
        return sorted(self._trainer.checkpoints)

    @property
    def n_samples(self) -> int | None:
        """Training rows n, or None for an analytic surface."""
        return None if self.dataset is None else self.dataset.n_samples

    def _batch_col(self) -> float:
        n = self.n_samples
        if n is None:
            return math.nan
        batch_size = self._trainer.state.batch_size
        return float(n if batch_size is None else batch_size)

    # -- stepping --------------------------------------------------------------------
    def step(
        self,
        n: int = 1,
        *,
        evaluate: str | int = "last",
        go_on: Callable[[], bool] | None = None,
    ) -> Steps:
        """Make up to ``n`` updates; stop early (status ``diverged``) at a non-finite point.

        ``evaluate`` says for which returned steps the full-data loss is computed now
        (the rest stay lazy, see ``trajectory``): ``"last"``, ``"all"``, ``"none"``, or
        an integer k for every step divisible by k plus the last. Those steps' parameters
        are captured on the way, so this costs no replay; ``Steps.captured_params`` has them.
        ``go_on`` is asked after each update whether to continue (a caller's time budget
        or cancellation): training stops early, as it does on divergence, when it says no.
        """
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"steps must be a non-negative integer, got {n!r}")
        every = _capture_every(evaluate)
        start = self.step_count
        captured: list[tuple[int, FloatArray]] = []
        if self.status != "diverged":
            with np.errstate(over="ignore", invalid="ignore"):
                self._run(n, every, captured, go_on)
        end = self.step_count
        if evaluate != "none" and end > start and (not captured or captured[-1][0] != end):
            captured.append((end, self.params))
        captured = [(k, theta) for k, theta in captured if k <= end]
        return self._steps(np.arange(start + 1, end + 1), captured)

    def _run(
        self,
        n: int,
        capture_every: int,
        captured: list[tuple[int, FloatArray]],
        go_on: Callable[[], bool] | None,
    ) -> None:
        trainer, history = self._trainer, self._history
        state = trainer.state  # advanced in place by trainer.step
        for _ in range(n):
            previous = state.theta  # the update makes a new array: this one stays theta_{k-1}
            outcome = trainer.step()
            if isinstance(outcome, str):
                self._diverge(outcome)
                break
            batch_loss, grad_norm, layer_norms, lr, full, grad = outcome
            self._last = (previous, grad, lr)
            if full:
                history.fill_one("loss", state.step - 1, batch_loss)
            history.append(state.epoch, batch_loss, grad_norm, layer_norms, lr, self._batch_col())
            if capture_every and state.step % capture_every == 0:
                captured.append((state.step, state.theta))
            if go_on is not None and not go_on():
                break

    def _diverge(self, reason: str) -> None:
        """Stop at the last point whose loss is finite."""
        step = self.step_count
        if reason.startswith("loss") and step >= 1:
            self._restore(step - 1)
        self.status, self.reason = "diverged", reason

    def _steps(self, steps: np.ndarray, captured: list[tuple[int, FloatArray]]) -> Steps:
        ks = np.array([k for k, _ in captured], dtype=np.int64)
        thetas = np.array([t for _, t in captured]).reshape(len(captured), self.model.n_params)
        self._evaluate_at(ks, thetas, EVALUATED)
        cols: dict[str, np.ndarray] = {"step": steps}
        for name in ALL_FIELDS[1:-2]:
            cols[name] = self._history.column(name)[steps]
        return Steps(cols, captured_steps=ks, captured_params=thetas)

    # -- live changes, reset, rewind -------------------------------------------------
    def set(self, **changes: Any) -> dict[str, Any]:
        """Change lr, batch size, optimizer (or its hyperparameters), schedule or clipping.

        Applies from the next step, without a reset; recorded as an event. Invalid
        changes raise ``ValueError`` naming the field and change nothing.
        """
        change = check_change(changes, self._trainer.state, self.model.n_params, self.n_samples)
        self._trainer.change(change)
        return copy.deepcopy(change)

    def reset(self) -> None:
        """Back to theta_0, keeping the settings now in force (as TensorFlow Playground does)."""
        s = self.settings
        self.config.update(
            optimizer=s["optimizer"],
            batch_size=s["batch_size"],
            schedule=s["schedule"],
            clip_norm=s["clip_norm"],
        )
        old = self._trainer
        self._start(Trainer(build(self.config, old.limits), old.checkpoint_every, old.limits))

    def rewind(self, k: int) -> None:
        """Go back to step ``k`` (0 <= k <= T); later steps and events are dropped."""
        if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k <= self.step_count:
            raise ValueError(f"step must be an integer in [0, {self.step_count}], got {k!r}")
        self._restore(k)
        self.status, self.reason = "active", None

    def _restore(self, k: int) -> None:
        """Back to step k: the trainer rebuilds its state there, the history is cut."""
        self._last = None
        self._trainer.rewind(k)
        self._history.truncate(k + 1)

    # -- looking back ----------------------------------------------------------------
    def params_at(self, steps: Iterable[int] | np.ndarray) -> FloatArray:
        """theta_k for each requested step ``(K, P)``, rebuilt from checkpoints when needed."""
        ks = self._checked_steps(steps, 0)
        return self._trainer.params_at(ks)

    def grads_at(self, steps: Iterable[int] | np.ndarray) -> FloatArray:
        """The raw mini-batch gradient of step k ``(K, P)`` (NaN rows for step 0)."""
        ks = self._checked_steps(steps, 0)
        return self._trainer.grads_at(ks)

    def _checked_steps(self, steps: Iterable[int] | np.ndarray, low: int) -> np.ndarray:
        ks = np.asarray(list(steps) if not isinstance(steps, np.ndarray) else steps)
        ks = ks.astype(np.int64, copy=False).reshape(-1)
        if ks.size and (ks.min() < low or ks.max() > self.step_count):
            raise ValueError(f"steps must be in [{low}, {self.step_count}]")
        return ks

    def evaluate(
        self, steps: Iterable[int] | np.ndarray, fields: Sequence[str] = EVALUATED
    ) -> None:
        """Compute and cache the full-data (and validation) loss/accuracy at these steps."""
        ks = np.unique(self._checked_steps(steps, 0))
        self._evaluate_at(ks, None, fields)

    def _evaluate_at(
        self, ks: np.ndarray, thetas: FloatArray | None, fields: Sequence[str]
    ) -> None:
        """Fill the cache for steps ``ks`` (parameters given, or rebuilt when None)."""
        for name in fields:
            if not self._has_field(name):
                continue
            todo = np.isnan(self._history.column(name)[ks])
            if todo.any():
                params = self.params_at(ks[todo]) if thetas is None else thetas[todo]
                self._history.fill(name, ks[todo], self._trainer.evaluate(name, params))

    def _has_field(self, name: str) -> bool:
        ds = self.dataset
        if name.startswith("val") and (ds is None or ds.X_val is None):
            return False
        if name.endswith("accuracy"):
            return isinstance(self.model, MLP) and self.model.loss_fn.task == "classification"
        return True

    def trajectory(
        self,
        start: int | None = None,
        stop: int | None = None,
        every: int | None = None,
        fields: Sequence[str] | None = None,
    ) -> dict[str, np.ndarray]:
        """Columns over ``steps[start:stop:every]`` (a Python slice); ``params`` is ``(T, P)``."""
        if every is not None and (
            isinstance(every, bool) or not isinstance(every, int) or every < 1
        ):
            raise ValueError(f"every must be a positive integer, got {every!r}")
        chosen = fields or [f for f in ALL_FIELDS if f not in ("params", "grad")]
        unknown = [f for f in chosen if f not in ALL_FIELDS]
        if unknown:
            raise ValueError(
                f"fields: unknown field {unknown[0]!r}; known: {', '.join(ALL_FIELDS)}"
            )
        steps = np.arange(self.step_count + 1)[slice(start, stop, every)]
        self.evaluate(steps, [f for f in chosen if f in EVALUATED])
        out: dict[str, np.ndarray] = {}
        for name in chosen:
            if name == "step":
                out[name] = steps
            elif name == "params":
                out[name] = self.params_at(steps)
            elif name == "grad":
                out[name] = self.grads_at(steps)
            else:
                out[name] = self._history.column(name)[steps].copy()
        return out

    def recorded(self, start: int, stop: int, fields: Sequence[str]) -> dict[str, np.ndarray]:
        """Raw per-step columns for steps ``start..stop-1`` as recorded: nothing is evaluated,
        so ``loss``/``accuracy`` are NaN where nobody asked for them yet."""
        lo, hi = max(0, start), min(stop, self.step_count + 1)
        out: dict[str, np.ndarray] = {"step": np.arange(lo, hi)}
        for name in fields:
            if name != "step":
                out[name] = self._history.column(name)[lo:hi].copy()
        return out

    def last_update(self) -> tuple[FloatArray, FloatArray, FloatArray, float] | None:
        """Step T as ``(theta_{T-1}, theta_T, raw gradient, lr)``; None at step 0."""
        T = self.step_count
        if T == 0:
            return None
        if self._last is None:  # after a rewind: rebuild it once
            prev = self.params_at([T - 1])[0]
            grad = self.grads_at([T])[0]
            lr = float(self._history.column("lr")[T])
            self._last = (prev, grad, lr)
        prev, grad, lr = self._last
        return prev, self.params, grad, lr

    def batch_at(self, k: int) -> tuple[FloatArray | None, FloatArray | None, FloatArray]:
        """The mini-batch ``(X_b, y_b)`` of step k (1 <= k <= T + 1) and theta_{k-1}."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.step_count + 1:
            raise ValueError(f"step must be an integer in [1, {self.step_count + 1}], got {k!r}")
        state = self._trainer.state_at(k - 1)
        Xb, yb, _ = self._trainer.batch(state)
        return Xb, yb, state.theta

    def backprop(self, k: int | None = None) -> BackpropTrace:
        """The chain rule of step k laid out (default: the last step, or the next at T = 0)."""
        if not isinstance(self.model, MLP):
            raise ValueError("backprop: an analytic surface has no layers to propagate through")
        k = max(1, self.step_count) if k is None else k
        Xb, yb, theta = self.batch_at(k)
        if Xb is None or yb is None:  # pragma: no cover - a network always has data
            raise RuntimeError("a network session without data")
        return trace(self.model, theta, Xb, yb)

    def update_at(self, k: int) -> UpdateTrace:
        """Update k (1 <= k <= T) laid out, replayed on copies: the run does not change."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.step_count:
            raise ValueError(f"step must be an integer in [1, {self.step_count}], got {k!r}")
        return trace_update(self._trainer, k)

    def memory_bytes(self) -> int:
        """Bytes held by this session's history and checkpoints (data excluded)."""
        return self._history.nbytes() + self._trainer.nbytes()
