"""Shared array aliases and the protocol every trainable model follows."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@runtime_checkable
class Model(Protocol):
    """What a session, the landscape and the API need from a model.

    Parameters are one flat float64 vector ``theta`` of length ``n_params``.
    ``X`` is ``(n, d)`` and ``y`` is ``(n,)``; analytic surfaces take ``None`` for both.
    """

    @property
    def n_params(self) -> int:
        """Length P of the flat parameter vector."""
        ...

    @property
    def param_names(self) -> tuple[str, ...]:
        """One unique label per parameter, e.g. ``"w_study"``, ``"layer1.W[1,0]"`` or ``"x"``."""
        ...

    @property
    def layer_slices(self) -> tuple[tuple[str, slice], ...]:
        """``(layer name, slice of theta)`` pairs, for per-layer gradient norms."""
        ...

    @property
    def needs_data(self) -> bool:
        """False for analytic surfaces, which ignore ``X`` and ``y``."""
        ...

    def init_params(self, rng: np.random.Generator) -> FloatArray:
        """A fresh ``theta_0`` of shape ``(P,)`` drawn with ``rng``."""
        ...

    def loss(self, theta: FloatArray, X: FloatArray | None, y: FloatArray | None) -> float:
        """Mean loss at ``theta``."""
        ...

    def loss_and_grad(
        self, theta: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> tuple[float, FloatArray]:
        """Mean loss and its exact gradient ``(P,)`` at ``theta``."""
        ...

    def batch_loss(
        self, thetas: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> FloatArray:
        """Losses ``(K,)`` for K parameter vectors ``(K, P)`` at once."""
        ...

    def accuracy(
        self, theta: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> float | None:
        """Fraction classified correctly, or None for regression and surfaces."""
        ...
