"""Dense networks on one flat parameter vector: forward, backward, batched forward.

``theta`` holds, layer by layer, ``W`` of shape ``(fan_in, fan_out)`` (row-major)
then ``b`` of shape ``(fan_out,)``. A single neuron on two inputs is ``[w1, w2, b]``.
``W`` is the transpose of torch's ``Linear.weight``: a neuron is a column.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradscape.core.activations import Activation, get_activation
from gradscape.core.init import init_layer, normalize_init
from gradscape.core.losses import Loss, accuracy, get_loss
from gradscape.core.names import layer_name, parameter_names
from gradscape.core.types import FloatArray

#: Budget for one chunk of the batched forward: K * n * width floats.
BATCH_CHUNK_FLOATS = 1 << 20


@dataclass(frozen=True)
class Layer:
    """One dense layer: where its ``W`` and ``b`` live in ``theta`` and its activation."""

    index: int
    fan_in: int
    fan_out: int
    activation: Activation
    w_slice: slice
    b_slice: slice

    @property
    def params(self) -> slice:
        """The slice of ``theta`` holding this layer's ``W`` then ``b``."""
        return slice(self.w_slice.start, self.b_slice.stop)


@dataclass(frozen=True)
class Cache:
    """What the forward pass saves for the backward pass: per layer input, z and a."""

    inputs: tuple[FloatArray, ...]
    zs: tuple[FloatArray, ...]
    activations: tuple[FloatArray, ...]
    weights: tuple[FloatArray, ...]


def _require_data(X: FloatArray | None, y: FloatArray | None) -> tuple[FloatArray, FloatArray]:
    if X is None or y is None:
        raise ValueError("a network needs data: X and y are required")
    return X, y


