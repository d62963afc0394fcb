"""The trainer owns the run's state, checkpoints, event log and replay cache."""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable

import numpy as np
import pytest

from gradscape.core.changes import check_change
from gradscape.core.checkpoints import MAX_CHECKPOINTS
from gradscape.core.config import Limits, build
from gradscape.core.trainer import SEGMENT_BYTES, Segment, Trainer


def _trainer(every: int = 10) -> Trainer:
    return Trainer(build({"preset": "moons-mlp"}), every)


def _live(trainer: Trainer, n: int, path: list[np.ndarray], grads: list[np.ndarray]) -> None:
    for _ in range(n):
        outcome = trainer.step()
        assert not isinstance(outcome, str)
        path.append(trainer.state.theta.copy())
        grads.append(outcome[5])


def _changed(trainer: Trainer, **changes: object) -> None:
    trainer.change(check_change(changes, trainer.state, trainer.model.n_params, trainer.n))


def test_steps_keep_a_checkpoint_every_k_steps() -> None:
    t = _trainer(every=10)
    path: list[np.ndarray] = [t.state.theta.copy()]
    _live(t, 35, path, [])
    assert sorted(t.checkpoints) == [0, 10, 20, 30] and t.state.step == 35
    np.testing.assert_array_equal(t.checkpoints[20].theta, path[20])
    assert t.checkpoints[20].theta is not t.state.theta


def test_changes_are_logged_at_the_step_they_apply_from() -> None:
    t = _trainer()
    _live(t, 4, [], [])
    _changed(t, lr=0.05, batch_size=8)
    assert t.events == [(4, {"lr": 0.05, "batch_size": 8})]
    assert t.state.lr == 0.05 and t.state.batch_size == 8


def test_params_and_grads_at_rebuild_the_live_path_across_events() -> None:
    t = _trainer(every=10)
    path: list[np.ndarray] = [t.state.theta.copy()]
    grads: list[np.ndarray] = [np.full(t.model.n_params, np.nan)]
    _live(t, 13, path, grads)
    _changed(t, optimizer={"name": "sgd", "momentum": 0.9}, lr=0.2)
    _live(t, 14, path, grads)
    ks = np.arange(28)
    np.testing.assert_array_equal(t.params_at(ks), np.array(path))
    np.testing.assert_array_equal(t.grads_at(ks), np.array(grads))


def test_rewind_drops_later_checkpoints_and_events_and_rebuilds_the_state() -> None:
    t = _trainer(every=10)
    path: list[np.ndarray] = [t.state.theta.copy()]
    _live(t, 12, path, [])
    _changed(t, lr=0.05)
    _live(t, 15, path, [])
    _changed(t, lr=0.5)
    t.rewind(17)
    assert sorted(t.checkpoints) == [0, 10] and t.events == [(12, {"lr": 0.05})]
    assert t.state.step == 17 and t.state.lr == 0.05
    np.testing.assert_array_equal(t.state.theta, path[17])
    t.rewind(12)
    assert t.events == [(12, {"lr": 0.05})] and t.state.lr == 0.05  # events at k stay


def test_resume_continues_exactly_where_another_trainer_was() -> None:
    a, b = _trainer(), _trainer()
    _live(a, 23, [], [])
    _changed(a, batch_size=16)
    b.resume(a.state.copy(), {k: c.copy() for k, c in a.checkpoints.items()}, a.events)
    _live(a, 9, [], [])
    _live(b, 9, [], [])
    np.testing.assert_array_equal(a.state.theta, b.state.theta)
    np.testing.assert_array_equal(a.params_at(np.array([15])), b.params_at(np.array([15])))


def test_nbytes_counts_checkpoints_and_the_replay_cache() -> None:
    t = _trainer(every=50)
    _live(t, 40, [], [])
    before = t.nbytes()
    t.params_at(np.array([7]))  # replays and caches steps 0..40
    assert t.nbytes() >= before + 41 * t.model.n_params * 8


