"""Optimizers with torch.optim's update rules, defaults and names, over one flat vector.

Each rule follows torch 2.x's single-tensor implementation in its order of operations
(e.g. Adam's ``(sqrt(v) / sqrt(bias_correction2)) + eps``), so a run matches
``torch.optim`` in float64 to rounding. State buffers keep torch's names.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from gradscape.core.schedules import (
    INTERVALS,
    SCHEDULES,
    schedule_specs,
    scheduled_lr,
    validate_schedule,
)
from gradscape.core.types import FloatArray

__all__ = [
    "INTERVALS",
    "OPTIMIZERS",
    "SCHEDULES",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "clip_coefficient",
    "clip_grad_norm",
    "hyperparameter_specs",
    "make_optimizer",
    "optimizer_docs",
    "schedule_specs",
    "scheduled_lr",
    "validate_schedule",
]


@dataclass(frozen=True)
class _Field:
    """One hyperparameter: its kind, default, allowed interval and a description."""

    kind: str  # "float" | "bool" | "pair" (a pair checks both entries against the interval)
    default: float | bool | tuple[float, float]
    text: str
    low: float = 0.0
    high: float = 1.0
    low_open: bool = False
    high_open: bool = False

    @property
    def interval(self) -> str:
        """The allowed interval in bracket notation, e.g. ``[0, 1)``."""
        left = "(" if self.low_open else "["
        right = ")" if self.high_open else "]"
        return f"{left}{self.low:g}, {self.high:g}{right}"

    def check(self, key: str, value: Any) -> float | bool | tuple[float, float]:
        """Return ``value`` normalised (floats, tuple), or raise ValueError naming ``key``."""
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{key} must be a bool, got {value!r}")
            return value
        if self.kind == "pair":
            if not isinstance(value, tuple | list) or len(value) != 2:
                raise ValueError(f"{key} must be a pair of two numbers, got {value!r}")
            first = self._check_float(f"{key}[0]", value[0])
            return (first, self._check_float(f"{key}[1]", value[1]))
        return self._check_float(key, value)

    def _check_float(self, key: str, value: object) -> float:
        """Return ``value`` as a finite float inside the interval, or raise ValueError."""
        if isinstance(value, bool) or not isinstance(value, Real):
            raise ValueError(f"{key} must be a number, got {value!r}")
        x = float(value)
        if not math.isfinite(x):
            raise ValueError(f"{key} must be finite, got {x!r}")
        too_low = x <= self.low if self.low_open else x < self.low
        too_high = x >= self.high if self.high_open else x > self.high
        if too_low or too_high:
            raise ValueError(f"{key} must be in {self.interval}, got {x!r}")
        return x

    def spec(self) -> dict[str, Any]:
        """The catalog entry: default, min, max, type and description."""
        ranged = self.kind != "bool"
        text = f"{self.text} Allowed: {self.interval}." if ranged else self.text
        return {
            "default": self.default,
            "min": self.low if ranged else None,
            "max": self.high if ranged else None,
            "type": self.kind,
            "description": text,
        }


def _lr(default: float) -> _Field:
    return _Field("float", default, "Learning rate.", 0.0, 1e6, low_open=True)


def _weight_decay(default: float, text: str = "L2 penalty added to the gradient.") -> _Field:
    return _Field("float", default, text, 0.0, 1e3)


def _eps(default: float) -> _Field:
    return _Field(
        "float", default, "Added to the denominator for stability.", 0.0, 1.0, low_open=True
    )


def _unit(default: float, text: str) -> _Field:
    return _Field("float", default, text, 0.0, 1.0, high_open=True)


def _flag(text: str) -> _Field:
    return _Field("bool", False, text)


class Optimizer(ABC):
    """Base class: validated hyperparameters, a step count and per-parameter state buffers."""

    name: ClassVar[str]
    #: The update rule in one line, in torch.optim's notation (p: a parameter, g: its gradient).
    RULE: ClassVar[str]
    #: One sentence on when the optimizer helps.
    WHEN: ClassVar[str]
    _FIELDS: ClassVar[dict[str, _Field]]
    _BUFFERS: ClassVar[tuple[str, ...]]

    def __init__(self, n_params: int, **hyper: Any) -> None:
        if isinstance(n_params, bool) or not isinstance(n_params, int) or n_params < 1:
            raise ValueError(f"n_params must be a positive int, got {n_params!r}")
        self._n = n_params
        self._hyper = self._validated(hyper)
        self._step = 0
        self._state: dict[str, FloatArray] = {}

    @property
    def hyper(self) -> dict[str, Any]:
        """A copy of the current hyperparameters, lr included."""
        return dict(self._hyper)

    @property
    def step_count(self) -> int:
        """How many updates ``step`` has applied."""
        return self._step

    def set(self, **changes: Any) -> None:
        """Change hyperparameters atomically: all are validated before any is applied."""
        self._hyper = self._validated({**self._hyper, **changes})

    def step(self, params: FloatArray, grad: FloatArray) -> None:
        """Apply one update to ``params`` (P,) in place from the raw gradient ``grad`` (P,)."""
        if not isinstance(params, np.ndarray) or params.dtype != np.float64:
            raise TypeError(f"params must be a float64 ndarray, got {type(params).__name__}")
        g = np.asarray(grad, dtype=np.float64)
        if params.shape != (self._n,) or g.shape != (self._n,):
            raise ValueError(
                f"params and grad must have shape ({self._n},), got {params.shape} and {g.shape}"
            )
        self._step += 1
        self._update(params, g, self._step)

    def state_dict(self) -> dict[str, Any]:
        """A deep copy of name, step count, hyperparameters and state buffers."""
        return {
            "name": self.name,
            "n_params": self._n,
            "step": self._step,
            "hyper": dict(self._hyper),
            "state": {key: buf.copy() for key, buf in self._state.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what ``state_dict`` returned; validates everything before changing anything."""
        if state.get("name") != self.name or state.get("n_params") != self._n:
            raise ValueError(
                f"state is for {state.get('name')!r} with n_params={state.get('n_params')!r}, "
                f"expected {self.name!r} with n_params={self._n}"
            )
        step = state.get("step")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"state.step must be an int >= 0, got {step!r}")
        hyper = self._validated(state.get("hyper", {}))
        given = state.get("state", {})
        if not isinstance(given, dict):
            raise ValueError(f"state.state must be a dict of arrays, got {type(given).__name__}")
        buffers = {key: self._checked_buffer(key, buf) for key, buf in given.items()}
        self._step, self._hyper, self._state = step, hyper, buffers

    def _checked_buffer(self, key: str, buf: Any) -> FloatArray:
        """A float64 copy of one loaded state buffer, or ValueError."""
        if key not in self._BUFFERS:
            raise ValueError(f"state.state.{key} is not a buffer of {self.name}")
        arr = np.array(buf, dtype=np.float64)
        if arr.shape != (self._n,):
            raise ValueError(f"state.state.{key} must have shape ({self._n},), got {arr.shape}")
        return arr

    def _validated(self, values: dict[str, Any]) -> dict[str, Any]:
        """Defaults overlaid with ``values``, each checked; unknown names raise ValueError."""
        unknown = sorted(set(values) - set(self._FIELDS))
        if unknown:
            raise ValueError(
                f"optimizer.{unknown[0]} is not a hyperparameter of {self.name} "
                f"(known: {', '.join(self._FIELDS)})"
            )
        out = {
            key: field.check(f"optimizer.{key}", values.get(key, field.default))
            for key, field in self._FIELDS.items()
        }
        self._check_combination(out)
        return out

    def _check_combination(self, hyper: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Hook for rules spanning several hyperparameters."""

    def _buffer(self, key: str, fill: float = 0.0) -> FloatArray:
        """The state buffer ``key``, created filled with ``fill`` on first use."""
        buf = self._state.get(key)
        if buf is None:
            buf = np.full(self._n, fill, dtype=np.float64)
            self._state[key] = buf
        return buf

    def _decayed(self, params: FloatArray, grad: FloatArray) -> FloatArray:
        """``grad + weight_decay * params`` (torch's L2 form), or ``grad`` itself when 0."""
        weight_decay: float = self._hyper["weight_decay"]
        return grad + weight_decay * params if weight_decay != 0 else grad

    @abstractmethod
    def _update(self, params: FloatArray, grad: FloatArray, t: int) -> None:
        """The rule: update ``params`` in place for step number ``t`` (1-based)."""


def _lerp_(start: FloatArray, end: FloatArray, weight: float) -> None:
    """``start.lerp_(end, weight)`` with torch's two-branch formula, in place."""
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


class SGD(Optimizer):
    """SGD with momentum, dampening, Nesterov and weight decay, as ``torch.optim.SGD``."""

    name = "sgd"
    RULE = (
        "p ← p − lr·g; with momentum μ: b ← μ·b + (1 − τ)·g, p ← p − lr·b (Nesterov: p ← p − "
        "lr·(g + μ·b))"
    )
    WHEN = (
        "The chapter's rule; momentum (μ ≈ 0.9) keeps speed through flat stretches and damps "
        "the zig-zag across a narrow valley."
    )
    _BUFFERS = ("momentum_buffer",)
    _FIELDS: ClassVar[dict[str, _Field]] = {
        "lr": _lr(1e-3),
        "momentum": _unit(0.0, "Momentum factor mu."),
        "dampening": _Field("float", 0.0, "Dampening tau for momentum.", 0.0, 1.0),
        "weight_decay": _weight_decay(0.0),
        "nesterov": _flag("Nesterov momentum; needs momentum > 0 and dampening 0."),
        "maximize": _flag("Maximise the objective instead of minimising it."),
    }

    def _check_combination(self, hyper: dict[str, Any]) -> None:
        """Nesterov needs momentum > 0 and zero dampening, as in torch."""
        if hyper["nesterov"] and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
            raise ValueError(
                "optimizer.nesterov requires momentum > 0 and dampening == 0, got "
                f"momentum={hyper['momentum']!r}, dampening={hyper['dampening']!r}"
            )

    def _update(self, params: FloatArray, grad: FloatArray, t: int) -> None:
        """b = mu b + (1 - tau) g (b = g at first), g = g + mu b or b, theta -= lr g."""
        h = self._hyper
        g = self._decayed(params, -grad if h["maximize"] else grad)
        momentum = h["momentum"]
        if momentum != 0:
            buf = self._state.get("momentum_buffer")
            if buf is None:
                buf = g.copy()
                self._state["momentum_buffer"] = buf
            else:
                buf *= momentum
                buf += (1 - h["dampening"]) * g
            g = g + momentum * buf if h["nesterov"] else buf
        params += -h["lr"] * g


class Adagrad(Optimizer):
    """Adagrad with learning-rate decay, as ``torch.optim.Adagrad``."""

    name = "adagrad"
    RULE = "s ← s + g²; p ← p − lr·g / (√s + ε)"
    WHEN = (
        "Each weight's step shrinks with its own gradient history, which suits rare (sparse) "
        "features, but the steps keep shrinking, so long runs stall."
    )
    _BUFFERS = ("sum",)
    _FIELDS: ClassVar[dict[str, _Field]] = {
        "lr": _lr(1e-2),
        "lr_decay": _Field("float", 0.0, "Learning-rate decay per step.", 0.0, 1e3),
        "weight_decay": _weight_decay(0.0),
        "initial_accumulator_value": _Field(
            "float", 0.0, "Starting value of the sum of squared gradients.", 0.0, 1e6
        ),
        "eps": _eps(1e-10),
    }

    def _update(self, params: FloatArray, grad: FloatArray, t: int) -> None:
        """s += g^2, theta -= lr / (1 + (t - 1) lr_decay) * g / (sqrt(s) + eps)."""
        h = self._hyper
        g = self._decayed(params, grad)
        clr = h["lr"] / (1 + (t - 1) * h["lr_decay"])
        state_sum = self._buffer("sum", h["initial_accumulator_value"])
        state_sum += g * g
        std = np.sqrt(state_sum) + h["eps"]
        params += (-clr * g) / std


class RMSprop(Optimizer):
    """RMSprop, optionally centered and with momentum, as ``torch.optim.RMSprop``."""

    name = "rmsprop"
    RULE = "v ← α·v + (1 − α)·g²; p ← p − lr·g / (√v + ε)"
    WHEN = (
        "Adagrad with a moving average instead of a sum: per-weight step sizes that adapt "
        "without dying out, for gradients whose scales differ a lot between weights."
    )
    _BUFFERS = ("square_avg", "grad_avg", "momentum_buffer")
    _FIELDS: ClassVar[dict[str, _Field]] = {
        "lr": _lr(1e-2),
        "alpha": _unit(0.99, "Smoothing constant of the squared-gradient average."),
        "eps": _eps(1e-8),
        "weight_decay": _weight_decay(0.0),
        "momentum": _unit(0.0, "Momentum factor mu."),
        "centered": _flag("Normalise by the estimated variance of the gradient."),
    }

    def _update(self, params: FloatArray, grad: FloatArray, t: int) -> None:
        """v = alpha v + (1 - alpha) g^2, then theta -= lr g / (sqrt(v [- gbar^2]) + eps)."""
        h = self._hyper
        alpha = h["alpha"]
        g = self._decayed(params, grad)
        square_avg = self._buffer("square_avg")
        square_avg *= alpha
        square_avg += (1 - alpha) * g * g
        if h["centered"]:
            grad_avg = self._buffer("grad_avg")
            _lerp_(grad_avg, g, 1 - alpha)
            # Clamped: rounding can make v - gbar^2 slightly negative, where torch gives NaN.
            avg = np.sqrt(np.maximum(square_avg - grad_avg * grad_avg, 0.0))
        else:
            avg = np.sqrt(square_avg)
        avg += h["eps"]
        if h["momentum"] > 0:
            buf = self._buffer("momentum_buffer")
            buf *= h["momentum"]
            buf += g / avg
            params += -h["lr"] * buf
        else:
            params += (-h["lr"] * g) / avg


class Adam(Optimizer):
    """Adam with optional AMSGrad and L2 weight decay, as ``torch.optim.Adam``."""

    name = "adam"
    RULE = (
        "m ← β₁·m + (1 − β₁)·g; v ← β₂·v + (1 − β₂)·g²; m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − "
        "β₂ᵗ); p ← p − lr·m̂ / (√v̂ + ε)"
    )
    WHEN = (
        "Momentum and per-weight step sizes together, bias-corrected for the first steps: the"
        " usual default, fast on most problems with little tuning."
    )
    _DECOUPLED: ClassVar[bool] = False
    _BUFFERS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _FIELDS: ClassVar[dict[str, _Field]] = {
        "lr": _lr(1e-3),
        "betas": _Field(
            "pair", (0.9, 0.999), "Decay rates of the moment averages.", 0.0, 1.0, high_open=True
        ),
        "eps": _eps(1e-8),
        "weight_decay": _weight_decay(0.0),
        "amsgrad": _flag("Normalise by the running maximum of the second moment."),
    }

    def _update(self, params: FloatArray, grad: FloatArray, t: int) -> None:
        """m, v moving averages; theta -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)."""
        h = self._hyper
        lr, (beta1, beta2) = h["lr"], h["betas"]
        if self._DECOUPLED and h["weight_decay"] != 0:
            params *= 1 - lr * h["weight_decay"]
            g = grad
        else:
            g = self._decayed(params, grad)
        exp_avg = self._buffer("exp_avg")
        _lerp_(exp_avg, g, 1 - beta1)
        exp_avg_sq = self._buffer("exp_avg_sq")
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * g * g
        step_size = lr / (1 - beta1 ** float(t))
        bias_correction2_sqrt = (1 - beta2 ** float(t)) ** 0.5
        if h["amsgrad"]:
            second = self._buffer("max_exp_avg_sq")
            np.maximum(second, exp_avg_sq, out=second)
        else:
            second = exp_avg_sq
        denom = np.sqrt(second) / bias_correction2_sqrt + h["eps"]
        params += (-step_size * exp_avg) / denom


class AdamW(Adam):
    """Adam with decoupled weight decay, as ``torch.optim.AdamW``."""

    name = "adamw"
    RULE = "p ← p − lr·λ·p, then Adam's step p ← p − lr·m̂ / (√v̂ + ε)"
    WHEN = (
        "Adam with the weight decay λ applied to the weights directly instead of through g, "
        "so the regularisation is not rescaled by v̂; the default for large networks."
    )
    _DECOUPLED = True
    _FIELDS: ClassVar[dict[str, _Field]] = {
        **Adam._FIELDS,
        "weight_decay": _weight_decay(1e-2, "Decoupled decay: theta *= 1 - lr * weight_decay."),
    }


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Adagrad, RMSprop, Adam, AdamW)
}


