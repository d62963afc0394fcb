"""Parameter initialisers, driven by a seeded ``np.random.Generator``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from gradscape.core.types import FloatArray

INITS: dict[str, str] = {
    "xavier": "Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)); suits tanh and sigmoid.",
    "xavier_normal": "Glorot normal: N(0, 2 / (fan_in + fan_out)).",
    "he": "He (Kaiming) normal: N(0, 2 / fan_in); suits relu.",
    "torch": "PyTorch's nn.Linear default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for W and b.",
    "normal": "N(0, std^2) for weights (option std, default 0.1), zero biases.",
    "zeros": "All zero: every hidden unit stays identical (symmetry is never broken).",
}
#: Activations whose layers start best with He's variance (the rest take Glorot's).
HE_ACTIVATIONS = frozenset({"relu", "leaky_relu"})


def init_for(activation: object) -> str:
    """The initialiser a model takes when its config names none: he for relu-like, else xavier.

    ``activation`` is one name or one per hidden layer; he only when every one is relu-like.
    """
    names = [activation] if isinstance(activation, str) else activation
    if not isinstance(names, list | tuple) or not names:
        return "xavier"
    he = all(isinstance(name, str) and name in HE_ACTIVATIONS for name in names)
    return "he" if he else "xavier"


def normalize_init(spec: str | Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate an init spec (a name or ``{"name", "std"}``) and fill its defaults."""
    if spec is None:
        spec = "xavier"
    if isinstance(spec, str):
        spec = {"name": spec}
    if not isinstance(spec, Mapping):
        raise ValueError("model.init must be a name or an object with a name")
    name = spec.get("name", "xavier")
    if name not in INITS:
        raise ValueError(f"model.init: unknown initialiser {name!r}; known: {', '.join(INITS)}")
    extra = set(spec) - {"name", "std"}
    if extra:
        raise ValueError(f"model.init: unknown option {sorted(extra)[0]!r}")
    out: dict[str, Any] = {"name": name}
    if name == "normal":
        std = spec.get("std", 0.1)
        if isinstance(std, bool) or not isinstance(std, int | float) or not 0 <= std <= 100:
            raise ValueError(f"model.init.std must be a number in [0, 100], got {std!r}")
        out["std"] = float(std)
    return out


def init_layer(
    spec: Mapping[str, Any], fan_in: int, fan_out: int, rng: np.random.Generator
) -> tuple[FloatArray, FloatArray]:
    """Draw one layer's ``W`` ``(fan_in, fan_out)`` and ``b`` ``(fan_out,)``."""
    name = spec["name"]
    b = np.zeros(fan_out)
    if name == "zeros":
        W = np.zeros((fan_in, fan_out))
    elif name == "normal":
        W = rng.normal(0.0, spec["std"], size=(fan_in, fan_out))
    elif name == "xavier":
        a = math.sqrt(6.0 / (fan_in + fan_out))
        W = rng.uniform(-a, a, size=(fan_in, fan_out))
    elif name == "xavier_normal":
        W = rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=(fan_in, fan_out))
    elif name == "he":
        W = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))
    else:  # torch
        bound = 1.0 / math.sqrt(fan_in)
        W = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        b = rng.uniform(-bound, bound, size=fan_out)
    return W, b
