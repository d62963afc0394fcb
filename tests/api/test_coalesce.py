"""Merging live changes: the merged change means what applying them in order means."""

from __future__ import annotations

from typing import Any

import pytest

from gradscape.api.coalesce import groups, merge
from gradscape.core.session import TrainingSession


def _in_order(changes: list[dict[str, Any]]) -> dict[str, Any]:
    s = TrainingSession({"preset": "pass-fail"})
    for change in changes:
        s.set(**change)
    return s.settings


def _merged(changes: list[dict[str, Any]]) -> tuple[dict[str, Any], int]:
    s = TrainingSession({"preset": "pass-fail"})
    folded = groups([(c, None) for c in changes])  # type: ignore[misc]
    for change, _ in folded:
        s.set(**change)
    return s.settings, len(folded)


@pytest.mark.parametrize(
    ("changes", "n"),
    [
        ([{"lr": 0.2}, {"lr": 0.3}, {"batch_size": 2}], 1),
        ([{"optimizer": {"lr": 0.2}}, {"lr": 0.4}], 1),
        ([{"lr": 0.4}, {"optimizer": {"lr": 0.2, "momentum": 0.5}}], 1),
        ([{"optimizer": {"name": "adam"}}, {"optimizer": {"betas": [0.8, 0.99]}}], 1),
        ([{"lr": 0.5}, {"optimizer": {"name": "adam"}}, {"lr": 0.01}], 2),
        ([{"optimizer": {"name": "adam", "eps": 1e-6}}, {"optimizer": {"name": "sgd"}}], 2),
    ],
)
def test_merged_changes_equal_applying_them_in_order(changes: list[dict[str, Any]], n: int) -> None:
    settings, count = _merged(changes)
    assert settings == _in_order(changes)
    assert count == n


def test_a_switch_of_optimizer_is_never_folded_into_what_came_before() -> None:
    assert merge({"lr": 0.5}, {"optimizer": {"name": "adam"}}) is None
    assert merge({"lr": 0.5}, {"lr": 0.1, "clip_norm": 1.0}) == {"lr": 0.1, "clip_norm": 1.0}
