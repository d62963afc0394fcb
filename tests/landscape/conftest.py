"""Small models, their data and gradient-descent trajectories for the landscape tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from gradscape.core.data import make_dataset
from gradscape.core.functions import make_function
from gradscape.core.nn import MLP
from gradscape.core.types import Model

PASS_FAIL_X = np.array([[5.0, 7.0], [3.0, 4.0], [8.0, 6.0], [2.0, 3.0]])
PASS_FAIL_Y = np.array([1.0, 0.0, 1.0, 0.0])
CHAPTER_THETA0 = np.array([0.4967141530112327, -0.13826430117118466, 0.0])


@dataclass
class Case:
    """A model, its data and a gradient-descent trajectory ``(T, P)``."""

    name: str
    model: Model
    X: np.ndarray | None
    y: np.ndarray | None
    trajectory: np.ndarray


def descend(
    model: Model, X: object, y: object, theta0: np.ndarray, lr: float, steps: int
) -> np.ndarray:
    """Plain full-batch gradient descent: ``theta_0 .. theta_steps`` ``(steps + 1, P)``."""
    thetas = [np.asarray(theta0, dtype=np.float64)]
    for _ in range(steps):
        _, grad = model.loss_and_grad(thetas[-1], X, y)  # type: ignore[arg-type]
        thetas.append(thetas[-1] - lr * grad)
    return np.array(thetas)


def mlp_case() -> Case:
    """A 2-6-5-1 tanh network on 64 moons points, 60 steps of gradient descent."""
    data = make_dataset({"name": "moons", "n_samples": 64, "noise": 0.1}, seed=0)
    model = MLP(2, [6, 5], 1, "tanh", "bce")
    theta0 = model.init_params(np.random.default_rng(0))
    return Case("mlp", model, data.X, data.y, descend(model, data.X, data.y, theta0, 0.5, 60))


def neuron_case() -> Case:
    """The chapter's single neuron on the pass/fail data, 200 steps at lr 0.1."""
    model = MLP(2, [], 1, [], "bce", feature_names=("study", "sleep"))
    traj = descend(model, PASS_FAIL_X, PASS_FAIL_Y, CHAPTER_THETA0, 0.1, 200)
    return Case("neuron", model, PASS_FAIL_X, PASS_FAIL_Y, traj)


def linreg_case() -> Case:
    """Linear regression ``y = w x + b`` (P = 2) on a noisy line."""
    rng = np.random.default_rng(4)
    X = rng.uniform(-2, 2, size=(20, 1))
    y = 1.5 * X[:, 0] - 0.5 + 0.1 * rng.normal(size=20)
    model = MLP(1, [], 1, [], "mse")
    return Case("linreg", model, X, y, descend(model, X, y, np.array([-1.0, 1.0]), 0.1, 50))


def function_case(name: str, lr: float = 1e-3, steps: int = 100) -> Case:
    """An analytic surface from its demo start."""
    f = make_function(name)
    traj = descend(f, None, None, np.array(f.start), lr, steps)
    return Case(name, f, None, None, traj)


def svd_directions(M: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The reference: top-k right singular vectors of ``M`` and their shares, by SVD."""
    _, s, Vt = np.linalg.svd(M, full_matrices=False)
    return Vt[:k], s[:k] ** 2 / np.sum(s**2)


def assert_same_lines(A: np.ndarray, B: np.ndarray, tol: float) -> None:
    """Rows of A and B span the same lines (equal up to sign)."""
    np.testing.assert_allclose(np.abs(np.sum(A * B, axis=1)), 1.0, atol=tol)


@pytest.fixture(scope="session")
def mlp() -> Case:
    return mlp_case()


@pytest.fixture(scope="session")
def neuron() -> Case:
    return neuron_case()


@pytest.fixture(scope="session")
def linreg() -> Case:
    return linreg_case()


@pytest.fixture(scope="session")
def rosenbrock() -> Case:
    return function_case("rosenbrock")
