"""Live changes are checked and normalised before they reach the trainer."""

from __future__ import annotations

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
