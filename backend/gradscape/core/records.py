"""Frozen step records and the columnar batch of them that ``TrainingSession.step`` returns."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from gradscape.core.types import FloatArray

#: Record fields in the order DESIGN.md lists them, then the optional ones.
RECORD_FIELDS = (
    "step",
    "epoch",
    "loss",
    "accuracy",
    "batch_loss",
    "grad_norm",
    "layer_grad_norms",
    "lr",
    "batch_size",
    "val_loss",
    "val_accuracy",
)
ARRAY_FIELDS = ("params", "grad")
ALL_FIELDS = RECORD_FIELDS + ARRAY_FIELDS
#: The same fields by how they are kept: ``per_step`` for every step as it is made,
#: ``evaluated`` on all the data (or the held-out part) when someone looks, ``per_layer``
#: one value per layer, ``array`` one value per parameter (rebuilt by replay).
FIELD_GROUPS = {
    "index": ("step",),
    "per_step": ("epoch", "batch_loss", "grad_norm", "lr", "batch_size"),
    "evaluated": ("loss", "accuracy", "val_loss", "val_accuracy"),
    "per_layer": ("layer_grad_norms",),
    "array": ARRAY_FIELDS,
}


def finite_or_none(value: float) -> float | None:
    """A float for JSON: NaN and infinities become None (JSON has no NaN)."""
    v = float(value)
    return v if math.isfinite(v) else None


@dataclass(frozen=True)
class StepRecord:
    """What happened at step k (see DESIGN.md): theta_k's losses and the update that made it.

    ``loss``/``accuracy`` are on all the data at theta_k (None when not evaluated);
    ``batch_loss``, ``grad`` and the norms are those of the mini-batch at theta_{k-1}
    (None at step 0); ``grad`` is the raw gradient, before momentum or weight decay.
    """

    step: int
    epoch: float
    loss: float | None
    accuracy: float | None
    batch_loss: float | None
    grad_norm: float | None
    layer_grad_norms: tuple[float, ...] | None
    lr: float
    batch_size: int | None
    val_loss: float | None = None
    val_accuracy: float | None = None
    params: FloatArray | None = None
    grad: FloatArray | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict: non-finite numbers become None, arrays become lists."""
        out: dict[str, Any] = {}
        for name in ALL_FIELDS:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                out[name] = [finite_or_none(v) for v in value.tolist()]
            elif isinstance(value, tuple):
                out[name] = [finite_or_none(v) for v in value]
            elif isinstance(value, float):
                out[name] = finite_or_none(value)
            else:
                out[name] = value
        return out


def _scalar(col: np.ndarray, i: int) -> float | None:
    v = float(col[i])
    return None if math.isnan(v) else v


class Steps(Sequence[StepRecord]):
    """A frozen, columnar run of step records (``steps[i]`` builds a ``StepRecord``)."""

    def __init__(
        self,
        columns: Mapping[str, np.ndarray],
        captured_steps: np.ndarray | None = None,
        captured_params: np.ndarray | None = None,
    ) -> None:
        self._cols = {k: np.array(v, copy=True) for k, v in columns.items()}
        for col in self._cols.values():
            col.flags.writeable = False
        #: Steps whose parameters were kept on the way ``(K,)`` and those parameters ``(K, P)``.
        self.captured_steps = np.zeros(0, np.int64) if captured_steps is None else captured_steps
        self.captured_params = np.zeros((0, 0)) if captured_params is None else captured_params

    def __len__(self) -> int:
        return len(self._cols["step"])

    @overload
    def __getitem__(self, i: int) -> StepRecord: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[StepRecord]: ...
    def __getitem__(self, i: int | slice) -> StepRecord | Sequence[StepRecord]:
        if isinstance(i, slice):
            return Steps({k: v[i] for k, v in self._cols.items()})
        c = self._cols
        layers = c["layer_grad_norms"][i]
        has_grad = not math.isnan(float(c["grad_norm"][i]))
        bs = float(c["batch_size"][i])
        return StepRecord(
            step=int(c["step"][i]),
            epoch=float(c["epoch"][i]),
            loss=_scalar(c["loss"], i),
            accuracy=_scalar(c["accuracy"], i),
            batch_loss=_scalar(c["batch_loss"], i),
            grad_norm=_scalar(c["grad_norm"], i),
            layer_grad_norms=tuple(float(v) for v in layers) if has_grad else None,
            lr=float(c["lr"][i]),
            batch_size=None if math.isnan(bs) else int(bs),
            val_loss=_scalar(c["val_loss"], i),
            val_accuracy=_scalar(c["val_accuracy"], i),
            params=c["params"][i] if "params" in c else None,
            grad=c["grad"][i] if "grad" in c else None,
        )

    def __iter__(self) -> Iterator[StepRecord]:
        return (self[i] for i in range(len(self)))

    def column(self, name: str) -> np.ndarray:
        """One field as a read-only array over these steps."""
        return self._cols[name]
