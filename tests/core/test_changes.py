"""Live changes are checked and normalised before they reach the trainer."""

from __future__ import annotations

import re

import pytest

from gradscape.core.changes import check_change
from gradscape.core.config import build
from gradscape.core.trainer import Trainer


def _state_and_sizes() -> tuple[Trainer, int, int | None]:
    t = Trainer(build({"preset": "moons-mlp"}), 100)
    return t, t.model.n_params, t.n


def test_a_change_comes_back_normalised() -> None:
    t, P, n = _state_and_sizes()
    assert check_change({"batch_size": 200}, t.state, P, n) == {"batch_size": None}
    same = check_change({"optimizer": {"betas": (0.5, 0.9)}}, t.state, P, n)
    assert same == {"optimizer": {"name": "adam", "betas": [0.5, 0.9]}}
    switch = check_change({"optimizer": {"name": "sgd"}}, t.state, P, n)
    assert switch == {"optimizer": {"name": "sgd", "lr": 0.01}}  # a new optimizer keeps the lr


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, "nothing to change"),
        ({"seed": 1}, "seed"),
        ({"lr": 0.1, "optimizer": {"lr": 0.2}}, "lr"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"batch_size": 201}, "batch_size"),
    ],
)
def test_bad_changes_name_the_field(changes: dict, field: str) -> None:
    t, P, n = _state_and_sizes()
    with pytest.raises(ValueError, match=field):
        check_change(changes, t.state, P, n)


KNOWN = "lr, batch_size, optimizer, schedule, clip_norm"


def _sgd_momentum() -> tuple[Trainer, int, int | None]:
    """pass-fail (4 samples, 3 parameters) with SGD at lr 0.1 and momentum 0.9."""
    cfg = {"preset": "pass-fail", "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}}
    t = Trainer(build(cfg), 100)
    return t, t.model.n_params, t.n


def test_every_field_comes_back_checked_and_as_floats() -> None:
    """Each of the five fields alone, and all at once: numbers as floats, the schedule with
    its defaults filled (StepLR: step_size 10, gamma 0.1), a batch size below n kept."""
    t, P, n = _sgd_momentum()
    assert check_change({"lr": 1}, t.state, P, n) == {"lr": 1.0}
    assert type(check_change({"lr": 1}, t.state, P, n)["lr"]) is float
    assert check_change({"batch_size": 3}, t.state, P, n) == {"batch_size": 3}
    assert check_change({"batch_size": None}, t.state, P, n) == {"batch_size": None}
    schedule = {"name": "step", "interval": "epoch", "step_size": 10, "gamma": 0.1}
    assert check_change({"schedule": {"name": "step"}}, t.state, P, n) == {"schedule": schedule}
    assert check_change({"clip_norm": None}, t.state, P, n) == {"clip_norm": None}
    clip = check_change({"clip_norm": 2}, t.state, P, n)
    assert clip == {"clip_norm": 2.0} and type(clip["clip_norm"]) is float
    everything = {
        "lr": 0.5,
        "batch_size": 2,
        "optimizer": {"momentum": 0.5},
        "schedule": {"name": "step"},
        "clip_norm": 3.0,
    }
    assert check_change(everything, t.state, P, n) == {
        "lr": 0.5,
        "batch_size": 2,
        "optimizer": {"name": "sgd", "momentum": 0.5},
        "schedule": schedule,
        "clip_norm": 3.0,
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seed": 1}, f"seed: cannot be changed live; known: {KNOWN}"),
        ({"seed": 1, "alpha": 2, "lr": 0.1}, f"alpha: cannot be changed live; known: {KNOWN}"),
        ({}, f"nothing to change: give one of {KNOWN}"),
        ({"lr": 0}, "lr must be a finite number in (0.0, 1000000.0], got 0"),
        ({"lr": 1e6 + 0.5}, "lr must be a finite number in (0.0, 1000000.0], got 1000000.5"),
        ({"clip_norm": 0}, "clip_norm must be a finite number in (0, 1000000.0], got 0"),
        (
            {"clip_norm": 1e6 + 0.5},
            "clip_norm must be a finite number in (0, 1000000.0], got 1000000.5",
        ),
        ({"batch_size": 5}, "batch_size must be an integer in [1, 4], got 5"),
        ({"optimizer": "sgd"}, "optimizer must be an object (a partial optimizer config)"),
        (
            {"lr": 0.1, "optimizer": {"lr": 0.2}},
            "lr: given twice with different values (top level and optimizer.lr)",
        ),
        ({"schedule": {"name": "linear"}}, "schedule.name must be one of constant, step, "
         "exponential, cosine; got 'linear'"),
    ],
)  # fmt: skip
def test_a_refused_change_says_exactly_why(changes: dict, message: str) -> None:
    t, P, n = _sgd_momentum()
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_change(changes, t.state, P, n)


def test_the_bounds_of_lr_and_clip_norm_are_open_at_zero_and_closed_at_a_million() -> None:
    """(0, 1e6]: the smallest positive numbers and 1e6 itself are accepted, 0.5 too (below
    1, which a bound of 1 would refuse)."""
    t, P, n = _sgd_momentum()
    for value in (5e-324, 0.5, 1e6):
        assert check_change({"lr": value}, t.state, P, n) == {"lr": value}
        assert check_change({"clip_norm": value}, t.state, P, n) == {"clip_norm": value}


def test_an_optimizer_change_is_checked_against_the_one_in_force() -> None:
    """Nesterov needs momentum > 0: allowed with the running SGD's momentum 0.9, refused
    when the same change also sets momentum 0."""
    t, P, n = _sgd_momentum()
    same = check_change({"optimizer": {"nesterov": True}}, t.state, P, n)
    assert same == {"optimizer": {"name": "sgd", "nesterov": True}}
    named = check_change({"optimizer": {"name": "sgd", "dampening": 0.5}}, t.state, P, n)
    assert named == {"optimizer": {"name": "sgd", "dampening": 0.5}}
    with pytest.raises(ValueError, match=r"^optimizer\.nesterov requires momentum > 0"):
        check_change({"optimizer": {"nesterov": True, "momentum": 0.0}}, t.state, P, n)


def test_the_lr_of_an_optimizer_change() -> None:
    """optimizer.lr alone, or equal to the top-level lr, is taken (as a float); a switch to
    a new optimizer takes the top-level lr if given, else the run's base lr (0.1)."""
    t, P, n = _sgd_momentum()
    assert check_change({"optimizer": {"lr": 1}}, t.state, P, n) == {
        "optimizer": {"name": "sgd", "lr": 1.0}
    }
    assert check_change({"lr": 0.2, "optimizer": {"lr": 0.2}}, t.state, P, n) == {
        "lr": 0.2,
        "optimizer": {"name": "sgd", "lr": 0.2},
    }
    assert check_change({"lr": 0.05, "optimizer": {"name": "adam"}}, t.state, P, n) == {
        "lr": 0.05,
        "optimizer": {"name": "adam", "lr": 0.05},
    }
    assert check_change({"optimizer": {"name": "adam", "betas": [0.5, 0.9]}}, t.state, P, n) == {
        "optimizer": {"name": "adam", "betas": [0.5, 0.9], "lr": 0.1}
    }
