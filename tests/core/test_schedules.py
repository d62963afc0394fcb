"""Learning-rate schedules against torch's documented closed forms and, if present, torch."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from gradscape.core.schedules import (
    INTERVALS,
    SCHEDULES,
    schedule_specs,
    scheduled_lr,
    validate_schedule,
)
from tests.helpers import require_torch


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (None, {0: 0.1, 1: 0.1, 1000: 0.1}),
        ({"name": "constant"}, {0: 0.1, 7: 0.1}),
        (
            {"name": "step", "step_size": 3, "gamma": 0.5},
            {0: 0.1, 2: 0.1, 3: 0.05, 5: 0.05, 6: 0.025, 9: 0.0125},
        ),
        ({"name": "step"}, {9: 0.1, 10: 0.01, 25: 0.001}),
        ({"name": "exponential", "gamma": 0.9}, {0: 0.1, 1: 0.09, 2: 0.081, 3: 0.0729}),
        (
            {"name": "cosine", "T_max": 10, "eta_min": 0.01},
            {0: 0.1, 5: 0.055, 10: 0.01, 15: 0.055, 20: 0.1},
        ),
        ({"name": "cosine", "T_max": 4}, {0: 0.1, 1: 0.05 * (1 + math.sqrt(0.5)), 2: 0.05, 4: 0.0}),
    ],
)
def test_documented_values(schedule: dict[str, Any] | None, expected: dict[int, float]) -> None:
    for t, lr in expected.items():
        assert scheduled_lr(0.1, t, schedule) == pytest.approx(lr, rel=1e-14, abs=1e-17), t


def test_validate_fills_defaults_and_keeps_name_and_interval() -> None:
    assert validate_schedule(None) == {"name": "constant", "interval": "epoch"}
    assert validate_schedule({"name": "step", "interval": "step"}) == {
        "name": "step",
        "interval": "step",
        "step_size": 10,
        "gamma": 0.1,
    }
    assert validate_schedule({"name": "cosine", "T_max": 5}) == {
        "name": "cosine",
        "interval": "epoch",
        "T_max": 5,
        "eta_min": 0.0,
    }
    checked = validate_schedule({"name": "exponential", "gamma": 1})
    assert type(checked["gamma"]) is float
    assert INTERVALS == ("epoch", "step")


def test_validate_does_not_modify_its_input() -> None:
    given = {"name": "step", "gamma": 0.5}
    validate_schedule(given)
    assert given == {"name": "step", "gamma": 0.5}


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({"name": "linear"}, "name"),
        ({"name": 3}, "name"),
        ({"interval": "batch"}, "interval"),
        ({"name": "step", "step_size": 0}, "step_size"),
        ({"name": "step", "step_size": 2.0}, "step_size"),
        ({"name": "step", "step_size": True}, "step_size"),
        ({"name": "step", "gamma": 0.0}, "gamma"),
        ({"name": "step", "gamma": 1.5}, "gamma"),
        ({"name": "exponential", "gamma": math.nan}, "gamma"),
        ({"name": "exponential", "gamma": "0.9"}, "gamma"),
        ({"name": "cosine", "T_max": 0}, "T_max"),
        ({"name": "cosine", "eta_min": -0.1}, "eta_min"),
        ({"name": "cosine", "eta_min": math.inf}, "eta_min"),
        ({"name": "cosine", "gamma": 0.5}, "gamma"),
        ({"gamma": 0.5}, "gamma"),
    ],
)
def test_invalid_schedule_names_the_field(schedule: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=rf"schedule\.{field}\b"):
        validate_schedule(schedule)
    with pytest.raises(ValueError, match=rf"schedule\.{field}\b"):
        scheduled_lr(0.1, 1, schedule)


@pytest.mark.parametrize(("base_lr", "t"), [(0.1, -1), (0.1, 1.0), (0.1, True), (math.nan, 0)])
def test_scheduled_lr_rejects_bad_arguments(base_lr: float, t: int) -> None:
    with pytest.raises(ValueError, match=r"base_lr|t must"):
        scheduled_lr(base_lr, t, None)


def test_specs_cover_every_schedule_and_defaults_validate() -> None:
    specs = schedule_specs()
    assert set(specs) == set(SCHEDULES) == {"constant", "step", "exponential", "cosine"}
    for name, spec in specs.items():
        assert spec["description"]
        assert spec["formula"]
        defaults = {key: p["default"] for key, p in spec["params"].items()}
        assert validate_schedule({"name": name, **defaults}) == validate_schedule({"name": name})
        for p in spec["params"].values():
            assert set(p) == {"default", "min", "max", "type", "description"}
            assert p["min"] <= p["default"] <= p["max"]


TORCH_SCHEDULES: list[tuple[str, dict[str, Any]]] = [
    ("StepLR", {"name": "step", "step_size": 4, "gamma": 0.3}),
    ("ExponentialLR", {"name": "exponential", "gamma": 0.85}),
    ("CosineAnnealingLR", {"name": "cosine", "T_max": 9, "eta_min": 0.002}),
    ("CosineAnnealingLR", {"name": "cosine", "T_max": 7}),
]


@pytest.mark.parametrize(("torch_name", "schedule"), TORCH_SCHEDULES)
def test_matches_torch_schedulers(torch_name: str, schedule: dict[str, Any]) -> None:
    torch = require_torch()
    base_lr = 0.05
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    kwargs = {k: v for k, v in schedule.items() if k != "name"}
    sched = getattr(torch.optim.lr_scheduler, torch_name)(opt, **kwargs)
    for t in range(25):
        ours = scheduled_lr(base_lr, t, schedule)
        assert ours == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12, abs=1e-15), t
        assert ours == sched._get_closed_form_lr()[0], t  # bit-identical closed form
        opt.step()
        sched.step()


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ({"name": 3}, "schedule.name must be one of constant, step, exponential, cosine; got 3"),
        ({"interval": "batch"}, "schedule.interval must be one of epoch, step; got 'batch'"),
        ({"interval": 3}, "schedule.interval must be one of epoch, step; got 3"),
        ({"b": 1, "a": 2}, "schedule.a is not a field of 'constant' (fields: none)"),
        ({1: 2}, "schedule.1 is not a field of 'constant' (fields: none)"),
        ({"name": "cosine", "gamma": 1, "b": 2},
         "schedule.b is not a field of 'cosine' (fields: T_max, eta_min)"),
        ({"name": "exponential", "gamma": True}, "schedule.gamma must be a number, got True"),
        ({"name": "exponential", "gamma": "0.9"}, "schedule.gamma must be a number, got '0.9'"),
        ({"name": "exponential", "gamma": math.nan}, "schedule.gamma must be finite, got nan"),
        ({"name": "step", "gamma": 0.0}, "schedule.gamma must be in (0, 1], got 0.0"),
        ({"name": "step", "gamma": 1.5}, "schedule.gamma must be in (0, 1], got 1.5"),
        ({"name": "step", "step_size": 2.0}, "schedule.step_size must be an int, got 2.0"),
        ({"name": "step", "step_size": True}, "schedule.step_size must be an int, got True"),
        ({"name": "step", "step_size": 0}, "schedule.step_size must be in [1, 1e+06], got 0"),
        ({"name": "step", "step_size": 10**6 + 1},
         "schedule.step_size must be in [1, 1e+06], got 1000001"),
        ({"name": "cosine", "eta_min": -0.5}, "schedule.eta_min must be in [0, 1e+06], got -0.5"),
    ],
)  # fmt: skip
def test_a_refused_schedule_says_exactly_why(schedule: dict[Any, Any], message: str) -> None:
    """The whole message: the field, the rule and the value (the first unknown field in
    sorted order; a schedule without parameters lists its fields as none)."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        validate_schedule(schedule)


