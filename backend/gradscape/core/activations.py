"""Activation functions, each value beside its derivative (micrograd style)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradscape.core.types import FloatArray

LEAKY_SLOPE = 0.01


@dataclass(frozen=True)
class Activation:
    """An elementwise non-linearity ``a = f(z)`` with its local slope ``da/dz``."""

    name: str
    description: str
    forward: Callable[[FloatArray], FloatArray]
    #: ``(z, a) -> da/dz``; taking ``a`` too lets sigmoid and tanh reuse the forward value.
    slope: Callable[[FloatArray, FloatArray], FloatArray]


def sigmoid(z: FloatArray) -> FloatArray:
    """Logistic function ``1 / (1 + exp(-z))``; flooring ``z`` at -700 avoids overflow.

    Below z = -700 the result is within 1e-304 of 0, so the clip changes nothing
    visible, and for every other z this is the chapter's formula to the last bit.
    """
    out: FloatArray = 1.0 / (1.0 + np.exp(-np.maximum(z, -700.0)))
    return out


def _identity(z: FloatArray) -> FloatArray:
    return z


def _ones(z: FloatArray, a: FloatArray) -> FloatArray:
    return np.ones_like(z)


def _sigmoid_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return a * (1.0 - a)


def _tanh(z: FloatArray) -> FloatArray:
    return np.tanh(z)


def _tanh_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return 1.0 - a * a


def _relu(z: FloatArray) -> FloatArray:
    return np.maximum(z, 0.0)


def _relu_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return (z > 0).astype(np.float64)


def _leaky_relu(z: FloatArray) -> FloatArray:
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def _leaky_relu_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return np.where(z > 0, 1.0, LEAKY_SLOPE)


def _softplus(z: FloatArray) -> FloatArray:
    return np.logaddexp(0.0, z)


def _softplus_slope(z: FloatArray, a: FloatArray) -> FloatArray:
    return sigmoid(z)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("identity", "No non-linearity: a = z.", _identity, _ones),
        Activation(
            "sigmoid",
            "Squashes to (0, 1); its slope is at most 0.25 and vanishes when saturated.",
            sigmoid,
            _sigmoid_slope,
        ),
        Activation(
            "tanh",
            "Squashes to (-1, 1), centred at 0; saturates like sigmoid.",
            _tanh,
            _tanh_slope,
        ),
        Activation("relu", "max(0, z): slope 1 when active, 0 when not.", _relu, _relu_slope),
        Activation(
            "leaky_relu",
            f"Like relu but with slope {LEAKY_SLOPE} for negative z, so no unit dies.",
            _leaky_relu,
            _leaky_relu_slope,
        ),
        Activation(
            "softplus",
            "log(1 + e^z): a smooth relu whose slope is the sigmoid.",
            _softplus,
            _softplus_slope,
        ),
    )
}


def get_activation(name: str, field: str = "model.activation") -> Activation:
    """Look up an activation by name, with a ``ValueError`` naming ``field`` if unknown."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        known = ", ".join(ACTIVATIONS)
        raise ValueError(f"{field}: unknown activation {name!r}; known: {known}") from None
