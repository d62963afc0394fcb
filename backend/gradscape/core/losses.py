"""Loss functions on the output layer's pre-activations (logits), with their gradients.

Every function takes ``z`` of shape ``(..., n, m)`` (any leading batch of parameter
vectors) and targets ``y`` of shape ``(n,)``, and returns the mean loss ``(...)``.
The output activation pairs with the loss: identity + MSE, sigmoid + binary
cross-entropy (so ``dL/dz = (sigmoid(z) - y) / n``, the chapter's ``pred - y``) and
softmax + cross-entropy. MSE alone has a choice (``OUTPUTS``): MSE of ``sigmoid(z)`` on
targets in [0, 1], whose ``dL/dz = 2 (pred - y) pred (1 - pred) / n`` fades where the
sigmoid is flat — the fair comparison with cross-entropy the chapter's pairing invites.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradscape.core.types import FloatArray


@dataclass(frozen=True)
class Loss:
    """A loss with its output activation and the task it suits."""

    name: str
    description: str
    task: str  # "regression" or "classification"
    output_activation: str
    value: Callable[[FloatArray, FloatArray], FloatArray]
    #: ``(z, y) -> (loss, dL/dz)`` for one parameter vector (z is ``(n, m)``).
    value_and_grad: Callable[[FloatArray, FloatArray], tuple[float, FloatArray]]


def mse(z: FloatArray, y: FloatArray) -> FloatArray:
    """Mean squared error ``mean((z - y)^2)`` over samples and outputs."""
    diff = z - y[:, None]
    out: FloatArray = np.mean(diff * diff, axis=(-2, -1))
    return out


def mse_and_grad(z: FloatArray, y: FloatArray) -> tuple[float, FloatArray]:
    """MSE and ``dL/dz = 2 (z - y) / (n m)``."""
    diff = z - y[:, None]
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff


def _sigmoid(z: FloatArray) -> FloatArray:
    """``sigmoid(z) = exp(z - softplus(z))``: no overflow in any precision (the grid's float32)."""
    out: FloatArray = np.exp(z - np.logaddexp(0.0, z))
    return out


def mse_sigmoid(z: FloatArray, y: FloatArray) -> FloatArray:
    """Mean squared error of a sigmoid output: ``mean((sigmoid(z) - y)^2)``."""
    diff = _sigmoid(z) - y[:, None]
    out: FloatArray = np.mean(diff * diff, axis=(-2, -1))
    return out


def mse_sigmoid_and_grad(z: FloatArray, y: FloatArray) -> tuple[float, FloatArray]:
    """MSE of ``p = sigmoid(z)`` and ``dL/dz = 2 (p - y) p (1 - p) / (n m)``: the error
    times the sigmoid's slope, which vanishes in its flat tails."""
    pred = _sigmoid(z)
    diff = pred - y[:, None]
    return float(np.mean(diff * diff)), (2.0 / diff.size) * diff * (pred * (1.0 - pred))


def bce_with_logits(z: FloatArray, y: FloatArray) -> FloatArray:
    """Binary cross-entropy from logits: ``mean(max(z, 0) - z y + log(1 + e^-|z|))``."""
    zz = z[..., 0]
    per = np.maximum(zz, 0.0) - zz * y + np.log1p(np.exp(-np.abs(zz)))
    out: FloatArray = np.mean(per, axis=-1)
    return out


def bce_and_grad(z: FloatArray, y: FloatArray) -> tuple[float, FloatArray]:
    """Binary cross-entropy and ``dL/dz = (sigmoid(z) - y) / n``.

    With ``s = softplus(z) = log(1 + e^z)`` the loss is ``mean(s - z y)`` and
    ``sigmoid(z) = exp(z - s)``: one stable pass gives both (and no overflow).
    """
    zz = z[:, 0]
    n = y.shape[0]
    soft = np.logaddexp(0.0, zz)
    value = float((soft - zz * y).sum() / n)
    error = np.exp(zz - soft) - y
    return value, (error / n)[:, None]


def _log_softmax(z: FloatArray) -> FloatArray:
    shifted = z - np.max(z, axis=-1, keepdims=True)
    out: FloatArray = shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))
    return out


def softmax_cross_entropy(z: FloatArray, y: FloatArray) -> FloatArray:
    """Softmax cross-entropy via logsumexp: ``mean(logsumexp(z) - z[y])``."""
    logp = _log_softmax(z)
    picked = np.take_along_axis(
        logp, np.broadcast_to(y.astype(np.intp)[:, None], (*logp.shape[:-1], 1)), axis=-1
    )
    out: FloatArray = -np.mean(picked[..., 0], axis=-1)
    return out