def _lookup(name: str) -> type[Optimizer]:
    """The optimizer class called ``name``, or ValueError listing the known names."""
    try:
        return OPTIMIZERS[name]
    except (KeyError, TypeError):
        known = ", ".join(OPTIMIZERS)
        raise ValueError(f"optimizer.name must be one of {known}; got {name!r}") from None


def make_optimizer(name: str, n_params: int, **hyper: Any) -> Optimizer:
    """A new optimizer by name (``"sgd"``, ``"adam"``, ...) with validated hyperparameters."""
    return _lookup(name)(n_params, **hyper)


def hyperparameter_specs(name: str) -> dict[str, dict[str, Any]]:
    """Per hyperparameter of optimizer ``name``: default, min, max, type and description."""
    return {key: field.spec() for key, field in _lookup(name)._FIELDS.items()}


def optimizer_docs() -> dict[str, dict[str, str]]:
    """Per optimizer: its update ``rule`` in one line (torch's notation) and ``when`` it helps."""
    return {name: {"rule": cls.RULE, "when": cls.WHEN} for name, cls in OPTIMIZERS.items()}


_MAX_NORM = _Field("float", 1.0, "Largest allowed gradient norm.", 0.0, math.inf, low_open=True)


def clip_coefficient(grad: FloatArray, max_norm: float) -> float:
    """``min(1, max_norm / (||grad||_2 + 1e-6))``: the factor ``clip_grad_norm`` applies."""
    limit = _MAX_NORM._check_float("max_norm", max_norm)
    total_norm = float(np.linalg.norm(np.asarray(grad, dtype=np.float64)))
    return min(limit / (total_norm + 1e-6), 1.0)


def clip_grad_norm(grad: FloatArray, max_norm: float) -> FloatArray:
    """``grad * min(1, max_norm / (||grad||_2 + 1e-6))``, a new array (torch's clip_grad_norm_)."""
    return np.asarray(grad, dtype=np.float64) * clip_coefficient(grad, max_norm)
