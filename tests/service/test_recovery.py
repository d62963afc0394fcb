"""Recovery of a diverged run, against references: the Hessian written out by hand, the
history's own numbers, and the run itself trained on after the fix."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pytest

from gradscape.service import cost
from gradscape.service.errors import ConflictError
from gradscape.service.live import Budgets, LiveRun
from gradscape.service.recovery import (
    Climb,
    climb,
    climb_start,
    diagnose,
    number,
    recovery,
    smoothed,
    two_figures,
)


def _diverged(config: dict[str, Any], budgets: Budgets | None = None) -> LiveRun:
    run = LiveRun.create(config, budgets)
    while run.status != "diverged":
        run.step(20_000, evaluate="none")
    return run


def _raised(config: dict[str, Any], steps: int, lr: float, **kw: Any) -> LiveRun:
    """``steps`` good steps, then the lr raised live, then on to the divergence."""
    run = LiveRun.create(config, **kw)
    run.step(steps, evaluate="none")
    assert run.status == "paused"
    run.set({"lr": lr})
    while run.status != "diverged":
        run.step(20_000, evaluate="none")
    return run


def _mse_hessian(run: LiveRun) -> np.ndarray:
    """Linear regression's Hessian by hand: L = mean((w x + b - y)^2), H = (2 / n) A^T A."""
    ds = run.session.dataset
    assert ds is not None
    A = np.column_stack([ds.X[:, 0], np.ones(ds.n_samples)])
    return 2.0 / ds.n_samples * A.T @ A


def _train_on(run: LiveRun, out: dict[str, Any], steps: int) -> np.ndarray:
    """Rewind, send the fix as a live change, train on: the full-data losses after."""
    run.rewind(out["rewind_to"])
    run.set(out["fix"])
    run.step(steps, evaluate="none")
    k = out["rewind_to"]
    return run.session.trajectory(start=k + 1, fields=["loss"])["loss"]


# -- learning rate too large -------------------------------------------------------------


def test_line_at_lr_5_lowers_the_lr_below_two_over_lambda_max() -> None:
    run = _diverged({"preset": "line", "optimizer": {"lr": 5.0}})
    out = recovery(run)
    lam = float(np.linalg.eigvalsh(_mse_hessian(run))[-1])
    assert out["cause"] == "learning_rate"
    assert out["rewind_to"] == 0  # it climbed from the first step
    assert out["lambda_max"] == pytest.approx(lam, rel=1e-6)
    assert out["lr_limit"] == pytest.approx(2.0 / lam, rel=1e-6)
    assert out["fix"] == {"lr": 0.49}  # 0.5 x 2 / 2.0087, two figures, down
    assert out["lr"] == 5.0 and out["fix"]["lr"] < out["lr_limit"]
    ds = run.session.dataset
    assert ds is not None
    start = np.array([-1.5, -1.0])  # the preset's init_params (w, b)
    assert out["loss_at"] == pytest.approx(np.mean((ds.X[:, 0] * start[0] + start[1] - ds.y) ** 2))
    assert "0.49" in out["message"] and "0.996" in out["message"] and "step 0" in out["message"]
    losses = _train_on(run, out, 300)
    assert run.status == "paused" and run.session.settings["lr"] == 0.49
    assert np.isfinite(losses).all() and losses[-1] < out["loss_at"]


@pytest.mark.parametrize("preset", ["line", "crawl", "overshoot", "minibatch-noise"])
def test_every_regression_preset_at_lr_5_is_the_learning_rate(preset: str) -> None:
    run = _diverged({"preset": preset, "optimizer": {"lr": 5.0}})
    out = recovery(run)
    lam = float(np.linalg.eigvalsh(_mse_hessian(run))[-1])
    assert out["cause"] == "learning_rate" and out["lr"] == 5.0
    assert out["lambda_max"] == pytest.approx(lam, rel=1e-6)
    assert 0.45 / lam <= out["fix"]["lr"] <= 1.0 / lam  # 0.5 x 2 / lambda_max, 2 figures down
    assert math.isfinite(out["loss_at"]) and out["rewind_to"] <= out["smoothing_steps"]


def test_overshoot_just_past_the_edge() -> None:
    run = _diverged({"preset": "overshoot"})  # lr 1.02 x lambda_max 2.0087 = 2.05
    out = recovery(run)
    lam = float(np.linalg.eigvalsh(_mse_hessian(run))[-1])
    assert out["cause"] == "learning_rate"
    assert out["lambda_max"] == pytest.approx(lam, rel=1e-6)
    # the first step still lowered the loss (0.491 -> 0.434): the climb began after it
    assert out["rewind_to"] == 1
    losses = _train_on(run, out, 300)
    assert np.isfinite(losses).all() and losses[-1] < out["loss_at"]


def test_an_ill_conditioned_quadratic_at_a_too_large_lr() -> None:
    config = {"model": {"function": "quadratic", "condition": 10, "angle": 30}}
    run = _diverged({**config, "optimizer": {"name": "sgd", "lr": 2.5}})
    out = recovery(run)
    a = math.radians(30)
    R = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    H = R @ np.diag([1 / 10, 1.0]) @ R.T  # the documented 0.5 p^T H p
    lam = float(np.linalg.eigvalsh(H)[-1])
    assert out["cause"] == "learning_rate" and out["rewind_to"] == 0
    assert out["lambda_max"] == pytest.approx(lam, rel=1e-12)
    assert out["lr_limit"] == pytest.approx(2.0, rel=1e-12)
    assert out["fix"] == {"lr": 1.0} and out["smoothing_steps"] == 1
    losses = _train_on(run, out, 200)
    assert np.isfinite(losses).all() and losses[-1] < 1e-3 * out["loss_at"]