def softmax_cross_entropy_and_grad(z: FloatArray, y: FloatArray) -> tuple[float, FloatArray]:
    """Softmax cross-entropy and ``dL/dz = (softmax(z) - onehot(y)) / n``."""
    logp = _log_softmax(z)
    labels = y.astype(np.intp)
    rows = np.arange(y.shape[0])
    grad = np.exp(logp)
    grad[rows, labels] -= 1.0
    return float(-np.mean(logp[rows, labels])), grad / y.shape[0]


LOSSES: dict[str, Loss] = {
    loss.name: loss
    for loss in (
        Loss(
            "mse",
            "Mean squared error, for regression: squaring punishes big mistakes most.",
            "regression",
            "identity",
            mse,
            mse_and_grad,
        ),
        Loss(
            "bce",
            "Binary cross-entropy on a sigmoid output, for two classes.",
            "classification",
            "sigmoid",
            bce_with_logits,
            bce_and_grad,
        ),
        Loss(
            "cross_entropy",
            "Softmax cross-entropy, for several classes.",
            "classification",
            "softmax",
            softmax_cross_entropy,
            softmax_cross_entropy_and_grad,
        ),
    )
}


#: ``model.output`` choices: the output activations a loss may take other than its own.
#: Only MSE has a choice; bce and cross_entropy fix theirs (sigmoid, softmax).
OUTPUTS: dict[str, dict[str, Loss]] = {
    "mse": {
        "identity": LOSSES["mse"],
        "sigmoid": Loss(
            "mse",
            "Mean squared error of a sigmoid output, for targets in [0, 1]: its gradient "
            "carries the sigmoid's slope, so it fades where the prediction saturates.",
            "classification",
            "sigmoid",
            mse_sigmoid,
            mse_sigmoid_and_grad,
        ),
    }
}
OUTPUT_TEXT = {
    "identity": "No output activation: the prediction is z itself (mse's default).",
    "sigmoid": "sigmoid(z), a prediction in (0, 1): with mse, for targets in [0, 1].",
}


def output_options(loss: str) -> list[str]:
    """The ``model.output`` values ``loss`` takes (empty: its output is fixed)."""
    return list(OUTPUTS.get(loss, {}))


def get_loss(name: str, output: str | None = None) -> Loss:
    """Look up a loss by name (and output activation, for MSE), with a ``ValueError``
    naming the field if unknown or not allowed."""
    try:
        loss = LOSSES[name]
    except (KeyError, TypeError):
        raise ValueError(f"loss: unknown loss {name!r}; known: {', '.join(LOSSES)}") from None
    if output is None:
        return loss
    choices = OUTPUTS.get(name)
    if choices is None:
        raise ValueError(
            f"model.output: only loss 'mse' takes an output choice; {name}'s output is "
            f"fixed ({loss.output_activation}), so leave model.output out"
        )
    if not isinstance(output, str) or output not in choices:
        raise ValueError(f"model.output: must be one of {', '.join(choices)}, got {output!r}")
    return choices[output]


#: What accuracy means for an output: a sigmoid is class 1 where z > 0, softmax the argmax.
_CLASSES = {
    "bce": "sigmoid", "cross_entropy": "softmax", "sigmoid": "sigmoid", "softmax": "softmax"
}  # fmt: skip


def accuracy(kind: str, z: FloatArray, y: FloatArray) -> float | None:
    """Fraction of samples classified correctly from logits ``(n, m)``; None for an identity
    output. ``kind`` is the output activation (or the loss that fixes it: bce, cross_entropy)."""
    rule = _CLASSES.get(kind)
    if rule == "sigmoid":
        return float(np.mean((z[:, 0] > 0) == (y > 0.5)))
    if rule == "softmax":
        return float(np.mean(np.argmax(z, axis=1) == y.astype(np.intp)))
    return None


def batch_accuracy(kind: str, z: FloatArray, y: FloatArray) -> FloatArray | None:
    """Accuracies ``(K,)`` from logits ``(K, n, m)``; None for an identity output."""
    rule = _CLASSES.get(kind)
    if rule == "sigmoid":
        out: FloatArray = np.mean((z[..., 0] > 0) == (y > 0.5), axis=-1)
        return out
    if rule == "softmax":
        out = np.mean(np.argmax(z, axis=-1) == y.astype(np.intp), axis=-1)
        return out
    return None
