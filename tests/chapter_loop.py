"""The chapter's NumPy training loop (the seed text), run by tests as the reference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

X = np.array([[5, 7], [3, 4], [8, 6], [2, 3]], dtype=float)
y = np.array([1, 0, 1, 0], dtype=float)


@dataclass(frozen=True)
class Epoch:
    """One pass of the loop: ``[w_study, w_sleep, bias]`` before, the gradient, after."""

    before: np.ndarray
    pred: np.ndarray
    error: np.ndarray
    grad: np.ndarray
    after: np.ndarray
    loss: float  # with the chapter's + 1e-9


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


def chapter_loop(epochs: int) -> list[Epoch]:
    """The chapter's loop for ``epochs`` epochs, line for line (its seed through a
    ``RandomState``: the same numbers as ``np.random.seed(42); np.random.randn(2)``)."""
    weights = np.random.RandomState(42).randn(2)
    bias = 0.0
    learning_rate = 0.1
    out = []
    for _ in range(epochs):
        z = X @ weights + bias
        pred = sigmoid(z)
        loss = -np.mean(y * np.log(pred + 1e-9) + (1 - y) * np.log(1 - pred + 1e-9))
        error = pred - y  # dL/dz for sigmoid + cross-entropy
        grad_w = X.T @ error / len(X)
        grad_b = np.mean(error)
        before = np.r_[weights, bias]
        weights = weights - learning_rate * grad_w
        bias -= learning_rate * grad_b
        out.append(
            Epoch(before, pred, error, np.r_[grad_w, grad_b], np.r_[weights, bias], float(loss))
        )
    return out