class MLP:
    """A multi-layer perceptron (a single neuron or linear regression when no hidden layer).

    ``feature_names`` (the data's) name the weights of a model without a hidden layer;
    ``output`` is MSE's choice of output activation (``losses.OUTPUTS``: identity, sigmoid).
    """

    def __init__(
        self,
        n_inputs: int,
        hidden: Sequence[int],
        n_outputs: int,
        activation: str | Sequence[str],
        loss: str,
        init: str | Mapping[str, Any] | None = "xavier",
        feature_names: Sequence[str] | None = None,
        output: str | None = None,
    ) -> None:
        self.loss_fn: Loss = get_loss(loss, output)
        self.init_spec = normalize_init(init)
        acts = [activation] * len(hidden) if isinstance(activation, str) else list(activation)
        if len(acts) != len(hidden):
            raise ValueError("model.activation: give one activation or one per hidden layer")
        names = [*acts, "identity"]  # the loss applies the output activation to logits
        sizes = [n_inputs, *hidden, n_outputs]
        layers, offset = [], 0
        for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
            w = slice(offset, offset + fan_in * fan_out)
            b = slice(w.stop, w.stop + fan_out)
            act = get_activation(names[i], f"model.activation[{i}]")
            layers.append(Layer(i, fan_in, fan_out, act, w, b))
            offset = b.stop
        self.layers: tuple[Layer, ...] = tuple(layers)
        self.sizes = tuple(sizes)
        self._n_params = offset
        self._names = parameter_names(self.sizes, feature_names)

    # -- Model protocol -------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Length P of the flat parameter vector."""
        return self._n_params

    @property
    def needs_data(self) -> bool:
        """Networks train on data."""
        return True

    @property
    def param_names(self) -> tuple[str, ...]:
        """Unique labels in ``theta`` order (``core.names``): ``"w_study"``, ``"bias"`` without
        a hidden layer, else ``"layer1.W[3,0]"`` (input unit 3 -> unit 0), ``"layer1.b[0]"``."""
        return self._names

    @property
    def layer_slices(self) -> tuple[tuple[str, slice], ...]:
        """``("layer1", slice)`` pairs covering each layer's ``W`` and ``b`` (from 1)."""
        return tuple((layer_name(L.index), L.params) for L in self.layers)

    def unpack(self, theta: FloatArray) -> list[tuple[FloatArray, FloatArray]]:
        """Views ``(W, b)`` per layer; ``(..., P)`` gives ``W`` ``(..., fan_in, fan_out)``."""
        lead = theta.shape[:-1]
        return [
            (
                theta[..., L.w_slice].reshape(*lead, L.fan_in, L.fan_out),
                theta[..., L.b_slice],
            )
            for L in self.layers
        ]

    def init_params(self, rng: np.random.Generator) -> FloatArray:
        """Draw ``theta_0`` with this model's initialiser."""
        parts = []
        for L in self.layers:
            W, b = init_layer(self.init_spec, L.fan_in, L.fan_out, rng)
            parts += [W.ravel(), b]
        return np.concatenate(parts)

    def forward(self, theta: FloatArray, X: FloatArray) -> tuple[FloatArray, Cache]:
        """Logits ``(n, m)`` and the cache the backward pass needs."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._forward(theta, X)

    def _forward(self, theta: FloatArray, X: FloatArray) -> tuple[FloatArray, Cache]:
        inputs, zs, acts = [], [], []
        a = X
        weights = self.unpack(theta)
        for L, (W, b) in zip(self.layers, weights, strict=True):
            inputs.append(a)
            z = a @ W + b
            a = L.activation.forward(z)
            zs.append(z)
            acts.append(a)
        return a, Cache(tuple(inputs), tuple(zs), tuple(acts), tuple(w for w, _ in weights))

    def backward(self, cache: Cache, dz_out: FloatArray) -> FloatArray:
        """The chain rule from ``dL/dz`` of the output layer back to ``dL/dtheta`` ``(P,)``."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self._backward(cache, dz_out)

    def _backward(self, cache: Cache, dz_out: FloatArray) -> FloatArray:
        grad = np.empty(self._n_params)
        dz = dz_out
        for L in reversed(self.layers):
            grad[L.w_slice] = (cache.inputs[L.index].T @ dz).ravel()
            grad[L.b_slice] = dz.sum(axis=0)
            if L.index == 0:
                break
            prev = self.layers[L.index - 1]
            da = dz @ cache.weights[L.index].T
            dz = da * prev.activation.slope(cache.zs[prev.index], cache.activations[prev.index])
        return grad

    def loss(self, theta: FloatArray, X: FloatArray | None, y: FloatArray | None) -> float:
        """Mean loss on ``(X, y)`` at ``theta``."""
        X, y = _require_data(X, y)
        with np.errstate(over="ignore", invalid="ignore"):
            logits, _ = self._forward(theta, X)
            return float(self.loss_fn.value(logits, y))

    def loss_and_grad(
        self, theta: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> tuple[float, FloatArray]:
        """Mean loss and its gradient by backpropagation.

        The same products as ``forward`` then ``backward``, written straight into the
        gradient (the training loop's hot path: no cache object, no copies).
        """
        X, y = _require_data(X, y)
        with np.errstate(over="ignore", invalid="ignore"):
            a, inputs, zs, acts, weights = X, [], [], [], []
            for L in self.layers:
                W = theta[L.w_slice].reshape(L.fan_in, L.fan_out)
                z = a @ W
                z += theta[L.b_slice]
                inputs.append(a)
                zs.append(z)
                weights.append(W)
                a = L.activation.forward(z)
                acts.append(a)
            value, dz = self.loss_fn.value_and_grad(a, y)
            grad = np.empty(self._n_params)
            for L in reversed(self.layers):
                i = L.index
                np.matmul(inputs[i].T, dz, out=grad[L.w_slice].reshape(L.fan_in, L.fan_out))
                np.add.reduce(dz, axis=0, out=grad[L.b_slice])
                if i == 0:
                    break
                dz = dz @ weights[i].T
                dz *= self.layers[i - 1].activation.slope(zs[i - 1], acts[i - 1])
            return value, grad

    def batch_forward(self, thetas: FloatArray, X: FloatArray) -> FloatArray:
        """Logits ``(K, n, m)`` for K parameter vectors ``(K, P)`` at once."""
        a: FloatArray = X
        with np.errstate(over="ignore", invalid="ignore"):
            for L, (W, b) in zip(self.layers, self.unpack(thetas), strict=True):
                a = L.activation.forward(np.matmul(a, W) + b[:, None, :])
        return a

    def batch_loss(
        self, thetas: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> FloatArray:
        """Losses ``(K,)`` for ``(K, P)`` parameter vectors, in memory-bounded chunks."""
        X, y = _require_data(X, y)
        thetas = np.atleast_2d(thetas)
        chunk = max(1, BATCH_CHUNK_FLOATS // (X.shape[0] * max(self.sizes)))
        out = np.empty(thetas.shape[0])
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, thetas.shape[0], chunk):
                part = thetas[start : start + chunk]
                out[start : start + chunk] = self.loss_fn.value(self.batch_forward(part, X), y)
        return out

    def accuracy(
        self, theta: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> float | None:
        """Fraction classified correctly, or None for regression."""
        X, y = _require_data(X, y)
        logits, _ = self.forward(theta, X)
        return accuracy(self.loss_fn.output_activation, logits, y)

    def predict(self, theta: FloatArray, X: FloatArray) -> FloatArray:
        """Outputs after the output activation: values, probabilities ``(n, m)``."""
        logits, _ = self.forward(theta, X)
        out_act = self.loss_fn.output_activation
        if out_act == "sigmoid":
            return get_activation("sigmoid").forward(logits)
        if out_act == "softmax":
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            out: FloatArray = e / e.sum(axis=1, keepdims=True)
            return out
        return logits