def _changing_run(budget: int) -> tuple[Trainer, np.ndarray, np.ndarray]:
    """6,000 live steps with mini-batch, lr and optimizer changes; the path and grads seen."""
    t = Trainer(build({"preset": "moons-mlp"}), 10, Limits(checkpoint_bytes=budget))
    path: list[np.ndarray] = [t.state.theta.copy()]
    grads: list[np.ndarray] = [np.full(t.model.n_params, np.nan)]
    _live(t, 1700, path, grads)
    _changed(t, lr=0.05, batch_size=8)
    _live(t, 1300, path, grads)
    _changed(t, optimizer={"name": "adam", "lr": 0.01})
    _live(t, 2000, path, grads)
    _changed(t, batch_size=None, schedule={"name": "step", "step_size": 50, "gamma": 0.9})
    _live(t, 1000, path, grads)
    return t, np.array(path), np.array(grads)


@pytest.mark.parametrize("budget", [Limits().checkpoint_bytes, 30_000])
def test_any_step_is_rebuilt_bit_for_bit_from_the_kept_states(budget: int) -> None:
    t, path, grads = _changing_run(budget)
    assert t.checkpoints.nbytes() <= budget and len(t.checkpoints) <= MAX_CHECKPOINTS
    ks = np.random.default_rng(0).integers(0, 6001, 300)
    np.testing.assert_array_equal(t.params_at(ks), path[ks])
    np.testing.assert_array_equal(t.grads_at(ks), grads[ks])
    for k in (5999, 4321, 1):  # one at a time, each from whatever is cached
        np.testing.assert_array_equal(t.params_at(np.array([k])), path[[k]])
        np.testing.assert_array_equal(t.grads_at(np.array([k])), grads[[k]])


@pytest.mark.parametrize("budget", [Limits().checkpoint_bytes, 30_000])
def test_rewind_to_any_step_continues_as_the_live_run_did(budget: int) -> None:
    t, path, _ = _changing_run(budget)
    t.rewind(5800)  # after the last change: 200 more steps end where the run ended
    _live(t, 200, [], [])
    np.testing.assert_array_equal(t.state.theta, path[6000])
    t.rewind(3777)  # under Adam, before the change at 5000
    np.testing.assert_array_equal(t.state.theta, path[3777])
    assert t.state.optimizer.name == "adam" and [s for s, _ in t.events] == [1700, 3000]
    _live(t, 5000 - 3777, [], [])
    np.testing.assert_array_equal(t.state.theta, path[5000])
    np.testing.assert_array_equal(t.params_at(np.array([2500, 4100])), path[[2500, 4100]])


def test_the_replay_cache_is_bounded_however_sparse_the_checkpoints() -> None:
    t = Trainer(build({"preset": "moons-mlp"}), 5000)
    _live(t, 6000, [], [])
    t.params_at(np.array([4000]))
    t.grads_at(np.array([4999]))
    P = t.model.n_params
    assert t.nbytes() - t.checkpoints.nbytes() <= SEGMENT_BYTES + 8 * P + t.state.nbytes()


def test_a_replay_segment_counts_every_array_it_holds() -> None:
    t = _trainer()
    tail = t.fresh_state()
    thetas, grads = np.zeros((5, 7)), np.ones((4, 7))
    seg = Segment(0, thetas, grads, tail)
    assert seg.nbytes() == thetas.nbytes + grads.nbytes + tail.nbytes() > 0


def test_parameters_that_overflow_stop_the_run_at_the_step_that_made_them() -> None:
    """SGD's weight decay multiplies the weights by 1 - lr * wd = 1 - 1e9 each step, while
    the chapter neuron's loss stays finite (BCE grows only linearly in the logit) and its
    gradient is at most max|x| = 8 per weight. From |w_0| = 0.497 the weights are
    ~5e305 after 34 steps and step 35 would make them ~5e314 > float64's 1.8e308: the
    run stops at step 34 and the reason names step 35."""
    t = Trainer(build({"preset": "pass-fail", "optimizer": {"lr": 1e6, "weight_decay": 1e3}}), 10)
    with np.errstate(over="ignore", invalid="ignore"):
        outcomes = [t.step() for _ in range(40)]
    reasons = [o for o in outcomes if isinstance(o, str)]
    assert reasons[0] == "parameters became non-finite at step 35"
    assert outcomes.index(reasons[0]) == 34 and t.state.step == 34
    assert np.isfinite(t.state.theta).all() and 1e305 < np.abs(t.state.theta).max() < 1e306


