"""Snapshots restore a session exactly, without replaying it."""

from __future__ import annotations

import numpy as np
import pytest

from gradscape.core.session import TrainingSession


def _run() -> TrainingSession:
    s = TrainingSession({"preset": "moons-mlp"})
    s.step(230, evaluate=10)
    s.set(lr=0.02, optimizer={"name": "rmsprop", "momentum": 0.5})
    s.step(77)
    return s


def test_restore_is_exact_and_continues_identically() -> None:
    live = _run()
    again = TrainingSession.restore(live.snapshot(), live.config)
    assert again.step_count == live.step_count and again.events == live.events
    np.testing.assert_array_equal(again.params, live.params)
    steps = [0, 50, 123, 230, 306]
    np.testing.assert_array_equal(again.params_at(steps), live.params_at(steps))
    cols = ["epoch", "batch_loss", "grad_norm", "lr", "batch_size", "layer_grad_norms"]
    a, b = again.recorded(0, 308, cols), live.recorded(0, 308, cols)
    for name in cols:
        np.testing.assert_array_equal(a[name], b[name])
    assert again.settings == live.settings
    live.step(40)
    again.step(40)
    np.testing.assert_array_equal(again.params, live.params)


def test_catch_up_replays_later_events_on_a_snapshot() -> None:
    s = TrainingSession({"preset": "line"})
    s.step(20)
    snap = s.snapshot()
    s.set(lr=0.05, batch_size=10)
    s.step(15)
    restored = TrainingSession.restore(snap, s.config)
    restored.catch_up(s.events[len(restored.events) :], s.step_count)
    np.testing.assert_array_equal(restored.params, s.params)
    assert restored.settings == s.settings


def test_a_diverged_run_restores_as_diverged() -> None:
    s = TrainingSession({"preset": "exploding"})
    s.step(50)
    back = TrainingSession.restore(s.snapshot(), s.config)
    assert back.status == "diverged" and back.reason == s.reason


def test_a_snapshot_of_another_config_is_refused() -> None:
    snap = TrainingSession({"preset": "line"}).snapshot()
    with pytest.raises(ValueError, match="snapshot"):
        TrainingSession.restore(snap, {"preset": "crawl"})
