"""The state a run advances, step by step: parameters, optimizer, settings, epoch position."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gradscape.core.optim import Optimizer, make_optimizer
from gradscape.core.types import FloatArray

#: A live change and the step it applies from: ``(step, change)``.
Event = tuple[int, dict[str, Any]]


@dataclass(eq=False)
class State:
    """Everything that evolves during a run; a copy is a checkpoint."""

    step: int
    theta: FloatArray
    optimizer: Optimizer
    base_lr: float
    lr: float
    batch_size: int | None
    schedule: dict[str, Any]
    clip_norm: float | None
    epoch_index: int = 0
    pos: int = 0
    n: int | None = field(default=None)

    @property
    def epoch(self) -> float:
        """Epochs completed at this point (samples seen / n); steps for a surface."""
        if self.n is None:
            return float(self.step)
        return self.epoch_index + self.pos / self.n

    def copy(self) -> State:
        """A deep copy (parameters, optimizer buffers, position in the epoch)."""
        opt = make_optimizer(self.optimizer.name, self.theta.shape[0], **self.optimizer.hyper)
        opt.load_state_dict(self.optimizer.state_dict())
        return State(
            self.step,
            self.theta.copy(),
            opt,
            self.base_lr,
            self.lr,
            self.batch_size,
            dict(self.schedule),
            self.clip_norm,
            self.epoch_index,
            self.pos,
            self.n,
        )

    def nbytes(self) -> int:
        """Approximate bytes held (parameters and optimizer buffers)."""
        buffers = self.optimizer.state_dict()["state"].values()
        return self.theta.nbytes * (1 + len(buffers)) + 512