def test_rosenbrock_diverging_from_the_first_step() -> None:
    run = _diverged({"preset": "rosenbrock", "optimizer": {"lr": 0.01}})
    out = recovery(run)
    x, y = -1.2, 1.0  # Rosenbrock's start; H = [[1200x^2 - 400y + 2, -400x], [-400x, 200]]
    H = np.array([[1200 * x * x - 400 * y + 2, -400 * x], [-400 * x, 200.0]])
    assert out["rewind_to"] == 0 and out["loss_at"] == pytest.approx(
        (1 - x) ** 2 + 100 * (y - x * x) ** 2
    )
    assert out["lambda_max"] == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-12)
    assert out["fix"]["lr"] < out["lr_limit"]
    losses = _train_on(run, out, 500)
    assert np.isfinite(losses).all() and losses[-1] < out["loss_at"]


def test_a_run_that_trained_well_then_had_its_lr_raised_rewinds_to_the_raise() -> None:
    run = _raised({"preset": "line"}, 1000, 5.0)
    out = recovery(run)
    assert out["rewind_to"] == 1000 and out["lr_raised_at"] == 1000
    assert out["cause"] == "learning_rate" and out["lr"] == 5.0 and out["fix"] == {"lr": 0.49}
    assert out["loss_at"] == pytest.approx(run.session.trajectory(start=999, stop=1000)["loss"][0])
    losses = _train_on(run, out, 200)
    assert run.session.settings["lr"] == 0.49  # the fix wins over the raise kept at 1000
    assert np.isfinite(losses).all() and losses.max() <= out["loss_at"] * (1 + 1e-9)


def test_mini_batches_are_smoothed_over_an_epoch() -> None:
    # batch 4 of 100 points: 25 steps an epoch, each batch loss noisy
    run = _raised({"preset": "minibatch-noise"}, 1000, 2.0)
    out = recovery(run)
    assert out["smoothing_steps"] == 25
    assert 1000 - 25 <= out["rewind_to"] <= 1000
    assert out["cause"] == "learning_rate" and out["lr"] == 2.0
    assert out["fix"]["lr"] <= 0.5 * out["lr_limit"]
    losses = _train_on(run, out, 500)
    assert np.isfinite(losses).all()


def test_when_lambda_max_costs_too_much_the_lr_is_halved_to_one_that_was_stable() -> None:
    tight = Budgets(max_call_seconds=1e-9)
    out = recovery(_raised({"preset": "line"}, 1000, 5.0, budgets=tight))
    assert out["lambda_max"] is None and out["lr_limit"] is None
    assert "max_call_seconds" in out["curvature_note"]
    assert out["fix"] == {"lr": 0.078}  # 5 / 2^6 = 0.078125 <= 0.1, the lr that fell
    assert "not computed" in out["message"] and "0.1" in out["message"]
    fresh = recovery(_diverged({"preset": "line", "optimizer": {"lr": 5.0}}, tight))
    assert fresh["fix"] == {"lr": 2.5}  # nothing lower was tried: halve


def test_an_lr_raised_during_the_climb_is_halved_not_bounded_by_the_lr_that_climbed() -> None:
    # 0.5 |p|^2 (condition 1: H = I): p <- (1 - lr) p, so the loss is multiplied by
    # (1 - lr)^2 a step: 1.44 at lr 2.2 (a climb from the first step), 16 at lr 5
    config = {"model": {"function": "quadratic", "condition": 1}}
    tight = Budgets(max_call_seconds=1e-9)  # lambda_max not computed: the lr is halved
    run = LiveRun.create({**config, "optimizer": {"name": "sgd", "lr": 2.2}}, tight)
    run.step(10, evaluate="none")
    run.set({"lr": 5.0})  # raised ten steps into the climb
    while run.status != "diverged":
        run.step(20_000, evaluate="none")
    loss = run.session.trajectory(stop=12, fields=["loss"])["loss"]
    np.testing.assert_allclose(loss[1:11] / loss[:10], 1.44, rtol=1e-12)
    assert loss[11] / loss[10] == pytest.approx(16.0, rel=1e-12)
    out = recovery(run)
    assert out["rewind_to"] == 0 and out["lr_raised_at"] is None and out["lr"] == 5.0
    # no lr below 5 made a step before step 0 (lr 2.2 made the climb's first step): 5 / 2
    assert out["cause"] == "learning_rate" and out["fix"] == {"lr": 2.5}
    assert "lower lr to 2.5, half the lr (no lower lr was tried" in out["message"]


