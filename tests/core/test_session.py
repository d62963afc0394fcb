"""TrainingSession: the chapter's run, records, live changes, replay, rewind, divergence."""

from __future__ import annotations

import json
import math
import re
import warnings
from typing import Any

import numpy as np
import pytest

from gradscape.core.config import Limits
from gradscape.core.presets import CHAPTER_WEIGHTS
from gradscape.core.records import RECORD_FIELDS, StepRecord
from gradscape.core.session import TrainingSession

CHAPTER_X = np.array([[5, 7], [3, 4], [8, 6], [2, 3]], dtype=float)
CHAPTER_Y = np.array([1, 0, 1, 0], dtype=float)


def chapter_run() -> tuple[list[float], np.ndarray, float]:
    """The chapter's own code, verbatim in substance (np.random.seed(42), 2000 epochs)."""

    def sigmoid(z: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-z))

    weights = np.random.RandomState(42).randn(2)
    bias = 0.0
    losses = []
    for _ in range(2000):
        pred = sigmoid(CHAPTER_X @ weights + bias)
        p = pred
        losses.append(
            -np.mean(CHAPTER_Y * np.log(p + 1e-9) + (1 - CHAPTER_Y) * np.log(1 - p + 1e-9))
        )
        error = pred - CHAPTER_Y
        weights = weights - 0.1 * (CHAPTER_X.T @ error / len(CHAPTER_X))
        bias -= 0.1 * np.mean(error)
    return losses, weights, bias


def _assert_chapter_update(update: Any, k: int) -> None:
    """``update`` (``last_update()``) is the chapter's k-th epoch at lr 0.1: theta before and
    after it and its gradient, from the chapter's own loop."""
    from tests.chapter_loop import chapter_loop

    assert update is not None
    prev, now, grad, lr = update
    ref = chapter_loop(k)[k - 1]
    np.testing.assert_allclose(prev, ref.before, rtol=0, atol=1e-12)
    np.testing.assert_allclose(grad, ref.grad, rtol=0, atol=1e-12)
    np.testing.assert_allclose(now, ref.after, rtol=0, atol=1e-12)
    assert lr == 0.1


def test_pass_fail_reproduces_the_chapter() -> None:
    session = TrainingSession({"preset": "pass-fail"})
    session.step(2000, evaluate="none")
    losses = session.trajectory(fields=["loss"])["loss"]
    printed = {0: "0.6330", 500: "0.1919", 1000: "0.1146", 1500: "0.0813"}
    for step, text in printed.items():
        assert f"{losses[step]:.4f}" == text
    ref_losses, ref_w, ref_b = chapter_run()
    np.testing.assert_allclose(losses[:2000], ref_losses, rtol=0, atol=1e-8)
    np.testing.assert_allclose(session.params, [*ref_w, ref_b], rtol=0, atol=1e-9)


def test_empty_config_is_pass_fail() -> None:
    a, b = TrainingSession(), TrainingSession({"preset": "pass-fail"})
    np.testing.assert_array_equal(a.params, [0.4967141530112327, -0.13826430117118466, 0.0])
    assert a.config == {**b.config, "preset": None}


def test_step_records_follow_the_design() -> None:
    session = TrainingSession({"preset": "moons-mlp"})
    records = session.step(3, evaluate="all")
    assert [r.step for r in records] == [1, 2, 3]
    first = records[0]
    assert first.lr == 0.01
    assert first.batch_size == 32
    assert first.epoch == pytest.approx(32 / 200)
    assert first.loss is not None and first.accuracy is not None
    assert first.layer_grad_norms is not None and len(first.layer_grad_norms) == 3
    assert math.sqrt(sum(v * v for v in first.layer_grad_norms)) == pytest.approx(first.grad_norm)
    zero = session.trajectory(stop=1, fields=["batch_loss", "grad_norm", "loss"])
    assert np.isnan(zero["batch_loss"][0]) and np.isnan(zero["grad_norm"][0])
    assert np.isfinite(zero["loss"][0])
    d = first.to_dict()
    assert set(d) >= {"step", "epoch", "loss", "accuracy", "batch_loss", "grad_norm", "lr"}


def test_record_loss_and_grad_match_the_model() -> None:
    session = TrainingSession({"preset": "moons-mlp", "batch_size": 16})
    session.step(30, evaluate="none")
    k = 17
    traj = session.trajectory(fields=["loss", "params", "grad", "batch_loss"])
    ds = session.dataset
    assert ds is not None
    assert traj["loss"][k] == pytest.approx(
        session.model.loss(traj["params"][k], ds.X, ds.y), rel=1e-13
    )
    Xb, yb, theta = session.batch_at(k)
    np.testing.assert_array_equal(theta, traj["params"][k - 1])
    batch_loss, grad = session.model.loss_and_grad(theta, Xb, yb)
    assert batch_loss == traj["batch_loss"][k]
    np.testing.assert_array_equal(grad, traj["grad"][k])


def test_epochs_visit_every_sample_once() -> None:
    session = TrainingSession({"preset": "moons-mlp", "batch_size": 32})
    ds = session.dataset
    assert ds is not None
    steps_per_epoch = math.ceil(200 / 32)
    session.step(2 * steps_per_epoch, evaluate="none")
    rows = [session.batch_at(k)[1] for k in range(1, steps_per_epoch + 1)]
    assert sum(len(r) for r in rows if r is not None) == 200
    epochs = session.trajectory(fields=["epoch"])["epoch"]
    assert epochs[steps_per_epoch] == 1.0 and epochs[2 * steps_per_epoch] == 2.0
    a = session.batch_at(1)[0]
    b = session.batch_at(steps_per_epoch + 1)[0]
    assert a is not None and b is not None and not np.array_equal(a, b)  # reshuffled


