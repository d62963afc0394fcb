"""Presets: each one shows one idea of the chapter, as a complete session config."""

from __future__ import annotations

import copy
from typing import Any

#: The chapter's single neuron starts from ``np.random.seed(42); np.random.randn(2)``.
CHAPTER_WEIGHTS = (0.4967141530112327, -0.13826430117118466)

_LINE_DATA = {"name": "line", "n_samples": 50, "noise": 0.3}


def _regression(
    description: str,
    *,
    lr: float,
    data: dict[str, Any] = _LINE_DATA,
    start: tuple[float, float] = (-1.5, -1.0),
    batch_size: int | None = None,
) -> dict[str, Any]:
    """A linear-regression preset: two parameters (w, b), an exact MSE bowl."""
    return {
        "description": description,
        "config": {
            "data": data,
            "model": {"hidden": [], "init": "zeros"},
            "loss": "mse",
            "optimizer": {"name": "sgd", "lr": lr},
            "batch_size": batch_size,
            "seed": 0,
            "init_params": list(start),
        },
    }


PRESETS: dict[str, dict[str, Any]] = {
    "pass-fail": {
        "description": "The chapter's single neuron, which is logistic regression: study and "
        "sleep hours -> pass or fail, sigmoid + cross-entropy, plain gradient descent at lr 0.1.",
        "config": {
            "data": {"name": "pass-fail"},
            "model": {"hidden": [], "init": "zeros"},
            "loss": "bce",
            "optimizer": {"name": "sgd", "lr": 0.1},
            "batch_size": None,
            "seed": 42,
            "init_params": [*CHAPTER_WEIGHTS, 0.0],
        },
    },
    "line": _regression(
        "Linear regression with mean squared error: two parameters, "
        "an exact bowl, and gradient descent rolling to its bottom.",
        lr=0.1,
    ),
    "crawl": _regression(
        "A learning rate far too small: every step is tiny and the path inches down the bowl.",
        lr=0.003,
    ),
    "overshoot": _regression(
        "A learning rate just past the stability edge 2 / lambda_max: "
        "each step jumps across the valley and lands higher, so the loss climbs.",
        lr=1.02,  # 2 / lambda_max is 0.9957 on this data: lr x lambda_max = 2.05
        start=(1.5, 0.5),
    ),
    "minibatch-noise": _regression(
        "Noisy data where batch size 1, a small batch and the full batch "
        "take visibly different paths to the same minimum.",
        lr=0.05,
        data={"name": "line", "n_samples": 100, "noise": 1.0},
        batch_size=4,
    ),
    "vanishing": {
        "description": "A deep sigmoid network: each layer multiplies the backward signal "
        "by a slope of at most 0.25, so the early layers barely learn.",
        "config": {
            "data": {"name": "moons", "n_samples": 200, "noise": 0.15},
            "model": {"hidden": [8, 8, 8, 8, 8, 8], "activation": "sigmoid", "init": "xavier"},
            "loss": "bce",
            "optimizer": {"name": "sgd", "lr": 0.5},
            "batch_size": 32,
            "seed": 0,
        },
    },
    "exploding": {
        "description": "A deep network with large initial weights: the backward signal "
        "grows layer by layer, gradients reach the thousands and within ten steps the "
        "updates blow up (clip_norm is the remedy).",
        "config": {
            "data": {"name": "sine", "n_samples": 100, "noise": 0.1},
            "model": {
                "hidden": [32, 32, 32, 32, 32, 32],
                "activation": "leaky_relu",
                "init": {"name": "normal", "std": 0.4},
            },
            "loss": "mse",
            "optimizer": {"name": "sgd", "lr": 0.002},
            "batch_size": None,
            "seed": 0,
        },
    },
    "rosenbrock": {
        "description": "Rosenbrock's narrow curved valley: plain gradient descent "
        "zig-zags and crawls along the floor, where momentum helps.",
        "config": {
            "data": None,
            "model": {"function": "rosenbrock"},
            "loss": None,
            "optimizer": {"name": "sgd", "lr": 0.001, "momentum": 0.9},
            "batch_size": None,
            "seed": 0,
        },
    },
    "moons-mlp": {
        "description": "A real non-convex network: two tanh hidden layers learn to "
        "separate two interleaved moons with Adam and mini-batches of 32.",
        "config": {
            "data": {"name": "moons", "n_samples": 200, "noise": 0.2},
            "model": {"hidden": [16, 16], "activation": "tanh", "init": "xavier"},
            "loss": "bce",
            "optimizer": {"name": "adam", "lr": 0.01},
            "batch_size": 32,
            "seed": 0,
        },
    },
}

DEFAULT_PRESET = "pass-fail"
#: The data a network trains on when its config gives none.
DEFAULT_DATASET = "pass-fail"
#: Where a config that brings its own data or model starts: nothing of the chapter's run.
#: ``loss`` None follows the data's task; a model without ``init`` gets one by activation.
NEUTRAL: dict[str, Any] = {
    "data": {"name": DEFAULT_DATASET},
    "model": {"hidden": []},
    "loss": None,
    "optimizer": {"name": "sgd", "lr": 0.1},
    "batch_size": None,
    "seed": 0,
    "init_params": None,
}


def preset_config(name: str) -> dict[str, Any]:
    """A deep copy of a preset's config, with a ``ValueError`` naming ``preset`` if unknown."""
    if not isinstance(name, str) or name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; known: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[name]["config"])


def neutral_config() -> dict[str, Any]:
    """A deep copy of the neutral defaults (see ``NEUTRAL``)."""
    return copy.deepcopy(NEUTRAL)