def test_an_lr_lowered_during_the_climb_is_still_measured_against_the_largest_it_ran_at() -> None:
    # 0.5 |p|^2 (H = I, lambda_max 1): the loss is multiplied by (1 - lr)^2 a step, 16 at
    # lr 5 for the first 3 steps, then 1.44 at lr 2.2: a climb from step 0 at both rates
    config = {"model": {"function": "quadratic", "condition": 1}}
    run = LiveRun.create({**config, "optimizer": {"name": "sgd", "lr": 5.0}})
    run.step(3, evaluate="none")
    run.set({"lr": 2.2})  # lowered three steps into the climb: still above 2 / lambda_max
    while run.status != "diverged":
        run.step(20_000, evaluate="none")
    loss = run.session.trajectory(stop=6, fields=["loss"])["loss"]
    np.testing.assert_allclose(loss[1:4] / loss[:3], 16.0, rtol=1e-12)
    np.testing.assert_allclose(loss[4:6] / loss[3:5], 1.44, rtol=1e-12)
    out = recovery(run)
    assert out["rewind_to"] == 0 and out["cause"] == "learning_rate"
    assert out["lr"] == 5.0  # the largest lr of the climb, not the 2.2 it ended at
    assert out["lambda_max"] == pytest.approx(1.0, rel=1e-12) and out["fix"] == {"lr": 1.0}
    assert out["message"] == (
        "The loss began to climb after step 0 because lr 5 is above the stability edge "
        "2 / lambda_max = 2 (lambda_max = 1 there), so every step overshoots: rewind to "
        "step 0 and lower lr to 1."
    )


# -- exploding gradients -----------------------------------------------------------------


def test_exploding_is_clipped_at_the_healthy_median_gradient_norm() -> None:
    run = _diverged({"preset": "exploding"})
    out = recovery(run)
    assert out["cause"] == "exploding_gradients"
    # the run's reason says what happened (the loss at the step after the last one kept);
    # why is the recovery's to say, not a guess at the lr
    assert run.session.reason == f"loss became non-finite at step {run.session.step_count + 1}"
    k = out["rewind_to"]
    norms = run.session.trajectory(fields=["grad_norm"])["grad_norm"]
    median = float(np.median(norms[1 : k + 2]))  # the gradients at theta_0 .. theta_k
    assert out["grad_norm_healthy"] == pytest.approx(median)
    assert out["fix"] == {"clip_norm": float(f"{median:.2g}")}
    assert out["grad_norm_peak"] >= 100 * median and out["lr"] == 0.002
    assert out["lambda_max"] is None and "clip" in out["message"]
    losses = _train_on(run, out, 500)
    assert run.status == "paused" and run.session.settings["clip_norm"] == out["fix"]["clip_norm"]
    assert np.isfinite(losses).all() and losses[-1] < out["loss_at"]


def test_a_gradient_that_overflows_is_exploding() -> None:
    config = {"preset": "exploding", "model": {"init": {"name": "normal", "std": 5}}}
    run = _diverged({**config, "optimizer": {"lr": 1e3}})
    out = recovery(run)
    assert run.session.reason is not None and run.session.reason.startswith("gradient")
    assert out["cause"] == "exploding_gradients" and out["fix"] == {"clip_norm": 1e6}
    assert "largest clip_norm" in out["message"]


def test_a_clip_norm_set_live_that_did_not_hold_is_halved() -> None:
    config = {"preset": "exploding", "model": {"init": {"name": "normal", "std": 1}}}
    run = LiveRun.create({**config, "optimizer": {"lr": 1e6}})
    run.set({"clip_norm": 1e6})  # the largest clip_norm, set live before the first step
    while run.status != "diverged":
        run.step(20_000, evaluate="none")
    out = recovery(run)
    assert run.session.events == [(0, {"clip_norm": 1e6})]
    assert run.session.reason is not None and run.session.reason.startswith("gradient")
    k = out["rewind_to"]
    norms = run.session.trajectory(fields=["grad_norm"])["grad_norm"]
    assert np.median(norms[1 : k + 2]) > 1e6  # the median asks for more than 1e6 held
    assert out["cause"] == "exploding_gradients" and out["fix"] == {"clip_norm": 5e5}
    assert "clip the gradient norm at 5e5 (half the clip_norm 1e6 in force)" in out["message"]


def test_a_gradient_that_overflows_at_the_first_step_cannot_be_clipped() -> None:
    # x = i e155, w = 0.01: the loss mean((0.01 x)^2) ~ 4.7e306 is finite, its gradient
    # 2 mean(0.01 x^2) = (2 / 3) 0.01 e310 (1 + 4 + 9) ~ 9.3e308 overflows float64
    data = {"X": [[1e155], [2e155], [3e155]], "y": [0.5, 1.5, 2.5]}
    config = {"data": data, "model": {"hidden": []}, "init_params": [0.01, 0.0]}
    run = LiveRun.create({**config, "optimizer": {"name": "sgd", "lr": 0.1}})
    run.step(10, evaluate="none")
    assert run.status == "diverged" and run.session.step_count == 0
    assert run.session.reason == "gradient became non-finite at step 1"
    out = recovery(run)
    x = np.array([1.0, 2.0, 3.0]) * 1e155
    assert out["loss_at"] == pytest.approx(np.mean((0.01 * x - [0.5, 1.5, 2.5]) ** 2), rel=1e-12)
    assert out["cause"] == "exploding_gradients" and out["grad_norm_healthy"] is None
    assert out["fix"] is None and out["message"] == (
        "Exploding gradients: the gradient became non-finite while the loss was still "
        "finite, and the gradient at step 0 is not finite, so no clip can help: reset."
    )


def test_a_run_that_diverged_at_once_rewinds_to_zero() -> None:
    config = {"preset": "exploding", "model": {"init": {"name": "normal", "std": 100}}}
    run = _diverged({**config, "optimizer": {"lr": 1e6}})
    assert run.session.step_count == 0
    out = recovery(run)
    assert out["rewind_to"] == 0 and out["step"] == 0 and math.isfinite(out["loss_at"])
    assert out["cause"] == "learning_rate" and 0 < out["fix"]["lr"] < out["lr_limit"]


