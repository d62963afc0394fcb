"""Activations: values and slopes against torch autograd (kinks included), the sigmoid's
floor, and the refusal of an unknown name."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from gradscape.core.activations import ACTIVATIONS, get_activation, sigmoid
from tests.helpers import require_torch

#: The kinks (z = -0, 0) and both sides of them, and z in (0, 1] where a slope of 1 begins.
Z = np.array([-2.0, -0.5, -0.0, 0.0, 0.25, 1.0, 3.0])


def _torch_fn(torch: Any, name: str) -> Any:
    F = torch.nn.functional
    return {
        "identity": lambda t: t,
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": torch.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=0.01),
        "softplus": F.softplus,
    }[name]


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_values_and_slopes_match_torch_autograd_at_and_around_the_kinks(name: str) -> None:
    """torch's convention at a kink: relu's slope at 0 is 0, leaky relu's is 0.01."""
    torch = require_torch()
    t = torch.tensor(Z, requires_grad=True)
    ref = _torch_fn(torch, name)(t)
    ref.sum().backward()
    act = get_activation(name)
    a = act.forward(Z)
    np.testing.assert_allclose(a, ref.detach().numpy(), rtol=1e-15, atol=0)
    # 1 - a * a (tanh) loses a few bits to cancellation
    np.testing.assert_allclose(act.slope(Z, a), t.grad.numpy(), rtol=1e-13, atol=0)


def test_the_sigmoid_floors_z_at_minus_700() -> None:
    """Below -700 the sigmoid is the value at -700, 1 / (1 + e^700); above, the formula."""
    floor = 1.0 / (1.0 + math.exp(700.0))
    assert float(sigmoid(np.array(-701.0))) == floor
    assert float(sigmoid(np.array(-1e4))) == floor
    assert float(sigmoid(np.array(-699.0))) == 1.0 / (1.0 + math.exp(699.0))


def test_an_unknown_activation_names_its_field_and_every_known_one() -> None:
    known = "identity, sigmoid, tanh, relu, leaky_relu, softplus"
    want = f"model.activation: unknown activation 'swish'; known: {known}"
    with pytest.raises(ValueError, match=f"^{re.escape(want)}$"):
        get_activation("swish")
    want = f"model.activation[2]: unknown activation ['relu']; known: {known}"
    with pytest.raises(ValueError, match=f"^{re.escape(want)}$"):
        get_activation(["relu"], "model.activation[2]")  # type: ignore[arg-type]