def test_same_config_same_trajectory_different_seed_different() -> None:
    a = TrainingSession({"preset": "moons-mlp"})
    b = TrainingSession({"preset": "moons-mlp"})
    c = TrainingSession({"preset": "moons-mlp", "seed": 1})
    for s in (a, b, c):
        s.step(120, evaluate="none")
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def _with_changes(checkpoint_every: int = 100) -> TrainingSession:
    s = TrainingSession({"preset": "moons-mlp"}, checkpoint_every=checkpoint_every)
    s.step(150, evaluate="none")
    s.set(lr=0.05, batch_size=8)
    s.step(77, evaluate="none")
    s.set(optimizer={"name": "sgd", "momentum": 0.9, "nesterov": True})
    s.step(60, evaluate="none")
    s.set(batch_size=None, schedule={"name": "step", "step_size": 5, "gamma": 0.5})
    s.step(13, evaluate="none")
    return s


def test_replay_of_config_and_events_is_bit_identical() -> None:
    live = _with_changes()
    again = TrainingSession.replay(live.config, live.events, live.step_count)
    np.testing.assert_array_equal(again.params, live.params)
    steps = np.arange(0, live.step_count + 1, 7)
    np.testing.assert_array_equal(again.params_at(steps), live.params_at(steps))
    fine = _with_changes(checkpoint_every=1)
    np.testing.assert_array_equal(fine.params_at(steps), live.params_at(steps))
    np.testing.assert_array_equal(fine.grads_at(steps[1:]), live.grads_at(steps[1:]))


def test_rewind_then_continue_equals_replaying_the_remaining_events() -> None:
    live = _with_changes()
    target = live.params_at([200])[0]
    live.rewind(200)
    assert live.step_count == 200
    np.testing.assert_array_equal(live.params, target)
    assert [s for s, _ in live.events] == [150]
    assert live.settings["lr"] == 0.05 and live.settings["batch_size"] == 8
    live.step(50, evaluate="none")
    ref = TrainingSession({"preset": "moons-mlp"})
    ref.step(150, evaluate="none")
    ref.set(lr=0.05, batch_size=8)
    ref.step(100, evaluate="none")
    np.testing.assert_array_equal(live.params, ref.params)


def test_live_changes_apply_from_the_next_step() -> None:
    s = TrainingSession({"preset": "line"})
    s.step(5)
    s.set(lr=0.02)
    rec = s.step(1)[0]
    assert rec.lr == 0.02
    before = s.trajectory(fields=["lr"])["lr"]
    assert list(before[1:6]) == [0.1] * 5