def test_a_run_that_did_not_diverge_is_a_conflict() -> None:
    run = LiveRun.create({"preset": "line"})
    run.step(10)
    with pytest.raises(ConflictError, match="not diverged"):
        recovery(run)


# -- the rules on their own --------------------------------------------------------------


def test_climb_start_walks_back_while_the_loss_falls() -> None:
    assert climb_start(np.array([5.0, 4, 3, 2, 3, 4, 9])) == 3
    assert climb_start(np.array([1.0, 2, 4, 8])) == 0  # climbing from the first step
    assert climb_start(np.array([7.0])) == 0  # a single point
    assert climb_start(np.array([3.0, 2, 1])) == 2  # still falling: the last point
    # non-finite points count as +inf: the walk goes through them
    levels = smoothed(np.array([3.0, 2, 1, np.inf, np.nan]), 1)
    assert climb_start(levels) == 2
    assert climb_start(smoothed(np.array([5.0, np.nan, 3, 2, 4, 8]), 1)) == 3


def test_smoothing_is_a_centred_geometric_mean_and_keeps_infinities() -> None:
    x = np.array([1.0, 100, 1, 100, 1e300, np.inf])
    out = smoothed(x, 3)  # one point either side
    np.testing.assert_allclose(out[:3], [10.0, 100 ** (1 / 3), 1e4 ** (1 / 3)])
    assert out[3] == pytest.approx(math.exp(np.mean(np.log([1.0, 100, 1e300]))))
    assert np.isinf(out[4:]).all()


def test_noisy_batches_find_the_bottom_within_a_window() -> None:
    rng = np.random.default_rng(0)
    k = np.arange(400)
    truth = np.where(k < 300, np.exp(-k / 100), np.exp(-3) * 1.1 ** (k - 300))
    noisy = truth * np.exp(0.5 * rng.standard_normal(k.size))
    found = climb(noisy, np.full(400, 0.1), 25)
    assert 300 - 25 <= found.rewind_to <= 300 + 12 and found.raised_at is None
    assert climb_start(noisy) > 300 + 12  # unsmoothed, the first uptick of noise stops the walk


def test_the_layer_norms_growing_toward_the_input_mean_exploding_only_with_depth() -> None:
    T = 5
    cols = {
        "grad_norm": np.r_[np.nan, np.full(T, 3.0)],
        "lr": np.full(T + 1, 0.01),
        "layer_grad_norms": np.tile([300.0, 30.0, 3.0], (T + 1, 1)),
    }
    assert diagnose(cols, 2, "loss became non-finite", deep=True).cause == "exploding_gradients"
    assert diagnose(cols, 2, "loss became non-finite", deep=False).cause == "learning_rate"
    cols["lr"][4:] = 0.1  # raised on the climb: that is the cause
    assert diagnose(cols, 2, "loss became non-finite", deep=True).cause == "learning_rate"
    assert diagnose(cols, 2, "gradient became non-finite", deep=False).cause == (
        "exploding_gradients"
    )


def test_numbers_for_people() -> None:
    assert two_figures(0.4978, down=True) == 0.49 and two_figures(0.5, down=True) == 0.5
    assert two_figures(5266.67) == 5300.0 and two_figures(2.38e17) == 2.4e17
    assert two_figures(1 / 64 * 5, down=True) == 0.078
    assert [number(v) for v in (5266.67, 0.99567, 1.0556e11, 4.29e-33, 2.0, 1e6)] == [
        "5270", "0.996", "1.06e11", "4.29e-33", "2", "1e6",
    ]  # fmt: skip


def test_a_window_of_one_keeps_the_losses_and_makes_non_finite_ones_infinite() -> None:
    x = np.array([0.5, np.nan, 0.25, -np.inf, np.inf, 2.0])
    np.testing.assert_array_equal(smoothed(x, 1), [0.5, np.inf, 0.25, np.inf, np.inf, 2.0])
    found = climb(np.array([3.0, 2.0, 1.0, 2.0, 4.0]), np.full(5, 0.1), 1)
    assert (found.rewind_to, found.raised_at, found.window) == (2, None, 1)
    wide = climb(np.array([3.0, 2.0, 1.0, 2.0, 4.0, 8.0, 16.0]), np.full(7, 0.1), 3)
    assert wide.raised_at is None and wide.window == 3


def test_a_raise_long_before_the_climb_rewinds_to_the_climb_unless_nothing_fell_since() -> None:
    lr = np.array([0.1, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])  # raised at step 1: lr[2] > lr[1]
    fell = climb(np.array([4.0, 3, 2, 1, 0.5, 1, 2, 4]), lr, 1)
    assert fell == Climb(rewind_to=4, raised_at=None, window=1)  # fell 3 -> 0.5 after it
    lr = np.array([0.1, 0.1, 0.1, 0.5, 0.5, 0.5, 0.5])  # raised at step 2
    flat = climb(np.array([4.0, 3, 2, 2, 2, 3, 5]), lr, 1)
    assert flat == Climb(rewind_to=2, raised_at=2, window=1)  # 2 -> 2: no progress since
    lr = np.array([0.1, 0.1, 0.5, 0.5, 0.5, 0.5])  # raised at step 1; the climb from 3
    edge = climb(np.array([200.0, 100, 99.5, 99, 100, 150]), lr, 1)
    assert edge == Climb(rewind_to=3, raised_at=None, window=1)  # 100 -> 99: exactly 1 %


