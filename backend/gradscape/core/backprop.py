"""Backpropagation laid out: the chain rule of one update, layer by layer, on real numbers.

For a step, the forward values, the local slopes (``da/dz``, ``dz/dw`` = the layer's
input), ``dL/da`` and the backward deltas ``dL/dz`` that produce each gradient
``dL/dW = a_prev^T . delta`` — the chapter's ``dL/dw = dL/da x da/dz x dz/dw``. Each
layer's delta is computed once, used for all its weights and bias, and passed down as
``delta . W^T`` (the layer below's ``dL/da``): the reuse that makes backprop fast.

The sweep starts from the output's ``error = dL/dz`` of the *mean* loss, so each sample's
row carries a 1/n: for sigmoid + cross-entropy it is ``(pred - y) / n``, the chapter's
``error = pred - y`` shared out over the batch (``PAIRINGS`` says why other pairings differ).
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
class Pairing:
    """An output activation with its loss, and the ``dL/dz`` they make together."""

    output: str
    loss: str
    rule: str
    why: str


#: ``dL/dz`` per sample (before the mean's 1/n) for each output + loss pair.
PAIRINGS: dict[tuple[str, str], Pairing] = {
    (p.output, p.loss): p
    for p in (
        Pairing(
            "sigmoid",
            "bce",
            "dL/dz = pred - y",
            "the sigmoid's slope pred (1 - pred) cancels against cross-entropy's "
            "1 / (pred (1 - pred)), leaving the plain error: the chapter's error = pred - y",
        ),
        Pairing(
            "softmax",
            "cross_entropy",
            "dL/dz = pred - onehot(y)",
            "softmax's slopes cancel against the log in cross-entropy, so each class's "
            "logit moves by its predicted probability minus the truth (1 for the label, else 0)",
        ),
        Pairing(
            "identity",
            "mse",
            "dL/dz = 2 (pred - y)",
            "with no output activation the square's derivative is all there is: twice the "
            "error, so a big mistake pushes back as hard as it is wrong",
        ),
        Pairing(
            "sigmoid",
            "mse",
            "dL/dz = 2 (pred - y) pred (1 - pred)",
            "nothing cancels the sigmoid's slope pred (1 - pred), so it multiplies in: where "
            "the prediction saturates near 0 or 1 the gradient vanishes even when it is "
            "confidently wrong, which is why the sigmoid pairs with cross-entropy",
        ),
    )
}


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
    grad_w: FloatArray  # (fan_in, fan_out): inputs^T . delta, summed over the samples
    grad_b: FloatArray  # (fan_out,): delta summed over the samples
    #: (n, fan_in): delta . W^T, the dL/da handed to the layer below (layer 0: dL/dX).
    passed_down: FloatArray

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
    #: (n, m): dL/dz at the output, the delta the backward sweep starts from. It is the
    #: gradient of the *mean* loss, so each row is ``rule / n`` (see ``pairing``).
    error: FloatArray
    layers: tuple[LayerTrace, ...]

    @property
    def pairing(self) -> Pairing:
        """The output + loss pair and the ``dL/dz`` rule they make."""
        return PAIRINGS[(self.output_activation, self.loss_name)]

    @property
    def residual(self) -> FloatArray:
        """``pred - y`` per sample ``(n, m)`` (y one-hot for several classes)."""
        if self.prediction.shape[1] == 1:
            out: FloatArray = self.prediction - self.targets[:, None]
            return out
        onehot = np.eye(self.prediction.shape[1])[self.targets.astype(np.intp)]
        return self.prediction - onehot

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
        error = dz
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
                dloss_da = traces[-1].passed_down  # computed once, by the layer above
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
                    dz @ weights[L.index][0].T,
                )
            )
    return BackpropTrace(
        float(loss),
        model.loss_fn.name,
        model.loss_fn.output_activation,
        pred,
        y,
        error,
        tuple(reversed(traces)),
    )


__all__ = ["PAIRINGS", "BackpropTrace", "LayerTrace", "Pairing", "trace"]