@pytest.mark.parametrize(
    ("base_lr", "t", "message"),
    [
        (0.1, -1, "t must be in [0, inf], got -1"),
        (0.1, 1.0, "t must be an int, got 1.0"),
        (0.1, True, "t must be an int, got True"),
        (math.nan, 0, "base_lr must be finite, got nan"),
        ("0.1", 0, "base_lr must be a number, got '0.1'"),
        (True, 0, "base_lr must be a number, got True"),
    ],
)
def test_scheduled_lr_says_exactly_which_argument_is_wrong(
    base_lr: Any, t: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        scheduled_lr(base_lr, t, None)


def test_each_bound_is_accepted_exactly_when_its_bracket_is_closed() -> None:
    """gamma in (0, 1], step_size and T_max in [1, 1e6], eta_min in [0, 1e6], t >= 0: each
    closed bound itself is a valid value (StepLR with gamma 1 never decays; a cosine with
    eta_min = base_lr stays flat)."""
    assert validate_schedule({"name": "step", "gamma": 1.0, "step_size": 1})["gamma"] == 1.0
    assert validate_schedule({"name": "step", "step_size": 10**6})["step_size"] == 10**6
    assert validate_schedule({"name": "exponential", "gamma": 5e-324})["gamma"] == 5e-324
    cosine = validate_schedule({"name": "cosine", "T_max": 1, "eta_min": 0})
    assert cosine["T_max"] == 1 and cosine["eta_min"] == 0.0
    assert validate_schedule({"name": "cosine", "eta_min": 1e6})["eta_min"] == 1e6
    assert scheduled_lr(0.1, 7, {"name": "step", "gamma": 1.0, "step_size": 1}) == 0.1
    assert scheduled_lr(0.1, 0, {"name": "exponential", "gamma": 0.5}) == 0.1
    assert scheduled_lr(0.1, 3, {"name": "cosine", "eta_min": 0.1}) == pytest.approx(0.1, rel=1e-15)


CATALOG = {  # the chapter's four schedules as documented (torch.optim.lr_scheduler's names)
    "constant": {"description": "Keep the learning rate fixed.", "formula": "base_lr",
                 "params": {}},
    "step": {
        "description": "Multiply by gamma every step_size ticks (StepLR).",
        "formula": "base_lr * gamma ** (t // step_size)",
        "params": {
            "step_size": {"default": 10, "min": 1, "max": 10**6, "type": "int",
                          "description": "Ticks between decays."},
            "gamma": {"default": 0.1, "min": 0.0, "max": 1.0, "type": "float",
                      "description": "Multiplicative decay factor."},
        },
    },
    "exponential": {
        "description": "Multiply by gamma every tick (ExponentialLR).",
        "formula": "base_lr * gamma ** t",
        "params": {"gamma": {"default": 0.95, "min": 0.0, "max": 1.0, "type": "float",
                             "description": "Multiplicative decay factor."}},
    },
    "cosine": {
        "description": "Cosine annealing from base_lr to eta_min over T_max ticks "
                       "(CosineAnnealingLR).",
        "formula": "eta_min + (base_lr - eta_min) * (1 + cos(pi * t / T_max)) / 2",
        "params": {
            "T_max": {"default": 100, "min": 1, "max": 10**6, "type": "int",
                      "description": "Ticks for half a cosine period."},
            "eta_min": {"default": 0.0, "min": 0.0, "max": 1e6, "type": "float",
                        "description": "Learning rate at t = T_max."},
        },
    },
}  # fmt: skip


def test_the_catalog_states_every_schedule_its_formula_and_parameters() -> None:
    specs = schedule_specs()
    assert specs == CATALOG
    assert list(specs) == ["constant", "step", "exponential", "cosine"]
    assert list(specs["step"]["params"]) == ["step_size", "gamma"]
