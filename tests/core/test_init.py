"""Initialisers: each draw against its formula on the same seed, the spec's defaults and
bounds, the refusals word for word, and which initialiser a config without one gets."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from gradscape.core.init import init_for, init_layer, normalize_init

STD = "model.init.std must be a number in [0, 100], got "


def _rng() -> np.random.Generator:
    return np.random.default_rng(11)


@pytest.mark.parametrize(
    ("spec", "draw"),
    [
        # fan_in 3, fan_out 2: Glorot's a = sqrt(6 / 5), variance 2 / 5; He's 2 / 3; torch 1/sqrt(3)
        ({"name": "xavier"}, lambda r: (r.uniform(-math.sqrt(1.2), math.sqrt(1.2), (3, 2)), None)),
        ({"name": "xavier_normal"}, lambda r: (r.normal(0.0, math.sqrt(0.4), (3, 2)), None)),
        ({"name": "he"}, lambda r: (r.normal(0.0, math.sqrt(2 / 3), (3, 2)), None)),
        ({"name": "normal", "std": 0.3}, lambda r: (r.normal(0.0, 0.3, (3, 2)), None)),
        ({"name": "zeros"}, lambda r: (np.zeros((3, 2)), None)),
        (
            {"name": "torch"},
            lambda r: (r.uniform(-(3**-0.5), 3**-0.5, (3, 2)), r.uniform(-(3**-0.5), 3**-0.5, 2)),
        ),
    ],
)
def test_each_initialiser_draws_its_formula(spec: dict[str, Any], draw: Any) -> None:
    W, b = init_layer(spec, 3, 2, _rng())
    W_ref, b_ref = draw(_rng())
    np.testing.assert_allclose(W, W_ref, rtol=1e-15)
    np.testing.assert_allclose(b, np.zeros(2) if b_ref is None else b_ref, rtol=1e-15)
    assert W.shape == (3, 2) and b.shape == (2,)


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        (None, {"name": "xavier"}),
        ("he", {"name": "he"}),
        ({}, {"name": "xavier"}),
        ({"name": "normal"}, {"name": "normal", "std": 0.1}),
        ({"name": "normal", "std": 0}, {"name": "normal", "std": 0.0}),
        ({"name": "normal", "std": 100}, {"name": "normal", "std": 100.0}),
        ({"name": "he", "std": 5.0}, {"name": "he"}),  # std only means something for normal
    ],
)
def test_a_spec_is_filled_with_its_defaults(spec: Any, want: dict[str, Any]) -> None:
    out = normalize_init(spec)
    assert out == want
    assert all(type(v) is float for k, v in out.items() if k == "std")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (5, "model.init must be a name or an object with a name"),
        (
            "orthogonal",
            "model.init: unknown initialiser 'orthogonal'; "
            "known: xavier, xavier_normal, he, torch, normal, zeros",
        ),
        ({"name": "he", "gain": 2, "bias": 1}, "model.init: unknown option 'bias'"),
        ({"name": "normal", "std": -0.1}, STD + "-0.1"),
        (
            {"name": "normal", "std": 100.5},
            STD + "100.5",
        ),
        ({"name": "normal", "std": True}, STD + "True"),
        ({"name": "normal", "std": "1"}, STD + "'1'"),
    ],
)
def test_a_bad_spec_is_refused_word_for_word(spec: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        normalize_init(spec)


@pytest.mark.parametrize(
    ("activation", "want"),
    [
        ("relu", "he"),
        ("leaky_relu", "he"),
        (["relu", "leaky_relu"], "he"),
        (("relu",), "he"),
        ("tanh", "xavier"),
        (["relu", "tanh"], "xavier"),
        ([], "xavier"),
        ([5], "xavier"),
        (None, "xavier"),
        (7, "xavier"),
    ],
)
def test_he_only_when_every_layer_is_relu_like(activation: object, want: str) -> None:
    assert init_for(activation) == want
