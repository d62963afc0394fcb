"""The trainer: the update loop of one built config and what it keeps to rebuild any step.

Live steps and replays run the same ``Trainer.update`` on the same ``State``, with
the event log applied at the same steps, which is what makes replay bit-identical.
The trainer owns the current state, the checkpoints (copies of the state at multiples
of ``checkpoint_every``, thinned to a budget by ``Checkpoints``), the event log and one
replayed chunk of at most ``SEGMENT_BYTES`` of parameters and gradients.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradscape.core.checkpoints import Checkpoints, ladder_base
from gradscape.core.config import Built, Limits
from gradscape.core.losses import batch_accuracy
from gradscape.core.nn import BATCH_CHUNK_FLOATS, MLP
from gradscape.core.optim import clip_grad_norm, make_optimizer, scheduled_lr
from gradscape.core.state import Event, State
from gradscape.core.types import FloatArray

#: ``(batch_loss, grad_norm, layer_norms, lr, full_batch, grad)`` or a divergence reason.
Outcome = tuple[float, float, FloatArray, float, bool, FloatArray] | str
#: The most bytes of replayed parameters and gradients kept between rebuilds.
SEGMENT_BYTES = 8 * 2**20


@dataclass
class Segment:
    """Replayed steps ``start..end``: thetas ``(L+1, P)``, the grads of ``start+1..end``
    ``(L, P)`` and the state at ``end`` before its events, to continue from."""

    start: int
    thetas: FloatArray
    grads: FloatArray
    tail: State

    @property
    def end(self) -> int:
        """The last step held."""
        return self.start + int(self.thetas.shape[0]) - 1

    def nbytes(self) -> int:
        """Bytes held."""
        return self.thetas.nbytes + self.grads.nbytes + self.tail.nbytes()


class Trainer:
    """Trains one built config: batches, updates, live changes, checkpoints and the event log."""

    def __init__(self, built: Built, checkpoint_every: int, limits: Limits | None = None) -> None:
        self.built = built
        self.limits = limits or Limits()
        self.checkpoint_every = checkpoint_every
        self.model = built.model
        ds = built.dataset
        self.X = None if ds is None else ds.X
        self.y = None if ds is None else ds.y
        self.n = None if ds is None else ds.n_samples
        self.seed = int(built.config["seed"])
        starts = [s.start for _, s in self.model.layer_slices]
        self._layer_starts = np.array(starts, dtype=np.intp)
        self._perm: tuple[int, np.ndarray] | None = None
        self._segment: Segment | None = None
        self._chunk = max(1, min(checkpoint_every, SEGMENT_BYTES // (16 * self.model.n_params)))
        self.state = self.fresh_state()
        # The budget covers what a snapshot stores: the kept states and the current one
        # (theta and at most three optimizer buffers, which appear on the first update).
        current = 4 * self.state.theta.nbytes + 512
        kept = max(current, self.limits.checkpoint_bytes - current)
        base = ladder_base(checkpoint_every, self.limits.max_steps)
        self.checkpoints = Checkpoints(checkpoint_every, kept, base=base)
        self.checkpoints.keep(self.state, 0)
        self.events: list[Event] = []

    def resume(
        self,
        state: State,
        checkpoints: Mapping[int, State],
        events: list[Event],
        ladder: int | None = None,
    ) -> None:
        """Continue from a saved point (a snapshot) without replaying the run; its states
        stay on the ladder they were kept on (``ladder``; None: the one before there was a
        choice, based on ``checkpoint_every``)."""
        self.state, self.events = state, list(events)
        base = self.checkpoint_every if ladder is None else ladder
        self.checkpoints.load(checkpoints, state.step, base=base)
        self._segment = None

    # -- one update ------------------------------------------------------------------
    def fresh_state(self) -> State:
        """The state at step 0 of the built config."""
        cfg = self.built.config
        hyper = {k: v for k, v in cfg["optimizer"].items() if k != "name"}
        opt = make_optimizer(cfg["optimizer"]["name"], self.model.n_params, **hyper)
        lr = float(opt.hyper["lr"])
        state = State(
            0,
            self.built.theta0.copy(),
            opt,
            lr,
            lr,
            cfg["batch_size"],
            dict(cfg["schedule"]),
            cfg["clip_norm"],
            n=self.n,
        )
        self._sync_lr(state)
        return state

    def batch(self, state: State) -> tuple[FloatArray | None, FloatArray | None, bool]:
        """The mini-batch the next update uses, and whether it is the full batch."""
        if self.X is None or self.y is None:
            return None, None, True
        if state.batch_size is None:
            return self.X, self.y, True
        if self._perm is None or self._perm[0] != state.epoch_index:
            rng = np.random.default_rng([self.seed, state.epoch_index])
            self._perm = (state.epoch_index, rng.permutation(self.X.shape[0]))
        idx = self._perm[1][state.pos : state.pos + state.batch_size]
        return self.X[idx], self.y[idx], False

    def update(self, state: State) -> Outcome:
        """One step: gradient on the next mini-batch, then the optimizer's update.

        Callers run it under ``np.errstate(over="ignore", invalid="ignore")``: overflow
        is expected on a diverging run and is reported as a reason, not a warning.
        """
        Xb, yb, full = self.batch(state)
        loss, grad = self.model.loss_and_grad(state.theta, Xb, yb)
        if not math.isfinite(loss):
            # what happened, not why: the service's recovery diagnoses the cause
            return f"loss became non-finite at step {state.step}"
        layer_sq = np.add.reduceat(grad * grad, self._layer_starts)
        grad_norm = math.sqrt(float(layer_sq.sum()))
        if not math.isfinite(grad_norm):
            return f"gradient became non-finite at step {state.step + 1}"
        lr = state.lr
        failed = self._descend(state, grad, 0 if Xb is None else Xb.shape[0], full)
        if failed is not None:
            return failed
        return loss, grad_norm, np.sqrt(layer_sq), lr, full, grad

    def _replay_update(self, state: State) -> FloatArray | str:
        """``update`` for a replay: the same gradient and the same new state, without what
        only a live step records (norms) or needs (a fresh theta array: nothing else holds
        a replayed state's theta, so it is updated in place; a non-finite theta shows up
        as the next step's non-finite loss). The gradient, or a reason."""
        Xb, yb, full = self.batch(state)
        loss, grad = self.model.loss_and_grad(state.theta, Xb, yb)
        if not math.isfinite(loss):
            return f"loss became non-finite at step {state.step}"
        clipped = grad if state.clip_norm is None else clip_grad_norm(grad, state.clip_norm)
        state.optimizer.step(state.theta, clipped)
        state.step += 1
        self._advance(state, 0 if Xb is None else Xb.shape[0], full)
        return grad

    def _descend(self, state: State, grad: FloatArray, used: int, full: bool) -> str | None:
        """The optimizer's update of ``state`` from ``grad`` (clipped if asked), or a reason."""
        clipped = grad if state.clip_norm is None else clip_grad_norm(grad, state.clip_norm)
        new = state.theta.copy()
        state.optimizer.step(new, clipped)
        if not np.isfinite(new).all():
            return f"parameters became non-finite at step {state.step + 1}"
        state.theta = new
        state.step += 1
        self._advance(state, used, full)
        return None

    def step(self) -> Outcome:
        """One live update of the current state; every ``checkpoint_every`` steps, a checkpoint."""
        outcome = self.update(self.state)
        if not isinstance(outcome, str) and self.state.step % self.checkpoint_every == 0:
            self.checkpoints.keep(self.state, self.state.step)
        return outcome

    def _advance(self, state: State, used: int, full: bool) -> None:
        if full:
            state.epoch_index += 1
        else:
            state.pos += used
            if self.n is not None and state.pos >= self.n:
                state.epoch_index, state.pos = state.epoch_index + 1, 0
        if state.schedule["name"] != "constant":
            self._sync_lr(state)

    def _sync_lr(self, state: State) -> None:
        """Set the optimizer's lr to the schedule's value for this point."""
        t = state.step if state.schedule.get("interval") == "step" else state.epoch_index
        lr = scheduled_lr(state.base_lr, t, state.schedule)
        if lr != state.lr or lr != state.optimizer.hyper["lr"]:
            state.optimizer.set(lr=lr)
            state.lr = lr

    # -- live changes ----------------------------------------------------------------
    def change(self, change: dict[str, Any]) -> None:
        """Apply a checked change (see ``check_change``) from the next step and log it."""
        self.apply(self.state, change)
        self.events.append((self.state.step, change))

    def apply(self, state: State, change: Mapping[str, Any]) -> None:
        """Apply an already-checked change (see ``check_change``) to ``state``."""
        if "optimizer" in change:
            spec = dict(change["optimizer"])
            name = spec.pop("name", state.optimizer.name)
            lr = spec.pop("lr", change.get("lr", state.base_lr))
            if name != state.optimizer.name:
                state.optimizer = make_optimizer(name, self.model.n_params, lr=lr, **spec)
            else:
                state.optimizer.set(**spec)
            state.base_lr = lr
        if "lr" in change:
            state.base_lr = change["lr"]
        if "batch_size" in change:
            state.batch_size = change["batch_size"]
        if "schedule" in change:
            state.schedule = dict(change["schedule"])
        if "clip_norm" in change:
            state.clip_norm = change["clip_norm"]
        state.lr = math.nan  # force the optimizer's lr to follow base_lr and the schedule
        self._sync_lr(state)

    # -- rebuilding the past ---------------------------------------------------------
    def rewind(self, k: int) -> None:
        """Back to step k (0 <= k <= T): later checkpoints and events are dropped."""
        self.events = [(s, c) for s, c in self.events if s <= k]
        self.checkpoints.truncate(k)
        self.state = self.state_at(k)
        self._segment = None

    def state_at(self, k: int) -> State:
        """The state at step k (events at k applied), replayed from the nearest kept state."""
        state = self._start_for(k)
        self._run(state, k, None)
        return state

    def _start_for(self, k: int) -> State:
        """A copy of the latest state known at or before step k (before its events)."""
        c = self.checkpoints.nearest(k)
        seg = self._segment
        if seg is not None and c <= seg.end <= k:
            return seg.tail.copy()
        return self.checkpoints[c].copy()

    def _run(
        self,
        state: State,
        until: int,
        sink: tuple[FloatArray, FloatArray] | None,
        last_events: bool = True,
    ) -> None:
        """Replay ``state`` to step ``until``, applying logged events; ``sink`` gets its path.

        With ``last_events`` False the events at ``until`` are left for whoever continues.
        """
        by_step: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for s, change in self.events:
            if state.step <= s < until or (last_events and s == until):
                by_step[s].append(change)
        start = state.step
        with np.errstate(over="ignore", invalid="ignore"):
            self._loop(state, until, by_step, sink, start)

    def _loop(
        self,
        state: State,
        until: int,
        by_step: Mapping[int, list[dict[str, Any]]],
        sink: tuple[FloatArray, FloatArray] | None,
        start: int,
    ) -> None:
        while True:
            for change in by_step.get(state.step, ()):
                self.apply(state, change)
            if state.step >= until:
                return
            grad = self._replay_update(state)
            if isinstance(grad, str):
                raise RuntimeError(f"replay diverged where the run did not: {grad}")
            if sink is not None:
                sink[0][state.step - start] = state.theta
                sink[1][state.step - start - 1] = grad

    def _segment_at(self, j: int) -> Segment:
        """The chunk holding theta_j and theta_{j+1} (when j < T), replayed or cached.

        Chunks are ``_chunk`` steps long, counted from the nearest kept state, and end
        at the next kept state or at T.
        """
        c = self.checkpoints.nearest(j)
        start = c + (j - c) // self._chunk * self._chunk
        later = self.checkpoints.after(c)
        end = min(start + self._chunk, self.state.step if later is None else later)
        seg = self._segment
        if seg is not None and (seg.start, seg.end) == (start, end):
            return seg
        state = self._start_for(start)
        self._run(state, start, None, last_events=False)
        P = self.model.n_params
        thetas, grads = np.empty((end - start + 1, P)), np.empty((end - start, P))
        thetas[0] = state.theta
        self._run(state, end, (thetas, grads), last_events=False)
        self._segment = Segment(start, thetas, grads, state)
        return self._segment

    def params_at(self, ks: np.ndarray) -> FloatArray:
        """theta_k for each k in ``0..T`` ``(K, P)`` (rebuilt in increasing order of k)."""
        out = np.empty((ks.shape[0], self.model.n_params))
        current = self.state
        for i in np.argsort(ks, kind="stable").tolist():
            k = int(ks[i])
            if k == current.step:
                out[i] = current.theta
            elif k in self.checkpoints:
                out[i] = self.checkpoints[k].theta
            else:
                seg = self._segment_at(k)
                out[i] = seg.thetas[k - seg.start]
        return out

    def grads_at(self, ks: np.ndarray) -> FloatArray:
        """The raw gradient of step k in ``0..T`` ``(K, P)``; NaN for step 0."""
        out = np.full((ks.shape[0], self.model.n_params), np.nan)
        for i in np.argsort(ks, kind="stable").tolist():
            k = int(ks[i])
            if k >= 1:
                seg = self._segment_at(k - 1)
                out[i] = seg.grads[k - seg.start - 1]
        return out

    def evaluate(self, name: str, thetas: FloatArray) -> FloatArray:
        """Full-data (or validation) loss or accuracy ``(K,)`` at parameter vectors ``(K, P)``."""
        ds = self.built.dataset
        X, y = self.X, self.y
        if name.startswith("val_") and ds is not None:
            X, y = ds.X_val, ds.y_val
        if name.endswith("loss"):
            values = self.model.batch_loss(thetas, X, y)
        else:
            values = self._accuracies(thetas, X, y)
        return np.where(np.isnan(values), np.inf, values)

    def _accuracies(
        self, thetas: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> FloatArray:
        model = self.model
        if not isinstance(model, MLP) or X is None or y is None:
            return np.full(thetas.shape[0], np.inf)
        chunk = max(1, BATCH_CHUNK_FLOATS // (X.shape[0] * max(model.sizes)))
        out = np.empty(thetas.shape[0])
        for start in range(0, thetas.shape[0], chunk):
            logits = model.batch_forward(thetas[start : start + chunk], X)
            acc = batch_accuracy(model.loss_fn.output_activation, logits, y)
            out[start : start + chunk] = np.inf if acc is None else acc
        return out

    def nbytes(self) -> int:
        """Bytes held by the checkpoints and the cached replay segment."""
        held = self.checkpoints.nbytes()
        if self._segment is not None:
            held += self._segment.nbytes()
        return held
