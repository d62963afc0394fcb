"""Backpropagation laid out: the chain rule of one update, layer by layer, on real numbers.

For a step, the forward values, the local slopes (``da/dz``, ``dz/dw`` = the layer's
input), ``dL/da`` and the backward deltas ``dL/dz`` that produce each gradient
``dL/dW = a_prev^T . delta`` — the chapter's ``dL/dw = dL/da x da/dz x dz/dw``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gradscape.core.nn import MLP
from gradscape.core.types import FloatArray

#: A unit counts as saturated where its slope is below this fraction of its largest slope.
SATURATION = 0.05
_MAX_SLOPE = {"sigmoid": 0.25, "tanh": 1.0, "softplus": 1.0}


@dataclass(frozen=True)
class LayerTrace:
    """One layer's part of the chain rule for a mini-batch of n samples."""

    index: int
    activation: str
    inputs: FloatArray  # (n, fan_in): dz/dW, the layer's input a_prev
    z: FloatArray  # (n, fan_out)
    a: FloatArray  # (n, fan_out)
    slope: FloatArray  # (n, fan_out): da/dz
    dloss_da: FloatArray  # (n, fan_out)
    delta: FloatArray  # (n, fan_out): dL/dz = dL/da * da/dz
    grad_w: FloatArray  # (fan_in, fan_out)
    grad_b: FloatArray  # (fan_out,)

    @property
    def saturated_fraction(self) -> float:
        """Share of (sample, unit) pairs whose slope is nearly zero (a saturated unit)."""
        top = _MAX_SLOPE.get(self.activation)
        if top is None:
            return float(np.mean(self.slope == 0)) if self.activation == "relu" else 0.0
        return float(np.mean(self.slope < SATURATION * top))


@dataclass(frozen=True)
class BackpropTrace:
    """The whole backward sweep of one update: loss, outputs, and every layer's trace."""

    loss: float
    loss_name: str
    output_activation: str
    prediction: FloatArray  # (n, m): after the output activation
    targets: FloatArray  # (n,)
    layers: tuple[LayerTrace, ...]

    @property
    def gradient(self) -> FloatArray:
        """The flat gradient ``(P,)`` these layers add up to (same order as theta)."""
        parts = []
        for layer in self.layers:
            parts += [layer.grad_w.ravel(), layer.grad_b]
        return np.concatenate(parts)


def _output_slope(model: MLP, z: FloatArray, pred: FloatArray) -> FloatArray:
    """``da/dz`` of the output activation (softmax: the diagonal of its Jacobian)."""
    if model.loss_fn.output_activation == "identity":
        return np.ones_like(z)
    return pred * (1.0 - pred)


def trace(model: MLP, theta: FloatArray, X: FloatArray, y: FloatArray) -> BackpropTrace:
    """Run forward and backward on ``(X, y)`` at ``theta`` and keep every intermediate."""
    logits, cache = model.forward(theta, X)
    with np.errstate(all="ignore"):
        loss, dz = model.loss_fn.value_and_grad(logits, y)
        pred = model.predict(theta, X)
        out_slope = _output_slope(model, logits, pred)
        weights = model.unpack(theta)
        traces: list[LayerTrace] = []
        last = len(model.layers) - 1
        for L in reversed(model.layers):
            z, a = cache.zs[L.index], cache.activations[L.index]
            if L.index == last:
                slope, a_shown, act = out_slope, pred, model.loss_fn.output_activation
                dloss_da = np.divide(dz, slope, out=np.full_like(dz, np.nan), where=slope != 0)
            else:
                slope, a_shown, act = L.activation.slope(z, a), a, L.activation.name
                dloss_da = traces[-1].delta @ weights[L.index + 1][0].T
                dz = dloss_da * slope
            inputs = cache.inputs[L.index]
            traces.append(
                LayerTrace(
                    L.index,
                    act,
                    inputs,
                    z,
                    a_shown,
                    slope,
                    dloss_da,
                    dz,
                    inputs.T @ dz,
                    dz.sum(axis=0),
                )
            )
    return BackpropTrace(
        float(loss),
        model.loss_fn.name,
        model.loss_fn.output_activation,
        pred,
        y,
        tuple(reversed(traces)),
    )


__all__ = ["BackpropTrace", "LayerTrace", "trace"]
