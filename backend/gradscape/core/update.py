"""One update laid out: theta_{k-1}, the gradient, the optimizer's state before and after, theta_k.

The chapter's ``new_weight = old_weight - learning_rate x gradient`` on real numbers, and
what momentum or Adam do instead. The state before update k is rebuilt from the trainer's
checkpoints with the logged events applied (as a replay does), the gradient is taken on
update k's own mini-batch, and the optimizer's own ``step`` runs on copies: the run is
left exactly as it was, and ``after`` is theta_k bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from gradscape.core.optim import clip_coefficient, clip_grad_norm
from gradscape.core.trainer import Trainer
from gradscape.core.types import FloatArray


@dataclass(frozen=True)
class UpdateTrace:
    """Update k of a run: the parameters, gradients and optimizer buffers around it ``(P,)``."""

    step: int
    optimizer: str
    hyper: dict[str, Any]  # in force for this update, ``lr`` (after any schedule) included
    base_lr: float
    t: int  # the optimizer's step count after this update
    batch_size: int | None  # rows in the mini-batch (None: an analytic surface has no data)
    full: bool
    loss_before: float  # the mini-batch loss at theta_{k-1}
    clip_norm: float | None
    grad_norm: float  # of the raw gradient
    clip_scale: float  # the factor clipping applied (1 when none)
    before: FloatArray
    grad_raw: FloatArray
    grad: FloatArray  # what the optimizer was given: the raw gradient after clipping
    after: FloatArray
    state_before: dict[str, FloatArray]  # the optimizer's buffers (torch.optim's names)
    state_after: dict[str, FloatArray]

    @property
    def lr(self) -> float:
        """The learning rate this update used."""
        return float(self.hyper["lr"])


def trace_update(trainer: Trainer, k: int) -> UpdateTrace:
    """Update ``k`` (1 <= k <= T, checked by the caller) replayed on a copy of its state."""
    state = trainer.state_at(k - 1)  # a copy, with the events logged at k - 1 applied
    Xb, yb, full = trainer.batch(state)
    with np.errstate(over="ignore", invalid="ignore"):
        loss, grad = trainer.model.loss_and_grad(state.theta, Xb, yb)
    clip = state.clip_norm
    clipped = grad if clip is None else clip_grad_norm(grad, clip)
    opt = state.optimizer
    before = opt.state_dict()
    theta = state.theta.copy()
    opt.step(theta, clipped)  # the optimizer's own rule, on the copies
    after = opt.state_dict()
    return UpdateTrace(
        step=k,
        optimizer=opt.name,
        hyper=dict(before["hyper"]),
        base_lr=state.base_lr,
        t=int(after["step"]),
        batch_size=None if Xb is None else int(Xb.shape[0]),
        full=full,
        loss_before=float(loss),
        clip_norm=clip,
        grad_norm=float(np.linalg.norm(grad)),
        clip_scale=1.0 if clip is None else clip_coefficient(grad, clip),
        before=state.theta,
        grad_raw=grad,
        grad=clipped,
        after=theta,
        state_before=before["state"],
        state_after=after["state"],
    )


__all__ = ["UpdateTrace", "trace_update"]