def test_a_gradient_that_grows_at_a_lowered_lr_names_the_lr_of_the_climb() -> None:
    cols = {
        "grad_norm": np.array([np.nan, 1.0, 1.0, 1.0, 1e3, 1e4]),
        "lr": np.array([0.1, 0.1, 0.1, 0.05, 0.05, 0.05]),  # lowered at step 2
        "layer_grad_norms": np.ones((6, 3)),
    }
    found = diagnose(cols, 2, "loss became non-finite at step 6", deep=True)
    assert found.cause == "exploding_gradients" and not found.lr_raised
    assert (found.healthy_grad_norm, found.peak_grad_norm) == (1.0, 1e4)  # steps 1-3, 4-5
    assert found.why == (
        "the gradient norm grew from about 1 to 10000 while the learning rate stayed at 0.05"
    )


def test_numbers_from_1e5_up_are_written_with_an_exponent() -> None:
    # below 1e-3 and from 1e5 up in powers of ten; between, the three figures plainly
    assert [number(v) for v in (1e5, 99_900.0, 1e-3, 5e-4, 1.5e-5)] == [
        "1e5", "99900", "0.001", "0.0005", "1.5e-5",
    ]  # fmt: skip


def test_a_window_of_two_is_smoothed_over_a_point_either_side() -> None:
    # window // 2 = 1 point either side: sqrt(1 x 100) = 10 at the ends, (1 x 100 x 1)^(1/3)
    np.testing.assert_allclose(smoothed(np.array([1.0, 100, 1]), 2), [10.0, 100 ** (1 / 3), 10.0])


def test_a_window_of_five_is_smoothed_over_two_points_either_side() -> None:
    x = np.array([1.0, 1e4, 1e-2, 10, 1e6, 1e-3, 100])
    logs = np.log10(x)  # 0, 4, -2, 1, 6, -3, 2
    means = [
        np.mean(logs[0:3]), np.mean(logs[0:4]), np.mean(logs[0:5]), np.mean(logs[1:6]),
        np.mean(logs[2:7]), np.mean(logs[3:7]), np.mean(logs[4:7]),
    ]  # fmt: skip
    np.testing.assert_allclose(smoothed(x, 5), 10.0 ** np.array(means), rtol=1e-12)


def test_a_non_finite_loss_changes_only_the_windows_it_is_in() -> None:
    # windows of 3 with the NaN in them are +inf (the first two); the others are exactly
    # what the same losses give without the NaN in front
    rest = np.array([0.1, 0.1, 7.0])
    out = smoothed(np.r_[np.nan, rest], 3)
    assert np.isinf(out[:2]).all()
    np.testing.assert_array_equal(out[2:], smoothed(rest, 3)[1:])
    np.testing.assert_allclose(out[2:], [0.07 ** (1 / 3), 0.7**0.5], rtol=1e-12)


def test_losses_near_the_largest_float_keep_their_geometric_mean() -> None:
    # exp(mean log) of values up to 1.8e308 is a finite float: nothing is capped below it
    np.testing.assert_allclose(smoothed(np.full(3, 1e308), 3), 1e308, rtol=1e-12)
    huge = np.full(3, np.finfo(np.float64).max)
    assert np.isfinite(smoothed(huge, 3)).all()
    # a slow climb up there is still a climb: walk back to its bottom (0.25 at point 4)
    points = np.array([4.0, 2, 1, 0.5, 0.25, 1e308, 1.2e308, 1.4e308, 1.6e308])
    assert climb(points, np.full(9, 0.1), 3) == Climb(rewind_to=3, raised_at=None, window=3)


def test_a_flat_stretch_stops_the_walk_back() -> None:
    # from the end: 2 > 1 rose, then 1 -> 1 did not fall as we go back: the climb began at 2
    assert climb_start(np.array([3.0, 1, 1, 2])) == 2


# log2 of the losses is |k - 10|: smoothed over 5 points the bottom stays at 10
_V = 2.0 ** np.abs(np.arange(21) - 10)


def _raised_at(e: int, n: int = 21) -> np.ndarray:
    """An lr column raised at step e: ``lr[e + 1] > lr[e]``."""
    return np.where(np.arange(n) <= e, 0.1, 0.2)


@pytest.mark.parametrize(
    ("e", "expected"),
    [
        (12, Climb(rewind_to=12, raised_at=12, window=5)),  # start 10 + half of 5
        (13, Climb(rewind_to=10, raised_at=None, window=5)),  # one past half a window
    ],
)
def test_a_raise_up_to_half_a_window_after_the_bottom_is_where_to_rewind(
    e: int, expected: Climb
) -> None:
    assert climb_start(smoothed(_V, 5)) == 10
    assert climb(_V, _raised_at(e), 5) == expected


def test_a_raise_at_the_bottom_of_a_loss_of_zero_is_where_to_rewind() -> None:
    lr = np.array([0.1, 0.1, 0.5, 0.5])  # raised at step 1, where the loss is 0
    assert climb(np.array([1.0, 0, 1, 2]), lr, 1) == Climb(rewind_to=1, raised_at=1, window=1)


def test_a_raise_at_the_last_step_with_no_fall_since_is_where_to_rewind() -> None:
    # still not rising at the end (start 2 = T); raised at step 1 and 2 -> 2 since
    lr = np.array([0.1, 0.1, 0.5])
    assert climb(np.array([3.0, 2, 2]), lr, 1) == Climb(rewind_to=1, raised_at=1, window=1)