def test_switching_optimizer_keeps_lr_and_starts_fresh_state() -> None:
    s = TrainingSession(
        {"preset": "line", "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9}}
    )
    s.step(10)
    s.set(optimizer={"name": "adam"})
    assert s.settings["optimizer"]["name"] == "adam"
    assert s.settings["lr"] == 0.05
    theta = s.params
    _, grad = s.model.loss_and_grad(theta, s.dataset.X, s.dataset.y)  # type: ignore[union-attr]
    s.step(1)
    # Adam's first step with fresh state moves each parameter by lr * sign(grad) (to ~1e-6).
    np.testing.assert_allclose(s.params, theta - 0.05 * np.sign(grad), rtol=1e-6)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"lr": float("nan")}, "lr"),
        ({"lr": float("inf")}, "lr"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"lr": 2e6}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 51}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"optimizer": {"name": "lbfgs"}}, "optimizer.name"),
        ({"optimizer": {"momentum": 1.5}}, "optimizer.momentum"),
        ({"optimizer": {"bogus": 1}}, "optimizer.bogus"),
        ({"epochs": 3}, "epochs"),
        ({}, "nothing to change"),
        ({"lr": 0.5, "batch_size": -3}, "batch_size"),
    ],
)
def test_bad_live_changes_raise_and_change_nothing(changes: dict, field: str) -> None:
    s = TrainingSession({"preset": "line"})
    s.step(3)
    before = (s.settings, s.events, s.params)
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        s.set(**changes)
    assert (s.settings, s.events) == before[:2]
    np.testing.assert_array_equal(s.params, before[2])


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"preset": "nope"}, "preset"),
        ({"loss": "hinge"}, "loss"),
        ({"optimizer": {"name": "sgdd"}}, "optimizer.name"),
        ({"optimizer": {"lr": float("nan")}}, "optimizer.lr"),
        ({"optimizer": {"lr": 0}}, "optimizer.lr"),
        ({"optimizer": {"lr": 1e7}}, "optimizer.lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 5}, "batch_size"),
        ({"init_params": [1.0, 2.0]}, "init_params"),
        ({"init_params": [1.0, float("inf"), 0.0]}, r"init_params\[1\]"),
        ({"model": {"hidden": [4], "activation": "swish"}}, "model.activation"),
        ({"model": {"hidden": [0]}}, r"model.hidden\[0\]"),
        ({"model": {"function": "sphere"}}, "model.function"),
        ({"data": {"name": "moonz"}}, "data"),
        ({"seed": -1}, "seed"),
        ({"colour": "red"}, "colour"),
        ({"preset": "moons-mlp", "loss": "cross_entropy", "data": {"name": "line"}}, "loss"),
    ],
)
def test_bad_configs_raise_naming_the_field(config: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        TrainingSession(config)


def test_divergence_is_a_state_at_the_last_finite_point() -> None:
    s = TrainingSession({"preset": "line", "optimizer": {"lr": 1e6}})
    records = s.step(200)
    assert s.status == "diverged"
    assert s.reason is not None and "non-finite" in s.reason
    assert s.step_count < 60
    assert len(records) == s.step_count
    traj = s.trajectory(fields=["loss", "params"])
    assert np.isfinite(traj["loss"]).all() and np.isfinite(traj["params"]).all()
    assert len(s.step(5)) == 0  # a diverged run stays put
    s.rewind(3)
    assert s.status == "active"
    s.set(lr=0.1)
    s.step(10)
    assert s.status == "active"


def test_diverged_run_replays_identically() -> None:
    s = TrainingSession({"preset": "exploding"})
    s.step(100, evaluate="none")
    assert s.status == "diverged"
    again = TrainingSession.replay(s.config, s.events, 100)
    assert again.status == "diverged" and again.step_count == s.step_count
    np.testing.assert_array_equal(again.params, s.params)


def test_reset_keeps_the_settings_in_force() -> None:
    s = TrainingSession({"preset": "line"})
    theta0 = s.params
    s.step(20)
    s.set(lr=0.03)
    s.reset()
    assert s.step_count == 0 and s.events == []
    assert s.settings["lr"] == 0.03
    np.testing.assert_array_equal(s.params, theta0)


def test_analytic_surface_sessions() -> None:
    s = TrainingSession({"preset": "rosenbrock"})
    assert s.n_samples is None and s.model.n_params == 2
    records = s.step(500)
    assert records[-1].batch_size is None
    traj = s.trajectory(fields=["loss", "batch_loss"])
    np.testing.assert_array_equal(traj["loss"][:-1], traj["batch_loss"][1:])
    with pytest.raises(ValueError, match="batch_size"):
        s.set(batch_size=4)
    with pytest.raises(ValueError, match="backprop"):
        s.backprop()


def test_schedule_and_clipping() -> None:
    s = TrainingSession(
        {
            "preset": "line",
            "schedule": {"name": "step", "step_size": 10, "gamma": 0.5},
            "clip_norm": 0.5,
        }
    )
    records = s.step(25)
    assert [records[i].lr for i in (0, 9, 10, 19, 20)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    traj = s.trajectory(fields=["params", "grad_norm"])
    moved = np.linalg.norm(traj["params"][1] - traj["params"][0])
    assert traj["grad_norm"][1] > 0.5  # the raw gradient is recorded
    assert moved == pytest.approx(0.1 * 0.5 / (1 + 2e-6), rel=1e-5)  # the update was clipped


def test_validation_split_losses() -> None:
    s = TrainingSession({"preset": "moons-mlp", "data": {"validation_split": 0.25}})
    assert s.n_samples == 150
    s.step(50, evaluate="all")
    traj = s.trajectory(fields=["val_loss", "val_accuracy"])
    assert np.isfinite(traj["val_loss"]).all() and np.isfinite(traj["val_accuracy"]).all()


def test_trajectory_slices_like_python() -> None:
    s = TrainingSession({"preset": "line"})
    s.step(30)
    t = s.trajectory(start=5, stop=-3, every=4, fields=["step", "loss", "params"])
    np.testing.assert_array_equal(t["step"], np.arange(31)[5:-3:4])
    assert t["params"].shape == (len(t["step"]), 2)
    with pytest.raises(ValueError, match="fields"):
        s.trajectory(fields=["nope"])
    with pytest.raises(ValueError, match="every"):
        s.trajectory(every=0)


def test_memory_stays_bounded_for_a_long_run() -> None:
    s = TrainingSession(
        {
            "preset": "moons-mlp",
            "data": {"n_samples": 512},
            "optimizer": {"name": "sgd", "lr": 0.05},
        }
    )
    s.step(20_000, evaluate="none")
    per_step = s.memory_bytes() / 20_000
    assert per_step * 100_000 < 50e6


def test_backprop_trace_is_the_chain_rule() -> None:
    s = TrainingSession({"preset": "pass-fail"})
    s.step(3)
    tr = s.backprop(2)
    Xb, yb, theta = s.batch_at(2)
    _, grad = s.model.loss_and_grad(theta, Xb, yb)
    np.testing.assert_allclose(tr.gradient, grad, rtol=1e-13)
    out = tr.layers[-1]
    # dL/dw = dL/da * da/dz * dz/dw, summed over the batch.
    chain = (out.dloss_da * out.slope)[:, 0] @ out.inputs
    np.testing.assert_allclose(chain, grad[:2], rtol=1e-10)


def test_vanishing_preset_shows_fading_early_gradients() -> None:
    s = TrainingSession({"preset": "vanishing"})
    s.step(20)
    norms = s.trajectory(fields=["layer_grad_norms"])["layer_grad_norms"][1:]
    assert np.median(norms[:, 0] / norms[:, -1]) < 0.01
    tr = s.backprop()
    deltas = [np.abs(layer.delta).mean() for layer in tr.layers]
    assert deltas[0] < deltas[-2] / 10


def test_step_can_evaluate_every_kth_step_without_replay() -> None:
    s = TrainingSession({"preset": "moons-mlp"})
    s.step(5)
    out = s.step(100, evaluate=10)
    np.testing.assert_array_equal(
        out.captured_steps, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 105]
    )
    np.testing.assert_array_equal(out.captured_params, s.params_at(out.captured_steps))
    losses = out.column("loss")
    assert np.isfinite(losses[np.isin(out.column("step"), out.captured_steps)]).all()
    assert np.isnan(losses[0])  # step 6 was not asked for: still lazy
    with pytest.raises(ValueError, match="evaluate"):
        s.step(1, evaluate=0)


def test_evaluate_none_and_a_call_that_makes_no_step_evaluate_nothing() -> None:
    """``evaluate="none"`` keeps every returned step lazy, and a call that made no update
    (n = 0, or a run that has stopped) has no step to evaluate: nothing is captured and no
    full-data loss is recorded (``recorded`` reads NaN where nobody asked)."""
    s = TrainingSession({"preset": "moons-mlp"})  # batches of 32: no step knows its loss
    out = s.step(5, evaluate="none")
    assert out.captured_steps.tolist() == [] and out.captured_params.size == 0
    assert np.isnan(out.column("loss")).all()
    assert np.isnan(s.recorded(0, 6, ["loss"])["loss"]).all()
    for evaluate in ("last", "all", 2):
        none = s.step(0, evaluate=evaluate)
        assert len(none) == 0 and none.captured_steps.tolist() == []
    assert np.isnan(s.recorded(0, 6, ["loss"])["loss"]).all()
    stopped = TrainingSession({"preset": "line", "optimizer": {"lr": 5.0}})
    while stopped.status != "diverged":
        stopped.step(20_000, evaluate="none")
    T = stopped.step_count
    after = stopped.step(3, evaluate="all")
    assert stopped.step_count == T and len(after) == 0 and after.captured_steps.tolist() == []


def test_last_update_is_the_step_just_taken() -> None:
    s = TrainingSession({"preset": "moons-mlp", "optimizer": {"name": "sgd", "lr": 0.1}})
    assert s.last_update() is None
    s.step(7)
    prev, now, grad, lr = s.last_update()  # type: ignore[misc]
    traj = s.trajectory(start=6, fields=["params", "grad"])
    np.testing.assert_array_equal(prev, traj["params"][0])
    np.testing.assert_array_equal(now, traj["params"][1])
    np.testing.assert_array_equal(grad, traj["grad"][1])
    np.testing.assert_allclose(now, prev - lr * grad, rtol=1e-12)  # plain SGD: the step is -lr g
    s.step(5)
    s.rewind(4)
    again = s.last_update()
    assert again is not None
    np.testing.assert_array_equal(again[0], s.params_at([3])[0])


def test_pass_fail_with_mse_needs_a_sigmoid_output_to_train() -> None:
    identity = TrainingSession({"preset": "pass-fail", "loss": "mse"})
    identity.step(2000, evaluate="none")
    assert identity.status == "diverged" and identity.step_count == 157  # a test fact
    s = TrainingSession({"preset": "pass-fail", "loss": "mse", "model": {"output": "sigmoid"}})
    np.testing.assert_array_equal(s.params, [*CHAPTER_WEIGHTS, 0.0])
    s.step(2000)
    assert s.status == "active" and s.step_count == 2000
    t = s.trajectory(fields=["loss", "accuracy"])
    assert np.isfinite(t["loss"]).all() and np.all(np.diff(t["loss"]) < 0)
    assert t["loss"][-1] < 0.03 and t["loss"][0] > 0.2 and t["accuracy"][-1] == 1.0
    # The loss is the MSE of the sigmoid's prediction, the chapter's formula.
    pred = s.model.predict(s.params, s.dataset.X)[:, 0]
    assert t["loss"][-1] == pytest.approx(np.mean((s.dataset.y - pred) ** 2), rel=1e-12)


def test_a_sigmoid_output_replays_and_restores_bit_for_bit() -> None:
    config = {"preset": "pass-fail", "loss": "mse", "model": {"output": "sigmoid"}}
    live = TrainingSession(config)
    live.step(120, evaluate="none")
    live.set(lr=0.5, optimizer={"name": "adam"})
    live.step(90, evaluate="none")
    stored = json.loads(json.dumps(live.config))
    again = TrainingSession.replay(stored, live.events, live.step_count)
    assert again.config == live.config and again.config["model"]["output"] == "sigmoid"
    np.testing.assert_array_equal(
        again.params_at(range(0, 211, 10)), live.params_at(range(0, 211, 10))
    )
    restored = TrainingSession.restore(live.snapshot(), stored)
    np.testing.assert_array_equal(restored.params, live.params)


def test_every_record_field_is_its_trajectory_column_and_the_chapters_numbers() -> None:
    """Records against the run's own columns and the chapter's loop; to_dict is JSON-safe
    (non-finite becomes None) and a slice of Steps is the same records."""
    from tests.chapter_loop import chapter_loop

    s = TrainingSession({"preset": "pass-fail", "data": {"validation_split": 0.25}})
    records = s.step(6, evaluate="all")
    cols = s.trajectory(start=1, fields=[*RECORD_FIELDS])
    for i, r in enumerate(records):
        for name in ("loss", "accuracy", "batch_loss", "grad_norm", "val_loss", "val_accuracy"):
            assert getattr(r, name) == cols[name][i], name
        assert r.layer_grad_norms == tuple(cols["layer_grad_norms"][i])
        assert (r.lr, r.batch_size, r.epoch) == (0.1, 3, i + 1.0)
    assert [r.to_dict() for r in records[2:4]] == [records[2].to_dict(), records[3].to_dict()]
    assert records[1:3][0].to_dict() == records[1].to_dict()
    full = TrainingSession({"preset": "pass-fail"})
    loop = chapter_loop(3)
    for r, ref in zip(full.step(3, evaluate="all"), loop, strict=True):
        assert r.batch_loss == pytest.approx(ref.loss, abs=3e-9)  # the loop adds 1e-9
        assert r.grad_norm == pytest.approx(float(np.linalg.norm(ref.grad)), rel=1e-12)
        assert r.val_loss is None and r.val_accuracy is None
    d = records[0].to_dict()
    assert d["val_loss"] == cols["val_loss"][0] and isinstance(d["layer_grad_norms"], list)
    odd = StepRecord(3, 1.0, math.inf, None, math.nan, 2.0, (1.0, math.inf), 0.1, None,
                     params=np.array([1.0, -math.inf]), grad=np.array([math.nan]))  # fmt: skip
    assert odd.to_dict() == {
        "step": 3, "epoch": 1.0, "loss": None, "accuracy": None, "batch_loss": None,
        "grad_norm": 2.0, "layer_grad_norms": [1.0, None], "lr": 0.1, "batch_size": None,
        "val_loss": None, "val_accuracy": None, "params": [1.0, None], "grad": [None],
    }  # fmt: skip
    json.dumps(odd.to_dict(), allow_nan=False)


def test_reset_keeps_the_batch_size_schedule_clipping_and_limits_in_force() -> None:
    """After reset the run is the one its settings describe from step 0 (the reference: a
    fresh session built with them), with the same limits on what it keeps."""
    limits = Limits(checkpoint_bytes=40_000)
    s = TrainingSession({"preset": "moons-mlp"}, limits=limits)
    s.step(40, evaluate="none")
    schedule = {"name": "step", "step_size": 5, "gamma": 0.5}
    s.set(batch_size=8, clip_norm=0.5, schedule=schedule, lr=0.05)
    s.step(10, evaluate="none")
    s.reset()
    s.step(300, evaluate="none")
    config = {"preset": "moons-mlp", "batch_size": 8, "clip_norm": 0.5, "schedule": schedule,
              "optimizer": {"lr": 0.05}}  # fmt: skip
    fresh = TrainingSession(config, limits=limits)
    fresh.step(300, evaluate="none")
    np.testing.assert_array_equal(s.params, fresh.params)
    assert s.settings == fresh.settings
    assert s.memory_bytes() == fresh.memory_bytes()


def test_the_last_update_is_the_same_rebuilt_after_a_rewind() -> None:
    s = TrainingSession({"preset": "pass-fail"})
    s.step(9)
    live = s.last_update()
    s.rewind(5)
    assert s.last_update() is not None
    s.step(4)
    _assert_chapter_update(s.last_update(), 9)
    s.rewind(9)  # back to a step already made: rebuilt from checkpoints
    again = s.last_update()
    assert again is not None and live is not None
    for a, b in zip(again, live, strict=True):
        np.testing.assert_array_equal(a, b)
    s.rewind(0)
    assert s.last_update() is None


@pytest.mark.parametrize("every", [0, 100_001, True, -5])
def test_checkpoint_every_is_an_integer_from_1_to_100000(every: object) -> None:
    with pytest.raises(ValueError, match=r"^checkpoint_every must be an integer in \[1, 100000\]$"):
        TrainingSession({"preset": "line"}, checkpoint_every=every)  # type: ignore[arg-type]
    TrainingSession({"preset": "line"}, checkpoint_every=100_000)


def test_step_zero_records_the_batch_size_and_steps_outside_the_run_are_refused() -> None:
    s = TrainingSession({"preset": "moons-mlp"})
    s.step(3, evaluate="none")
    assert s.trajectory(fields=["batch_size"])["batch_size"].tolist() == [32, 32, 32, 32]
    with pytest.raises(ValueError, match=r"^steps must be in \[0, 3\]$"):
        s.params_at([4])
    with pytest.raises(ValueError, match=r"^steps must be in \[0, 3\]$"):
        s.evaluate([-1])


def test_steps_are_a_frozen_copy_of_the_columns_they_were_given() -> None:
    from gradscape.core.records import Steps

    s = TrainingSession({"preset": "line"})
    records = s.step(4, evaluate="all")
    cols = {name: records.column(name) for name in ("step", "loss")}
    again = Steps({k: v.copy() for k, v in cols.items()})
    source = {k: v.copy() for k, v in cols.items()}
    frozen = Steps(source)
    source["loss"][:] = -1.0  # the caller's arrays change afterwards ...
    np.testing.assert_array_equal(frozen.column("loss"), again.column("loss"))  # ... not these
    assert frozen.captured_steps.dtype == np.int64 and frozen.captured_steps.size == 0
    with pytest.raises(ValueError, match="read-only"):
        frozen.column("loss")[0] = 0.0


def test_a_per_epoch_schedule_changes_lr_only_at_epoch_boundaries() -> None:
    """interval "epoch" (the default, as torch's schedulers are stepped once per epoch):
    200 samples in batches of 32 are 7 steps an epoch, so lr halves every 7 steps."""
    s = TrainingSession({"preset": "moons-mlp", "optimizer": {"name": "sgd", "lr": 0.01},
                         "schedule": {"name": "step", "step_size": 1, "gamma": 0.5}})  # fmt: skip
    s.step(21, evaluate="none")
    lr = s.trajectory(start=1, fields=["lr"])["lr"]
    np.testing.assert_allclose(lr, [0.01 * 0.5 ** ((k - 1) // 7) for k in range(1, 22)])


def test_steps_may_be_any_iterable_of_ints() -> None:
    s = TrainingSession({"preset": "line"})
    s.step(4, evaluate="none")
    want = s.params_at([0, 2, 4])
    np.testing.assert_array_equal(s.params_at(k for k in (0, 2, 4)), want)
    np.testing.assert_array_equal(s.params_at(range(0, 5, 2)), want)
    np.testing.assert_array_equal(s.params_at(np.array([0, 2, 4])), want)


KNOWN_FIELDS = (
    "step, epoch, loss, accuracy, batch_loss, grad_norm, layer_grad_norms, lr, batch_size, "
    "val_loss, val_accuracy, params, grad"
)


def test_session_refusals_by_their_whole_message() -> None:
    s = TrainingSession({"preset": "line"})
    s.step(3)
    evaluate = "evaluate must be 'last', 'all', 'none' or an int >= 1, got "
    refusals = [
        (lambda: s.step(-1), "steps must be a non-negative integer, got -1"),
        (lambda: s.step(True), "steps must be a non-negative integer, got True"),
        (lambda: s.step(2.0), "steps must be a non-negative integer, got 2.0"),  # type: ignore[arg-type]
        (lambda: s.step(1, evaluate=0), evaluate + "0"),
        (lambda: s.step(1, evaluate=True), evaluate + "True"),
        (lambda: s.step(1, evaluate="Last"), evaluate + "'Last'"),
        (lambda: s.step(1, evaluate=1.5), evaluate + "1.5"),  # type: ignore[arg-type]
        (lambda: s.trajectory(every=0), "every must be a positive integer, got 0"),
        (lambda: s.trajectory(every=True), "every must be a positive integer, got True"),
        (lambda: s.trajectory(every=2.0), "every must be a positive integer, got 2.0"),  # type: ignore[arg-type]
        (lambda: s.trajectory(fields=["loss", "nope", "nah"]),
         f"fields: unknown field 'nope'; known: {KNOWN_FIELDS}"),
        (lambda: s.rewind(4), "step must be an integer in [0, 3], got 4"),
        (lambda: s.rewind(-1), "step must be an integer in [0, 3], got -1"),
        (lambda: s.rewind(True), "step must be an integer in [0, 3], got True"),
        (lambda: s.rewind(1.0), "step must be an integer in [0, 3], got 1.0"),  # type: ignore[arg-type]
        (lambda: s.batch_at(0), "step must be an integer in [1, 4], got 0"),
        (lambda: s.batch_at(5), "step must be an integer in [1, 4], got 5"),
        (lambda: s.batch_at(True), "step must be an integer in [1, 4], got True"),
        (lambda: s.batch_at(1.0), "step must be an integer in [1, 4], got 1.0"),  # type: ignore[arg-type]
        (lambda: s.update_at(0), "step must be an integer in [1, 3], got 0"),
        (lambda: s.update_at(4), "step must be an integer in [1, 3], got 4"),
        (lambda: s.update_at(True), "step must be an integer in [1, 3], got True"),
        (lambda: s.update_at(1.0), "step must be an integer in [1, 3], got 1.0"),  # type: ignore[arg-type]
        (lambda: s.grads_at([4]), "steps must be in [0, 3]"),
        (lambda: s.params_at([0, -1]), "steps must be in [0, 3]"),
        # an event before the step the run is at cannot be applied there
        (lambda: s.catch_up([(1, {"lr": 0.2})], 5),
         "events: an event at step 1 is past where the run stopped"),
    ]  # fmt: skip
    for call, message in refusals:
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            call()
    assert s.step_count == 3 and s.events == []


def test_the_edges_of_each_step_range_are_accepted() -> None:
    s = TrainingSession({"preset": "line"})
    assert len(s.step(0)) == 0 and s.step_count == 0
    assert [r.step for r in s.step(3, evaluate=1)] == [1, 2, 3]
    assert len(s.trajectory(every=1)["step"]) == 4
    Xb, yb, theta = s.batch_at(4)  # the next step's batch, from theta_3
    np.testing.assert_array_equal(theta, s.params)
    assert Xb is not None and yb is not None and len(yb) == 50  # line: 50 rows, full batch
    np.testing.assert_array_equal(s.batch_at(1)[2], s.params_at([0])[0])
    assert s.update_at(3).step == 3 and s.update_at(1).step == 1
    s.rewind(3)
    assert s.step_count == 3
    s.rewind(0)
    assert s.step_count == 0


def test_backprop_defaults_to_the_last_step_or_the_first_at_step_zero() -> None:
    """At T = 0 and at T = 1 the default step is 1: the chapter's theta_0 on all four
    rows, prediction sigmoid(X @ w0 + 0) and loss 0.6330 (the chapter's first print)."""
    s = TrainingSession({"preset": "pass-fail"})
    want = 1 / (1 + np.exp(-(CHAPTER_X @ np.asarray(CHAPTER_WEIGHTS))))
    for _ in range(2):
        tr = s.backprop()
        np.testing.assert_allclose(tr.prediction[:, 0], want, rtol=1e-12)
        assert f"{tr.loss:.4f}" == "0.6330"
        s.step(1)
    tr = s.backprop()  # T = 2: step 2, from theta_1
    np.testing.assert_array_equal(tr.prediction, s.backprop(2).prediction)
    assert not np.allclose(tr.prediction[:, 0], want)


def test_an_analytic_surface_has_no_backprop_by_its_whole_message() -> None:
    s = TrainingSession({"preset": "rosenbrock"})
    message = "backprop: an analytic surface has no layers to propagate through"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        s.backprop()


def test_reset_builds_again_under_the_sessions_own_limits() -> None:
    """A model wider than the default limit (256) is allowed by the session's limits;
    reset rebuilds it under those, not the defaults, and starts from the same theta_0."""
    wide = Limits(max_width=512)
    s = TrainingSession({"preset": "pass-fail", "model": {"hidden": [300]}}, limits=wide)
    theta0 = s.params
    s.step(2)
    s.reset()
    assert s.step_count == 0 and s.model.n_params == 2 * 300 + 300 + 300 + 1
    np.testing.assert_array_equal(s.params, theta0)


def test_a_network_batch_without_data_is_an_internal_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard behind backprop: a network's batch always has X and y; were either
    missing it is a RuntimeError, not a trace of nothing."""
    s = TrainingSession({"preset": "pass-fail"})
    for missing in ((None, np.zeros(4)), (np.zeros((4, 2)), None)):
        monkeypatch.setattr(s._trainer, "batch", lambda state, m=missing: (*m, None))
        with pytest.raises(RuntimeError, match=r"^a network session without data$"):
            s.backprop()


def test_recorded_clips_its_range_to_the_run_and_keeps_the_steps() -> None:
    """line is full batch (50 rows) at lr 0.1 throughout: steps 0..3 are all there is."""
    s = TrainingSession({"preset": "line"})
    s.step(3, evaluate="none")
    everything = s.recorded(-2, 10, ["step", "lr", "batch_size"])
    assert set(everything) == {"step", "lr", "batch_size"}
    np.testing.assert_array_equal(everything["step"], [0, 1, 2, 3])
    np.testing.assert_array_equal(everything["lr"], [0.1] * 4)
    np.testing.assert_array_equal(everything["batch_size"], [50.0] * 4)
    middle = s.recorded(1, 3, ["lr"])
    assert set(middle) == {"step", "lr"}
    np.testing.assert_array_equal(middle["step"], [1, 2])
    np.testing.assert_array_equal(middle["lr"], [0.1, 0.1])
    np.testing.assert_array_equal(s.recorded(2, 3, ["step"])["step"], [2])


def test_divergence_steps_back_exactly_one_step_from_a_non_finite_loss() -> None:
    # x = 1e70, w = 1: loss_0 = (1e70)^2 = 1e140 and the gradient 2e140 are finite, but
    # theta_1 = 1 - 0.1 * 2e140 makes loss_1 = (2e139 * 1e70)^2 overflow: back to theta_0
    data = {"X": [[1e70], [1e70]], "y": [0.0, 0.0]}
    s = TrainingSession({"data": data, "loss": "mse", "init_params": [1.0, 0.0]})
    s.step(5)
    assert (s.status, s.reason) == ("diverged", "loss became non-finite at step 1")
    assert s.step_count == 0
    np.testing.assert_array_equal(s.params, [1.0, 0.0])
    # line at lr 1e6: the run stops at the last theta whose own loss is finite and whose
    # next SGD update (theta - lr * grad, worked out here) has a non-finite loss
    s = TrainingSession({"preset": "line", "optimizer": {"lr": 1e6}})
    s.step(200)
    T = s.step_count
    assert s.reason == f"loss became non-finite at step {T + 1}"
    X, y = s.dataset.X, s.dataset.y  # type: ignore[union-attr]
    with np.errstate(over="ignore", invalid="ignore"):
        loss, grad = s.model.loss_and_grad(s.params, X, y)
        assert math.isfinite(loss)
        after, _ = s.model.loss_and_grad(s.params - 1e6 * grad, X, y)
    assert not math.isfinite(after)


def test_set_returns_a_deep_copy_of_the_change_it_logged() -> None:
    s = TrainingSession({"preset": "line"})
    s.step(2)
    change = s.set(optimizer={"name": "adam", "lr": 0.01})
    assert change == {"optimizer": {"name": "adam", "lr": 0.01}}
    change["optimizer"]["lr"] = 5.0  # the caller's copy, not the log
    assert s.events == [(2, {"optimizer": {"name": "adam", "lr": 0.01}})]


def test_trajectory_gives_every_column_but_params_and_grad_and_evaluates_only_what_it_shows() -> (
    None
):
    s = TrainingSession({"preset": "moons-mlp"})
    s.step(3, evaluate="none")
    default = s.trajectory()
    assert list(default) == [
        "step", "epoch", "loss", "accuracy", "batch_loss", "grad_norm", "layer_grad_norms",
        "lr", "batch_size", "val_loss", "val_accuracy",
    ]  # fmt: skip
    s = TrainingSession({"preset": "moons-mlp"})
    s.step(3, evaluate="none")
    s.trajectory(fields=["lr"])  # nothing evaluated: the loss stays unasked for
    assert np.isnan(s.recorded(1, 4, ["loss", "accuracy"])["loss"]).all()
    s.trajectory(fields=["accuracy"])
    seen = s.recorded(0, 4, ["loss", "accuracy"])
    assert np.isnan(seen["loss"][1:]).all() and np.isfinite(seen["accuracy"]).all()


def test_replay_builds_its_session_with_the_options_it_was_given() -> None:
    """``checkpoint_every=10`` reaches the replayed session: a 35-step run keeps the
    states at 0, 10, 20 and 30 (four, far inside the budget), not only step 0."""
    again = TrainingSession.replay({"preset": "line"}, [], 35, checkpoint_every=10)
    assert again.step_count == 35
    assert again.checkpoint_steps == [0, 10, 20, 30]


def test_events_at_one_step_apply_in_their_logged_order_and_steps_in_increasing_order() -> None:
    """Given out of order, events are applied at their own steps; two at step 2 apply in
    the order given, so the later lr (0.05) is the one in force. ``lr`` of step k is the
    rate its update used: line's 0.1 for steps 1-2, 0.05 for 3-4, 0.3 for 5-6."""
    s = TrainingSession({"preset": "line"})
    s.catch_up([(4, {"lr": 0.3}), (2, {"lr": 0.2}), (2, {"lr": 0.05})], 6)
    assert s.step_count == 6
    assert s.events == [(2, {"lr": 0.2}), (2, {"lr": 0.05}), (4, {"lr": 0.3})]
    np.testing.assert_array_equal(
        s.recorded(0, 7, ["lr"])["lr"], [0.1, 0.1, 0.1, 0.05, 0.05, 0.3, 0.3]
    )


def test_catching_up_evaluates_no_full_data_loss() -> None:
    """A replay only trains: neither the step of an event nor the last step has its
    full-data loss or accuracy computed (moons-mlp's batches of 32 never give it away),
    so ``recorded`` reads NaN everywhere until someone asks."""
    s = TrainingSession.replay({"preset": "moons-mlp"}, [(5, {"lr": 0.02})], 12)
    assert s.step_count == 12
    seen = s.recorded(0, 13, ["loss", "accuracy"])
    assert np.isnan(seen["loss"]).all() and np.isnan(seen["accuracy"]).all()


def test_memory_bytes_is_the_history_plus_the_kept_states() -> None:
    """line at step 0: the history's 1024 rows of 9 scalar columns and one layer norm
    (8 * 1024 * 10 bytes) plus the state kept at step 0 (theta of 2 floats, 16 bytes, no
    optimizer buffers yet, and the 512 bytes a state is counted for)."""
    s = TrainingSession({"preset": "line"})
    assert s.memory_bytes() == 8 * 1024 * 10 + 16 + 512


def test_a_zero_dimensional_or_nested_array_of_steps_is_read_flat() -> None:
    """``np.array(3)`` is the one step 3 and a (2, 2) array is its four steps in order:
    line after 3 steps, where theta_3 is the current point."""
    s = TrainingSession({"preset": "line"})
    s.step(3)
    np.testing.assert_array_equal(s.params_at(np.array(3)), [s.params])
    assert np.isnan(s.grads_at(np.array(0))).all() and s.grads_at(np.array(0)).shape == (1, 2)
    nested = s.params_at(np.array([[3, 3], [3, 3]]))
    np.testing.assert_array_equal(nested, [s.params] * 4)


def _line_mse(theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """line's loss by hand: the mean squared residual of w x + b."""
    w, b = theta
    return float(np.mean((w * X[:, 0] + b - y) ** 2))


def test_a_restored_session_rebuilds_its_last_update() -> None:
    """A session restored from a snapshot has no live update in hand: ``last_update``
    rebuilds it, the chapter's sixth epoch (theta before and after it and its gradient)."""
    s = TrainingSession({"preset": "pass-fail"})
    s.step(6)
    r = TrainingSession.restore(s.snapshot(), s.config)
    _assert_chapter_update(r.last_update(), 6)


def test_step_zero_is_at_epoch_zero() -> None:
    """Before any update no sample has been seen: step 0 records epoch 0.0."""
    s = TrainingSession({"preset": "moons-mlp"})
    assert s.recorded(0, 1, ["epoch"])["epoch"].tolist() == [0.0]
    s.step(1)
    assert s.recorded(0, 2, ["epoch"])["epoch"].tolist() == [0.0, 32 / 200]


def test_step_makes_one_update_by_default() -> None:
    s = TrainingSession({"preset": "line"})
    out = s.step()
    assert s.step_count == 1 and [r.step for r in out] == [1]


def test_a_diverged_run_makes_no_update_even_after_a_change_that_would_let_it() -> None:
    """line at lr 5 diverges; lowering lr to 0.01 afterwards does not restart it (only a
    rewind or reset does): later calls make no update and return no step."""
    s = TrainingSession({"preset": "line", "optimizer": {"lr": 5.0}})
    while s.status != "diverged":
        s.step(1000, evaluate="none")
    T, theta = s.step_count, s.params
    s.set(lr=0.01)
    assert len(s.step(5)) == 0
    assert s.step_count == T and s.status == "diverged"
    np.testing.assert_array_equal(s.params, theta)


def test_parameters_that_become_nan_end_the_run_without_a_floating_point_warning() -> None:
    """pass-fail under SGD with lr 3 and weight decay 1: theta is multiplied by about
    1 - 3 = -2 a step, and the loss (linear in theta for large logits) stays finite past
    |theta| = 1.8e305. Switched there to RMSprop with weight decay 1000, the decayed
    gradient overflows (1000 * 1.8e305 > 1.8e308) and the update is inf / inf: NaN. The
    run stops there as diverged, and the overflow and the invalid operation warn nothing."""
    s = TrainingSession({"preset": "pass-fail", "optimizer": {"lr": 3.0, "weight_decay": 1.0}})
    while np.abs(s.params).max() < 1.8e305:
        s.step(1, evaluate="none")
        assert s.status == "active"
    T, theta = s.step_count, s.params
    s.set(optimizer={"name": "rmsprop", "weight_decay": 1000.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step(1, evaluate="none")
    assert s.status == "diverged" and s.reason == f"parameters became non-finite at step {T + 1}"
    assert s.step_count == T
    np.testing.assert_array_equal(s.params, theta)


def test_go_on_is_asked_after_each_update_and_no_stops_the_run() -> None:
    """Asked for 10 steps, a ``go_on`` that says yes twice then no gets three updates."""
    s = TrainingSession({"preset": "line"})
    asked: list[int] = []

    def go_on() -> bool:
        asked.append(s.step_count)
        return len(asked) < 3

    out = s.step(10, go_on=go_on)
    assert asked == [1, 2, 3] and s.step_count == 3 and len(out) == 3


def test_every_kth_capture_adds_the_last_step_once() -> None:
    """``evaluate=3`` captures 3, 6, ... and the last step, which is not captured twice."""
    a = TrainingSession({"preset": "line"})
    assert a.step(5, evaluate=3).captured_steps.tolist() == [3, 5]
    b = TrainingSession({"preset": "line"})
    assert b.step(6, evaluate=3).captured_steps.tolist() == [3, 6]
    assert b.step(7, evaluate=3).captured_steps.tolist() == [9, 12, 13]


def test_the_last_update_of_a_live_step_is_kept_not_replayed() -> None:
    """After live steps ``last_update`` is the update just made, read without a replay:
    line's memory stays the history (8 * 1024 * 10 bytes) and the state at 0 (528 bytes).
    Plain SGD at lr 0.1: theta_T = theta_{T-1} - 0.1 g, g the MSE gradient at theta_{T-1}."""
    s = TrainingSession({"preset": "line"})
    s.step(5)
    prev, now, grad, lr = s.last_update()  # type: ignore[misc]
    assert s.memory_bytes() == 8 * 1024 * 10 + 528
    assert s.dataset is not None
    x, y = s.dataset.X[:, 0], s.dataset.y
    r = prev[0] * x + prev[1] - y
    np.testing.assert_allclose(grad, [2 * np.mean(r * x), 2 * np.mean(r)], rtol=1e-12)
    np.testing.assert_allclose(now, prev - 0.1 * grad, rtol=1e-12)
    assert lr == 0.1


def test_a_full_batch_step_records_the_loss_of_the_point_it_started_from() -> None:
    """line trains on all 50 rows: step k's batch loss is the full-data loss at
    theta_{k-1}, recorded without evaluating anything; theta_3's is not known yet."""
    s = TrainingSession({"preset": "line"})
    s.step(3, evaluate="none")
    assert s.dataset is not None
    loss = s.recorded(0, 4, ["loss"])["loss"]
    thetas = s.params_at([0, 1, 2])
    want = [_line_mse(theta, s.dataset.X, s.dataset.y) for theta in thetas]
    np.testing.assert_allclose(loss[:3], want, rtol=1e-12)
    assert math.isnan(loss[3])


def test_evaluating_the_steps_just_made_replays_nothing() -> None:
    """``evaluate="all"`` scores the parameters captured on the way: moons-mlp's memory
    after 5 steps is its history (8 * 1024 * (9 columns + 3 layers)) and the state at 0
    (337 parameters: 8 * 337 + 512), with no replayed segment."""
    s = TrainingSession({"preset": "moons-mlp"})
    out = s.step(5, evaluate="all")
    assert np.isfinite(out.column("loss")).all() and np.isfinite(out.column("accuracy")).all()
    assert s.memory_bytes() == 8 * 1024 * 12 + 8 * 337 + 512


def test_a_regression_evaluates_its_validation_loss_and_has_no_accuracy() -> None:
    """line with a fifth held out: accuracy is not a field of a regression (NaN, never
    evaluated) but the validation loss after it is, the MSE on the held-out rows."""
    s = TrainingSession({"preset": "line", "data": {"validation_split": 0.2}})
    s.step(3, evaluate="all")
    ds = s.dataset
    assert ds is not None and ds.X_val is not None and ds.y_val is not None
    got = s.recorded(1, 4, ["accuracy", "val_loss"])
    assert np.isnan(got["accuracy"]).all()
    want = [_line_mse(theta, ds.X_val, ds.y_val) for theta in s.params_at([1, 2, 3])]
    np.testing.assert_allclose(got["val_loss"], want, rtol=1e-12)
