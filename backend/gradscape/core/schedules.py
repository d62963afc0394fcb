"""Learning-rate schedules as closed forms of (base_lr, t), as in torch.optim.lr_scheduler.

``t`` counts scheduler ticks so far (torch's ``last_epoch``); a schedule's ``interval``
says whether a tick is an optimizer step or an epoch. The formulas are torch's
``_get_closed_form_lr`` for StepLR, ExponentialLR and CosineAnnealingLR.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any

INTERVALS: tuple[str, ...] = ("epoch", "step")


def _finite_float(key: str, value: object) -> float:
    """``value`` as a finite float (bools refused), or ValueError naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{key} must be a number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{key} must be finite, got {x!r}")
    return x


@dataclass(frozen=True)
class _Param:
    """One schedule parameter: ``int`` or ``float``, its default and closed interval."""

    kind: str
    default: float
    low: float
    high: float
    text: str
    low_open: bool = False

    def check(self, key: str, value: object) -> float:
        """Return ``value`` (an int for ``int`` params) or raise ValueError naming ``key``."""
        x: float
        if self.kind == "float":
            x = _finite_float(key, value)
        elif isinstance(value, bool) or not isinstance(value, Integral):
            raise ValueError(f"{key} must be an int, got {value!r}")
        else:
            x = int(value)
        too_low = x <= self.low if self.low_open else x < self.low
        if too_low or x > self.high:
            left = "(" if self.low_open else "["
            raise ValueError(f"{key} must be in {left}{self.low:g}, {self.high:g}], got {x!r}")
        return x

    def spec(self) -> dict[str, Any]:
        """The catalog entry: default, min, max, type and description."""
        return {
            "default": self.default,
            "min": self.low,
            "max": self.high,
            "type": self.kind,
            "description": self.text,
        }


@dataclass(frozen=True)
class Schedule:
    """A named schedule: description, formula text, parameters and the closed form."""

    description: str
    formula: str
    params: Mapping[str, _Param]
    lr: Callable[[float, int, Mapping[str, Any]], float]


def _gamma(default: float) -> _Param:
    return _Param("float", default, 0.0, 1.0, "Multiplicative decay factor.", low_open=True)


def _cosine(base_lr: float, t: int, p: Mapping[str, Any]) -> float:
    eta_min: float = p["eta_min"]
    return eta_min + (base_lr - eta_min) * (1 + math.cos(math.pi * t / p["T_max"])) / 2


SCHEDULES: dict[str, Schedule] = {
    "constant": Schedule("Keep the learning rate fixed.", "base_lr", {}, lambda lr, t, p: lr),
    "step": Schedule(
        "Multiply by gamma every step_size ticks (StepLR).",
        "base_lr * gamma ** (t // step_size)",
        {
            "step_size": _Param("int", 10, 1, 10**6, "Ticks between decays."),
            "gamma": _gamma(0.1),
        },
        lambda lr, t, p: lr * p["gamma"] ** (t // p["step_size"]),
    ),
    "exponential": Schedule(
        "Multiply by gamma every tick (ExponentialLR).",
        "base_lr * gamma ** t",
        {"gamma": _gamma(0.95)},
        lambda lr, t, p: lr * p["gamma"] ** t,
    ),
    "cosine": Schedule(
        "Cosine annealing from base_lr to eta_min over T_max ticks (CosineAnnealingLR).",
        "eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2",
        {
            "T_max": _Param("int", 100, 1, 10**6, "Ticks for half a cosine period."),
            "eta_min": _Param("float", 0.0, 0.0, 1e6, "Learning rate at t = T_max."),
        },
        _cosine,
    ),
}


def validate_schedule(schedule: Mapping[str, Any] | None) -> dict[str, Any]:
    """A checked copy with defaults filled; ValueError naming ``schedule.<field>``."""
    given = dict(schedule or {})
    name = given.pop("name", "constant")
    if not isinstance(name, str) or name not in SCHEDULES:
        raise ValueError(f"schedule.name must be one of {', '.join(SCHEDULES)}; got {name!r}")
    interval = given.pop("interval", "epoch")
    if not isinstance(interval, str) or interval not in INTERVALS:
        known = ", ".join(INTERVALS)
        raise ValueError(f"schedule.interval must be one of {known}; got {interval!r}")
    params = SCHEDULES[name].params
    unknown = sorted(str(key) for key in set(given) - set(params))
    if unknown:
        known = ", ".join(params) or "none"
        raise ValueError(f"schedule.{unknown[0]} is not a field of {name!r} (fields: {known})")
    checked = {
        key: param.check(f"schedule.{key}", given.get(key, param.default))
        for key, param in params.items()
    }
    return {"name": name, "interval": interval, **checked}


def scheduled_lr(base_lr: float, t: int, schedule: Mapping[str, Any] | None) -> float:
    """The learning rate after ``t`` scheduler ticks, starting from ``base_lr``."""
    lr = _finite_float("base_lr", base_lr)
    ticks = _Param("int", 0, 0, math.inf, "").check("t", t)
    checked = validate_schedule(schedule)
    return float(SCHEDULES[checked["name"]].lr(lr, int(ticks), checked))


def schedule_specs() -> dict[str, dict[str, Any]]:
    """Per schedule: description, formula and per-parameter default, min, max, type, text."""
    return {
        name: {
            "description": s.description,
            "formula": s.formula,
            "params": {key: param.spec() for key, param in s.params.items()},
        }
        for name, s in SCHEDULES.items()
    }
