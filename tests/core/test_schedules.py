"""Learning-rate schedules against torch's documented closed forms and, if present, torch."""

from __future__ import annotations

import math
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