def test_an_optimizer_change_without_an_lr_keeps_the_lr_in_force() -> None:
    """Options of the optimizer in force (here momentum for the line preset's SGD at lr 0.1)
    leave its lr alone: the first step after the change is theta - 0.1 * g, with g the MSE
    gradient 2 * mean(r * [x, 1]) of the residuals r = w x + b - y."""
    t = Trainer(build({"preset": "line"}), 10)
    _changed(t, optimizer={"momentum": 0.9})
    assert t.state.base_lr == t.state.lr == 0.1 and t.state.optimizer.hyper["lr"] == 0.1
    assert t.state.optimizer.hyper["momentum"] == 0.9
    assert t.X is not None and t.y is not None
    (w, b), x, y = t.state.theta, t.X[:, 0], t.y
    r = w * x + b - y
    want = t.state.theta - 0.1 * np.array([2 * np.mean(r * x), 2 * np.mean(r)])
    t.step()
    np.testing.assert_allclose(t.state.theta, want, rtol=1e-12)


def _best_of_3(run: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


@pytest.mark.timing
def test_the_accuracy_of_many_steps_costs_about_what_their_loss_costs() -> None:
    """Both run the network once over the data at each step's parameters, in chunks of
    parameter vectors (moons-mlp: 327 at a time), and read the logits differently. Their
    values at a few steps are the single-theta ``model.accuracy`` and ``model.loss``."""
    t = _trainer()
    path: list[np.ndarray] = [t.state.theta.copy()]
    _live(t, 399, path, [])
    thetas = np.array(path)  # 400 steps: more than one chunk
    acc, loss = t.evaluate("accuracy", thetas), t.evaluate("loss", thetas)
    for k in (0, 1, 326, 327, 399):
        assert acc[k] == t.model.accuracy(thetas[k], t.X, t.y)
        assert loss[k] == pytest.approx(t.model.loss(thetas[k], t.X, t.y), rel=1e-12)
    for_loss = _best_of_3(lambda: t.evaluate("loss", thetas))
    for_accuracy = _best_of_3(lambda: t.evaluate("accuracy", thetas))
    assert for_accuracy <= 10 * for_loss, (for_accuracy, for_loss)  # [~1]


def test_a_surface_has_no_accuracy_at_any_of_its_points() -> None:
    """Rosenbrock has no data to classify: each of 3 points (2 parameters each) gets inf."""
    t = Trainer(build({"preset": "rosenbrock"}), 10)
    got = t.evaluate("accuracy", np.zeros((3, 2)))
    assert got.dtype == np.float64 and got.tolist() == [np.inf] * 3


def test_the_accuracy_of_more_steps_than_parameters_covers_every_step() -> None:
    """moons-mlp has 337 parameters and scores 327 parameter vectors at a time: 700 of them
    take three chunks (0, 327, 654), each the single-theta ``model.accuracy``."""
    t = _trainer()
    path: list[np.ndarray] = [t.state.theta.copy()]
    _live(t, 6, path, [])
    thetas = np.array(path)[np.arange(700) % 7]
    acc = t.evaluate("accuracy", thetas)
    want = [t.model.accuracy(theta, t.X, t.y) for theta in path]
    assert acc.tolist() == [want[k % 7] for k in range(700)]


def test_nbytes_is_the_kept_states_plus_the_whole_replay_segment() -> None:
    """line (2 parameters, plain SGD: no optimizer buffers), 5 live steps, checkpoints
    every 100: only the state at 0 is kept (16 bytes of theta + the 512 a state is counted
    for). Rebuilding step 3 caches the segment 0..5: 6 thetas (96 bytes), 5 gradients
    (80 bytes) and its tail state at 5 (528 bytes)."""
    t = Trainer(build({"preset": "line"}), 100)
    _live(t, 5, [], [])
    assert t.nbytes() == 528
    t.params_at(np.array([3]))
    assert t.nbytes() == 528 + 96 + 80 + 528


def test_a_loss_that_is_not_a_number_is_reported_as_inf() -> None:
    """NaN in a run's history means "not evaluated", so an undefined loss (here at NaN
    parameters) comes back as inf; pass-fail at theta = 0 has z = 0 on every row, so its
    loss is log 2."""
    t = Trainer(build({"preset": "pass-fail"}), 10)
    loss = t.evaluate("loss", np.array([[np.nan, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    assert loss[0] == np.inf and loss[1] == pytest.approx(np.log(2.0), rel=1e-15)


def test_validation_losses_are_those_of_the_held_out_rows() -> None:
    """pass-fail with a quarter held out: the single neuron z = 5 w1 + 7 w2 + b on the
    held-out row (5, 7), label 1, gives val_loss = log(1 + e^z) - z and val_accuracy
    [z > 0]; the training loss is the mean of the same over the other three rows."""
    t = Trainer(build({"preset": "pass-fail", "data": {"validation_split": 0.25}}), 10)
    assert t.built.dataset is not None
    np.testing.assert_array_equal(t.built.dataset.X_val, [[5.0, 7.0]])
    thetas = np.array([[0.0, 0.0, 0.0], [0.5, -0.2, 0.1], [0.1, 0.2, -3.0], [-0.3, 0.1, 0.4]])
    val_loss, val_acc = t.evaluate("val_loss", thetas), t.evaluate("val_accuracy", thetas)
    loss = t.evaluate("loss", thetas)
    X_train, y_train = np.array([[3.0, 4.0], [8.0, 6.0], [2.0, 3.0]]), np.array([0.0, 1.0, 0.0])
    for k, (w1, w2, b) in enumerate(thetas):
        z = 5 * w1 + 7 * w2 + b
        assert val_loss[k] == pytest.approx(math.log1p(math.exp(z)) - z, rel=1e-12)
        assert val_acc[k] == (1.0 if z > 0 else 0.0)
        zs = X_train @ [w1, w2] + b
        assert loss[k] == pytest.approx(np.mean(np.logaddexp(0.0, zs) - y_train * zs), rel=1e-12)


def test_a_switch_of_optimizer_builds_it_with_the_options_given() -> None:
    """line under Adam switched to SGD with momentum 0.9 at lr 0.05: the new optimizer has
    that momentum, so (torch's rule, buffer b starting at g) b1 = g1, theta1 = theta0 -
    0.05 b1; b2 = 0.9 b1 + g2, theta2 = theta1 - 0.05 b2, with g the raw gradients."""
    t = Trainer(build({"preset": "line", "optimizer": {"name": "adam"}}), 10)
    _live(t, 3, [], [])
    _changed(t, optimizer={"name": "sgd", "momentum": 0.9, "lr": 0.05})
    assert t.state.optimizer.name == "sgd" and t.state.optimizer.hyper["momentum"] == 0.9
    theta0 = t.state.theta.copy()
    grads: list[np.ndarray] = []
    _live(t, 2, [], grads)
    b1 = grads[0]
    b2 = 0.9 * b1 + grads[1]
    np.testing.assert_allclose(t.state.theta, theta0 - 0.05 * b1 - 0.05 * b2, rtol=1e-13)


def test_a_replayed_segment_ends_at_the_next_kept_state() -> None:
    """moons-mlp with two hidden layers of 64 has 4417 parameters, so a segment holds
    at most 8 MiB // (16 * 4417) = 118 steps, which does not divide the checkpoint
    spacing 200. Step 150 lies in the chunk counted from the state at 0 that starts at
    118; it ends at the kept state 200, not 118 steps on at 236."""
    t = Trainer(build({"preset": "moons-mlp", "model": {"hidden": [64, 64]}}), 200)
    assert t.model.n_params == 4417
    path: list[np.ndarray] = [t.state.theta.copy()]
    _live(t, 400, path, [])
    assert sorted(t.checkpoints) == [0, 200, 400]
    np.testing.assert_array_equal(t.params_at(np.array([150])), [path[150]])
    assert t._segment is not None and (t._segment.start, t._segment.end) == (118, 200)


@pytest.mark.parametrize("at", [0, 10])
def test_changes_at_the_start_of_a_replayed_segment_apply_once(at: int) -> None:
    """Two changes at step 0 or 10 of line (checkpoints every 10, so segments run 0-10,
    10-20): dampening 0.1, then Nesterov momentum (which needs dampening 0, and sets it).
    Applied a second time, the first would be refused under the second; a replay applies
    them once at their step, as the live run did, whether it starts from the kept state or
    continues from the segment that ends there."""
    t = Trainer(build({"preset": "line"}), 10)
    path: list[np.ndarray] = [t.state.theta.copy()]
    grads: list[np.ndarray] = [np.full(t.model.n_params, np.nan)]
    _live(t, at, path, grads)
    _changed(t, optimizer={"dampening": 0.1})
    _changed(t, optimizer={"dampening": 0.0, "momentum": 0.9, "nesterov": True})
    _live(t, 24 - at, path, grads)
    ks = np.arange(25)
    np.testing.assert_array_equal(t.params_at(ks), np.array(path))
    np.testing.assert_array_equal(t.grads_at(ks), np.array(grads))


def test_a_replay_through_an_overflow_in_the_optimizer_warns_nothing() -> None:
    """pass-fail under SGD with lr 3 and weight decay 1 doubles |theta| a step; past
    |theta| = 1e152 a switch to RMSprop with weight decay 1000 makes the decayed gradient
    square overflow (g ~ 1e155): the squared average is inf and the update g / inf is 0,
    a finite step. Rebuilding those steps replays the overflow without warning about it."""
    t = Trainer(build({"preset": "pass-fail", "optimizer": {"lr": 3.0, "weight_decay": 1.0}}), 100)
    path: list[np.ndarray] = [t.state.theta.copy()]
    with np.errstate(over="ignore", invalid="ignore"):  # as a live caller runs steps
        while np.abs(t.state.theta).min() < 1e152:
            _live(t, 1, path, [])
        _changed(t, optimizer={"name": "rmsprop", "weight_decay": 1000.0})
        _live(t, 3, path, [])
    T = t.state.step
    assert T % 100 > 3 and np.isinf(t.state.optimizer.state_dict()["state"]["square_avg"]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rebuilt = t.params_at(np.arange(T - 5, T))
    np.testing.assert_array_equal(rebuilt, np.array(path[T - 5 : T]))


def test_a_surface_replays_its_per_epoch_schedule() -> None:
    """On a surface every step is an epoch: with a step decay halving lr every 2 epochs,
    Rosenbrock's lr after 12 steps is its base times 0.5**6, and a replay halves it at the
    same steps, so every rebuilt point is the live one."""
    schedule = {"name": "step", "step_size": 2, "gamma": 0.5}
    t = Trainer(build({"preset": "rosenbrock", "schedule": schedule}), 100)
    base = t.state.base_lr
    path: list[np.ndarray] = [t.state.theta.copy()]
    _live(t, 12, path, [])
    assert t.state.lr == base * 0.5**6
    np.testing.assert_array_equal(t.params_at(np.arange(13)), np.array(path))


def test_a_replay_that_diverges_where_the_run_did_not_is_an_internal_error() -> None:
    """Replays are exact, so this cannot happen with the states a run kept; given a kept
    state at step 10 whose theta is inf (a damaged resume), rebuilding step 15 from it
    stops with a RuntimeError naming what went wrong and where."""
    t = Trainer(build({"preset": "line"}), 10)
    _live(t, 20, [], [])
    kept = dict(t.checkpoints)
    bad = kept[10].copy()
    bad.theta[:] = np.inf
    t.resume(t.state, {**kept, 10: bad}, t.events)
    why = "replay diverged where the run did not: loss became non-finite at step 10"
    with pytest.raises(RuntimeError, match=f"^{why}$"):
        t.params_at(np.array([15]))


def test_a_gradient_that_overflows_stops_the_update_it_would_have_made() -> None:
    """One input x = i * 1e155 (i = 1, 2, 3) and theta = (0.01, 0): the loss
    mean((0.01 x - y)^2) ~ 4.7e306 is finite, but its gradient 2 mean(0.01 x^2) ~ 9.3e308
    is not. The first update, the one that would make step 1, is refused by its step and
    the run stays at theta_0."""
    data = {"X": [[1e155], [2e155], [3e155]], "y": [0.5, 1.5, 2.5]}
    config = {"data": data, "model": {"hidden": []}, "init_params": [0.01, 0.0]}
    t = Trainer(build({**config, "optimizer": {"name": "sgd", "lr": 0.1}}), 10)
    with np.errstate(over="ignore", invalid="ignore"):  # as a live caller runs steps
        outcome = t.step()
    assert outcome == "gradient became non-finite at step 1"
    assert t.state.step == 0 and t.state.theta.tolist() == [0.01, 0.0]


def test_a_model_too_big_for_two_cached_steps_replays_one_at_a_time() -> None:
    """Two hidden layers of 512 on moons: 264,705 parameters, so one step of theta and its
    gradient is 16 * 264,705 bytes, more than half of SEGMENT_BYTES (8 MiB). Rebuilding
    step 3 then caches the one-step segment 3..4 (theta_3, theta_4 and one gradient: 3 *
    8 * 264,705 bytes), within SEGMENT_BYTES."""
    limits = Limits(max_params=300_000, max_width=512)
    t = Trainer(build({"preset": "moons-mlp", "model": {"hidden": [512, 512]}}, limits), 10)
    P = t.model.n_params
    assert P == 264_705 and 16 * P > SEGMENT_BYTES // 2
    path: list[np.ndarray] = [t.state.theta.copy()]
    _live(t, 10, path, [])
    np.testing.assert_array_equal(t.params_at(np.array([3])), [path[3]])
    seg = t._segment
    assert seg is not None and (seg.start, seg.end) == (3, 4)
    assert seg.thetas.nbytes + seg.grads.nbytes == 3 * 8 * P <= SEGMENT_BYTES


@pytest.mark.parametrize(("budget", "room"), [(100_000, 100_000 - 576), (1000, 576)])
def test_the_kept_states_get_the_budget_less_room_for_the_current_state(
    budget: int, room: int
) -> None:
    """line's theta is 16 bytes: the current state a snapshot also stores is counted as
    theta and three optimizer buffers plus 512, 4 * 16 + 512 = 576 bytes, and the kept
    states get the rest of ``checkpoint_bytes`` (but never less than that much)."""
    t = Trainer(build({"preset": "line"}), 10, Limits(checkpoint_bytes=budget))
    assert t.checkpoints.max_bytes == room


def test_a_per_step_schedule_decays_at_steps_not_epochs() -> None:
    """moons-mlp has 7 steps an epoch; a step decay halving every 3 *steps* gives the
    updates 1-3 the base lr 0.01, 4-6 half of it, 7-9 a quarter (step k uses the lr after
    k - 1 ticks), where per epoch all seven would use 0.01."""
    schedule = {"name": "step", "step_size": 3, "gamma": 0.5, "interval": "step"}
    t = Trainer(build({"preset": "moons-mlp", "schedule": schedule}), 10)
    used = []
    for _ in range(9):
        outcome = t.step()
        assert not isinstance(outcome, str)
        used.append(outcome[3])
    assert used == [0.01] * 3 + [0.005] * 3 + [0.0025] * 3