def test_a_raise_before_the_climb_with_less_than_one_percent_fallen_since_is_the_cause() -> None:
    lr = np.array([0.1, 0.1, 0.5, 0.5, 0.5, 0.5])  # raised at step 1 (loss 100)
    # the climb from 3 (99.5): 0.5 % fallen since the raise
    found = climb(np.array([200.0, 100, 99.7, 99.5, 100, 150]), lr, 1)
    assert found == Climb(rewind_to=1, raised_at=1, window=1)


def _cols(
    layers: list[float], lr: np.ndarray | None = None, grad: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """History columns of T = 5 steps: flat gradient norms 3 and lr 0.01 unless given,
    layer norms of 1 but at the last step ``layers`` (input layer first)."""
    norms = np.ones((6, len(layers)))
    norms[-1] = layers
    return {
        "grad_norm": np.r_[np.nan, np.full(5, 3.0)] if grad is None else grad,
        "lr": np.full(6, 0.01) if lr is None else lr,
        "layer_grad_norms": norms,
    }


@pytest.mark.parametrize(
    ("layers", "shown"),
    [
        ([30.0, 3.0], "3 at the output to 30"),  # two layers are enough
        ([300.0, 30.0, 0.5], "0.5 at the output to 300"),
        ([300.0, 20.0, 3.0], "3 at the output to 300"),
        ([30.0, 10.0, 3.0], "3 at the output to 30"),  # exactly LAYER_GROWTH = 10 times
        ([200.0, 30.0, 3.0], "3 at the output to 200"),
        ([np.inf, 30.0, 3.0], None),  # not finite
        ([300.0, 30.0, 0.0], None),  # nothing at the output to grow from
        ([300.0, 3.0, 30.0], None),  # not layer by layer
        ([30.0, 300.0, 3.0], None),
        ([300.0, 30.0, 30.0, 3.0], None),  # 30 -> 30 does not grow
        ([5.0, 4.0, 3.0], None),  # growing, but less than 10 times
    ],
)
def test_layer_norms_grow_toward_the_input_when_each_is_larger_and_ten_times_in_all(
    layers: list[float], shown: str | None
) -> None:
    found = diagnose(_cols(layers), 2, "loss became non-finite at step 6", deep=True)
    if shown is None:
        assert (found.cause, found.why) == ("learning_rate", "")
    else:
        assert found.cause == "exploding_gradients"
        assert found.why == (
            f"the gradient norms grow layer by layer toward the input, {shown} at the first layer"
        )


@pytest.mark.parametrize(
    ("lr", "k", "raised"),
    [
        ([0.01] * 5 + [0.1], 4, True),  # raised for the last step only
        ([0.01, 0.1] + [0.01] * 4, 0, True),  # raised at step 1, lowered again
        ([0.01] * 3 + [0.1] * 3, 2, True),  # raised at step k + 1
        ([0.1] * 3 + [0.05] * 3, 2, False),  # lowered
    ],
)
def test_an_lr_raised_after_step_k_is_the_cause(lr: list[float], k: int, raised: bool) -> None:
    found = diagnose(_cols([300.0, 30.0, 3.0], lr=np.array(lr)), k, "loss became", deep=True)
    assert found.lr_raised is raised
    assert found.cause == ("learning_rate" if raised else "exploding_gradients")


def test_a_gradient_norm_exactly_100_times_its_median_is_exploding() -> None:
    grad = np.array([np.nan, 1.0, 1.0, 1.0, 50, 100])
    lr = np.array([0.1, 0.1, 0.1, 0.05, 0.02, 0.02])  # step k + 1 = 3 ran at 0.05
    found = diagnose(_cols([1.0, 1.0], lr=lr, grad=grad), 2, "loss became", deep=True)
    assert found.cause == "exploding_gradients" and found.lr_raised is False
    assert found.why == (
        "the gradient norm grew from about 1 to 100 while the learning rate stayed at 0.05"
    )
    grad = np.array([np.nan, 2.0, 2.0, 2.0, 50, 100])  # 50 times the median 2: not yet
    found = diagnose(_cols([1.0, 1.0], grad=grad), 2, "loss became", deep=True)
    assert (found.cause, found.why) == ("learning_rate", "")
    assert (found.healthy_grad_norm, found.peak_grad_norm) == (2.0, 100.0)


# -- the fix when lambda_max is not computed ---------------------------------------------

_QUADRATIC = {"model": {"function": "quadratic", "condition": 1}}  # 0.5 |p|^2, H = I
_TIGHT = Budgets(max_call_seconds=1e-9)


def _priced(run: LiveRun, gradient_seconds: float) -> LiveRun:
    """Fix the measured cost of one gradient (``service.cost`` times it once per run): a
    lambda_max then costs 2 x min(P, 30) gradients, 0.004 s at 1 ms for P = 2."""
    run.costs["gradient"] = gradient_seconds
    return run


def _halved_message(k: int, lr: str, new: str, basis: str) -> str:
    return (
        f"The loss began to climb after step {k} at lr {lr}; lambda_max was not computed "
        "(it would take about 0.004 s, over max_call_seconds=1e-09), so rewind to step "
        f"{k} and lower lr to {new}, {basis}."
    )


def test_a_raise_to_twice_the_lr_that_fell_is_halved_once() -> None:
    # lr 1.25 multiplies the loss by (1 - 1.25)^2 = 0.0625 (step 1), then lr 2.5 by 2.25
    run = LiveRun.create({**_QUADRATIC, "optimizer": {"name": "sgd", "lr": 1.25}}, _TIGHT)
    run.step(1, evaluate="none")
    run.set({"lr": 2.5})
    while run.status != "diverged":
        run.step(20_000, evaluate="none")
    out = recovery(_priced(run, 1e-3))
    assert (out["rewind_to"], out["lr_raised_at"], out["lr"]) == (1, 1, 2.5)
    # 2.5 / 1.25 = 2 exactly: one halving, 1.25, two figures down: 1.2
    assert out["fix"] == {"lr": 1.2} and out["lambda_max"] is None
    assert out["message"] == _halved_message(
        1, "2.5", "1.2", "at most lr 1.25, which the loss fell with before"
    )


def test_with_no_lower_lr_tried_the_lr_is_halved_and_rounded_down() -> None:
    run = _diverged({**_QUADRATIC, "optimizer": {"name": "sgd", "lr": 3.5}}, _TIGHT)
    out = recovery(_priced(run, 1e-3))
    assert out["rewind_to"] == 0 and out["fix"] == {"lr": 1.7}  # 3.5 / 2 = 1.75, down: 1.7
    assert out["message"] == _halved_message(
        0, "3.5", "1.7", "half the lr (no lower lr was tried: halve again if it climbs again)"
    )


def test_the_lr_that_climbed_is_not_a_lower_lr_the_loss_fell_with() -> None:
    # overshoot falls for one step at lr 1.02, then climbs at the same lr
    out = recovery(_priced(_diverged({"preset": "overshoot"}, _TIGHT), 1e-3))
    assert out["rewind_to"] == 1 and out["fix"] == {"lr": 0.51}
    assert out["message"] == _halved_message(
        1, "1.02", "0.51", "half the lr (no lower lr was tried: halve again if it climbs again)"
    )


def test_lambda_max_is_computed_when_its_estimate_is_exactly_the_budget() -> None:
    run = _diverged({"preset": "line", "optimizer": {"lr": 5.0}})
    _priced(run, 0.01)  # 2 x 2 gradients of 0.01 s
    assert cost.curvature_seconds(run, 1) == 0.04
    run.budgets = Budgets(max_call_seconds=0.04)
    out = recovery(run)
    assert out["curvature_note"] is None and out["fix"] == {"lr": 0.49}
    assert out["lambda_max"] == pytest.approx(np.linalg.eigvalsh(_mse_hessian(run))[-1])


def test_a_lambda_max_that_overflows_is_no_stability_edge() -> None:
    # x = i e77: H = (2 / 3) A^T A with A = [x, 1] has lambda_max ~ 9.3e154, whose square
    # overflows float64 inside Lanczos: NaN, no edge, so the lr is halved
    data = {"X": [[1e77], [2e77], [3e77]], "y": [0.5, 1.5, 2.5]}
    config = {"data": data, "model": {"hidden": []}, "init_params": [0.01, 0.0]}
    run = _diverged({**config, "optimizer": {"name": "sgd", "lr": 0.1}})
    assert run.session.reason == "loss became non-finite at step 1"
    out = recovery(run)
    assert out["cause"] == "learning_rate" and out["lambda_max"] is None
    assert out["curvature_note"] == "lambda_max is nan at step 0: no stability edge there"
    assert out["fix"] == {"lr": 0.05} and out["message"] == (
        "The loss began to climb after step 0 at lr 0.1; lambda_max was not computed "
        "(lambda_max is nan at step 0: no stability edge there), so rewind to step 0 and "
        "lower lr to 0.05, half the lr (no lower lr was tried: halve again if it climbs again)."
    )


def test_a_gradient_whose_norm_overflows_cannot_be_clipped() -> None:
    # x = i e100, w = 0.01: the gradient ~ 1e198 is finite, its norm's square is not
    data = {"X": [[1e100], [2e100], [3e100]], "y": [0.5, 1.5, 2.5]}
    config = {"data": data, "model": {"hidden": []}, "init_params": [0.01, 0.0]}
    run = _diverged({**config, "optimizer": {"name": "sgd", "lr": 0.1}})
    assert run.session.reason == "gradient became non-finite at step 1"
    out = recovery(run)
    assert out["cause"] == "exploding_gradients" and out["fix"] is None
    assert out["message"].endswith(
        "the gradient at step 0 is not finite, so no clip can help: reset."
    )


def test_recovery_of_a_run_that_has_not_diverged_is_a_conflict_saying_so() -> None:
    run = LiveRun.create({"preset": "line"})
    run.step(10)
    message = (
        "the session has not diverged (status paused): recovery is for a run whose loss or "
        "parameters became non-finite"
    )
    with pytest.raises(ConflictError, match=f"^{re.escape(message)}$"):
        recovery(run)


def test_recovery_evaluates_only_the_full_data_losses_it_reads() -> None:
    # mini-batches: the full-data loss is evaluated when asked; recovery asks for it at
    # the rewind point and at the last step only, and for nothing held out
    data = {"name": "line", "n_samples": 100, "noise": 1.0, "validation_split": 0.2}
    run = _diverged({"preset": "minibatch-noise", "data": data, "optimizer": {"lr": 5.0}})
    s = run.session
    T = s.step_count
    assert T > 2 and not np.isfinite(s.recorded(0, T + 1, ["loss"])["loss"]).any()
    out = recovery(run)
    k = out["rewind_to"]
    assert k + 1 < T
    cols = s.recorded(0, T + 1, ["loss", "val_loss"])
    assert np.flatnonzero(np.isfinite(cols["loss"])).tolist() == [k, T]
    assert np.isnan(cols["val_loss"]).all()


@pytest.mark.parametrize(
    ("tighter_at_173", "fix", "shown"),
    [(None, 5e5, "5e5 (half the clip_norm 1e6"), (9e5, 4.5e5, "4.5e5 (half the clip_norm 9e5")],
)
def test_the_clip_in_force_at_the_rewind_point_is_the_created_one_or_the_one_set_there(
    tighter_at_173: float | None, fix: float, shown: str
) -> None:
    # clip_norm 1e6 from the start, and an lr "change" to the same lr at step 0; the climb
    # from step 173 (the gradient non-finite at 176): the clip in force there did not hold
    config = {"preset": "exploding", "model": {"init": {"name": "normal", "std": 1}}}
    run = LiveRun.create({**config, "optimizer": {"lr": 1e6}, "clip_norm": 1e6})
    run.set({"lr": 1e6})
    run.step(173, evaluate="none")
    if tighter_at_173 is not None:
        run.set({"clip_norm": tighter_at_173})  # made steps 174 on, kept by a rewind to 173
    while run.status != "diverged":
        run.step(20_000, evaluate="none")
    out = recovery(run)
    assert run.session.reason == "gradient became non-finite at step 176"
    assert out["rewind_to"] == 173 and out["fix"] == {"clip_norm": fix}
    assert out["message"] == (
        "Exploding gradients: the gradient became non-finite while the loss was still finite, "
        f"so rewind to step 173 and clip the gradient norm at {shown} in force)."
    )


def test_the_clip_is_the_median_gradient_norm_before_the_climb_and_says_so() -> None:
    run = _diverged({"preset": "exploding"})
    out = recovery(run)
    clip = out["fix"]["clip_norm"]
    assert out["message"].endswith(
        f"clip the gradient norm at {number(clip)} (the median gradient norm before the climb)."
    )


@pytest.mark.parametrize(
    ("std", "lr", "shown"),
    [(1.0, 0.1, "130"), (0.1, 10.0, "0.79"), (20.0, 0.01, "1e6")],  # medians 129, 0.794, 997166
)
def test_one_hidden_layer_is_deep_enough_to_explode(std: float, lr: float, shown: str) -> None:
    model = {"hidden": [32], "init": {"name": "normal", "std": std}}
    run = _diverged({"preset": "exploding", "model": model, "optimizer": {"lr": lr}})
    assert len(run.session.model.layer_slices) == 2
    assert run.session.reason is not None and run.session.reason.startswith("loss")
    out = recovery(run)
    k = out["rewind_to"]
    norms = run.session.trajectory(fields=["grad_norm"])["grad_norm"]
    median = float(np.median(norms[1 : k + 2]))
    assert out["cause"] == "exploding_gradients" and out["grad_norm_peak"] >= 100 * median
    assert out["fix"] == {"clip_norm": float(f"{median:.2g}")}  # at most 1e6 as it is
    assert out["message"].endswith(
        f"so rewind to step {k} and clip the gradient norm at {shown} "
        "(the median gradient norm before the climb)."
    )


def test_a_lambda_max_of_zero_is_no_stability_edge() -> None:
    # a logistic neuron saturated the wrong way round: sigmoid(+-1e154) is exactly 1 and 0,
    # so the Hessian mean(p (1 - p) x x^T) is exactly 0 while the gradient is 1e154
    data = {"X": [[1e154], [-1e154]], "y": [0.0, 1.0]}
    config = {"data": data, "model": {"hidden": []}, "loss": "bce", "init_params": [1.0, 0.0]}
    run = _diverged({**config, "optimizer": {"name": "sgd", "lr": 1e6}})
    assert run.session.reason == "loss became non-finite at step 1"
    out = recovery(run)
    assert out["cause"] == "learning_rate" and out["lambda_max"] is None
    assert out["curvature_note"] == "lambda_max is 0 at step 0: no stability edge there"
    assert out["fix"] == {"lr": 5e5}


# -- the fix's sentence on either side of the stability edge -----------------------------


def test_an_lr_below_the_edge_that_still_climbed_says_the_curvature_grew() -> None:
    from gradscape.service.recovery import _lr_fix

    run = LiveRun.create(_QUADRATIC)  # H = I: lambda_max = 1, the edge 2 / lambda_max = 2
    below = _lr_fix(run, 0, 1.5, np.array([1.5]))
    assert (below["lambda_max"], below["lr_limit"], below["fix"]) == (1.0, 2.0, {"lr": 0.75})
    assert below["message"] == (
        "The loss began to climb after step 0 although lr 1.5 is below 2 / lambda_max = 2 "
        "there (the curvature grew on the way up): rewind to step 0 and lower lr to 0.75."
    )
    # exactly on the edge every step overshoots already (|1 - 2 x 1| = 1 never shrinks)
    on = _lr_fix(run, 0, 2.0, np.array([2.0]))
    assert on["message"] == (
        "The loss began to climb after step 0 because lr 2 is above the stability edge "
        "2 / lambda_max = 2 (lambda_max = 1 there), so every step overshoots: rewind to "
        "step 0 and lower lr to 1."
    )


def test_a_healthy_median_gradient_norm_of_zero_is_no_clip_norm() -> None:
    from gradscape.service.recovery import Diagnosis, _clip_fix

    run = LiveRun.create(_QUADRATIC)
    found = Diagnosis("exploding_gradients", "the gradient norm grew", 0.0, 5.0, False)
    assert _clip_fix(run, 0, found) == {
        "fix": None,
        "message": "Exploding gradients: the gradient norm grew, and the gradient at step 0 "
        "is not finite, so no clip can help: reset.",
    }
