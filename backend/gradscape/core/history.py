"""Per-step scalars of a trajectory, stored as growable columns (no per-step objects)."""

from __future__ import annotations

import numpy as np

from gradscape.core.records import FIELD_GROUPS
from gradscape.core.types import FloatArray

#: Columns kept for every step k; NaN in ``loss``/``accuracy``/``val_*`` means "not evaluated".
SCALARS = FIELD_GROUPS["per_step"] + FIELD_GROUPS["evaluated"]


class History:
    """Columns of float64 scalars plus per-layer gradient norms, for steps ``0..len-1``."""

    def __init__(self, n_layers: int, capacity: int = 1024) -> None:
        self._n = 0
        self._cols = {name: np.full(capacity, np.nan) for name in SCALARS}
        self._layers = np.full((capacity, n_layers), np.nan)

    def __len__(self) -> int:
        return self._n

    def nbytes(self) -> int:
        """Bytes held by the columns (capacity included)."""
        return sum(c.nbytes for c in self._cols.values()) + self._layers.nbytes

    def _grow(self) -> None:
        # An eighth more at a time: at most a ninth of what is held is spare capacity.
        cap = len(self._cols["epoch"]) * 9 // 8 + 1
        for name, col in self._cols.items():
            new = np.full(cap, np.nan)
            new[: self._n] = col[: self._n]
            self._cols[name] = new
        layers = np.full((cap, self._layers.shape[1]), np.nan)
        layers[: self._n] = self._layers[: self._n]
        self._layers = layers

    def append(
        self,
        epoch: float,
        batch_loss: float,
        grad_norm: float,
        layer_norms: FloatArray | None,
        lr: float,
        batch_size: float,
    ) -> None:
        """Add the scalars of the next step (evaluated losses start unknown)."""
        if self._n == len(self._cols["epoch"]):
            self._grow()
        k = self._n
        cols = self._cols
        cols["epoch"][k] = epoch
        cols["batch_loss"][k] = batch_loss
        cols["grad_norm"][k] = grad_norm
        cols["lr"][k] = lr
        cols["batch_size"][k] = batch_size
        if layer_norms is not None:
            self._layers[k] = layer_norms
        self._n = k + 1

    def truncate(self, n: int) -> None:
        """Keep only steps ``0..n-1``."""
        for col in self._cols.values():
            col[n : self._n] = np.nan
        self._layers[n : self._n] = np.nan
        self._n = min(self._n, n)

    def column(self, name: str) -> FloatArray:
        """A read-only view of one column for steps ``0..len-1``."""
        view = (self._layers if name == "layer_grad_norms" else self._cols[name])[: self._n]
        view.flags.writeable = False
        return view

    def load(self, columns: dict[str, np.ndarray], layers: np.ndarray) -> None:
        """Replace the contents with saved columns (all of one length) and layer norms."""
        n = len(layers)
        while len(self._cols["epoch"]) < n:
            self._grow()
        for name, col in columns.items():
            self._cols[name][:n] = col
        self._layers[:n] = layers
        self._n = n

    def fill_one(self, name: str, step: int, value: float) -> None:
        """Cache one evaluated value (the hot path: no arrays built)."""
        self._cols[name][step] = value

    def fill(self, name: str, steps: np.ndarray, values: FloatArray) -> None:
        """Cache evaluated values (losses, accuracies) for the given steps."""
        self._cols[name][steps] = values
