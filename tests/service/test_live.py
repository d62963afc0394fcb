"""LiveRun: every command's limits in one place, checked before anything changes."""

from __future__ import annotations

import re

import numpy as np
import pytest

from gradscape.core.config import Limits
from gradscape.core.session import TrainingSession
from gradscape.service.decimate import spaced, thin
from gradscape.service.errors import ConflictError, PayloadTooLargeError
from gradscape.service.exporting import EXPORT_FIELDS
from gradscape.service.live import Budgets, LiveRun, check_events, replayed
from gradscape.service.work import Work

SMALL = Budgets(max_steps_per_call=50, max_trajectory_steps=120, max_events=2)


def _line(budgets: Budgets = SMALL) -> LiveRun:
    return LiveRun.create({"preset": "line"}, budgets)


def test_step_trains_like_the_session_and_keeps_captured_params() -> None:
    run = _line()
    steps = run.step(40, evaluate=10)
    ref = TrainingSession({"preset": "line"})
    ref.step(40)
    assert run.session.step_count == 40 and np.array_equal(run.session.params, ref.params)
    assert [k for k, _ in run.recent] == [10, 20, 30, 40] == steps.captured_steps.tolist()
    np.testing.assert_array_equal(run.params_for([0, 20, 40]), ref.params_at([0, 20, 40]))


@pytest.mark.parametrize(
    ("n", "fields", "error", "words"),
    [
        (51, (), ValueError, "max_steps_per_call=50"),
        (50, ("params",) * 30_000, PayloadTooLargeError, "max_response_floats"),
    ],
)
def test_step_refusals_change_nothing(
    n: int, fields: tuple[str, ...], error: type[Exception], words: str
) -> None:
    run = _line(Budgets(max_steps_per_call=50, max_response_floats=1_000_000))
    with pytest.raises(error, match=words):
        run.step(n, fields=fields)
    assert run.session.step_count == 0 and not run.recent


def test_too_many_rows_of_params_says_how_to_fetch_them() -> None:
    # line has 2 parameters (w, b): 40 rows of params are 40 x (2 + 1) = 120 numbers
    run = _line(Budgets(max_response_floats=100))
    with pytest.raises(PayloadTooLargeError) as refused:
        run.step(40, fields=("params",))
    assert str(refused.value) == (
        "40 rows x 2 parameters is over max_response_floats=100; ask for fewer steps, "
        "or fetch params with GET .../trajectory?every=k"
    )
    run.step(33, fields=("params",))  # 99 numbers fit
    assert run.session.step_count == 33


def test_the_step_limit_is_a_conflict_and_a_status() -> None:
    run = _line()
    run.step(50)
    run.step(50)
    with pytest.raises(ConflictError, match="max_trajectory_steps=120"):
        run.step(30)
    run.step(20)
    assert run.status == "limit"
    with pytest.raises(ConflictError, match="max_trajectory_steps=120"):
        run.play(None)
    assert not run.playing


def test_epochs_count_like_keras() -> None:
    run = LiveRun.create({"preset": "minibatch-noise"})  # 100 samples, batch 4
    assert run.steps_for(None, 3) == 75 and run.steps_for(7, None) == 7
    assert run.steps_for(None, None) == 1
    with pytest.raises(ValueError, match="not both"):
        run.steps_for(1, 1)


def test_play_rate_bounds_and_ticks() -> None:
    run = _line()
    for bad in (0, -1, float("nan"), float("inf"), True, "9", 200_001):
        with pytest.raises(ValueError, match="steps_per_second"):
            run.play(bad)  # type: ignore[arg-type]
    assert not run.playing
    assert run.tick(10) == 0  # not playing: a tick makes nothing
    run.play(100)
    assert run.playing and run.status == "running" and run.steps_per_second == 100.0
    assert run.tick(30) == 30 and run.session.step_count == 30
    assert run.tick(200) == 90 and run.status == "limit"  # clamped at the step limit
    assert run.tick(5) == 0


def test_a_small_play_tick_evaluates_the_full_data_loss_at_every_step() -> None:
    """A tick of fewer than 2 x POINTS_PER_TICK (16) steps draws every one of them: each
    step's full-data loss is recorded by the tick itself, mean((w x + b - y)^2) at that
    step's (w, b), and each step's parameters are kept for the path."""
    run = LiveRun.create({"preset": "minibatch-noise"}, SMALL)  # batches of 4 of 100 rows
    run.play(100)
    assert run.tick(5) == 5
    s = run.session
    ds = s.dataset
    assert ds is not None
    x, y = ds.X[:, 0], ds.y
    recorded = s.recorded(1, 6, ["loss"])["loss"]  # as the tick left them: nothing added
    for k, loss in zip(range(1, 6), recorded.tolist(), strict=True):
        w, b = s.params_at([k])[0]
        assert loss == pytest.approx(np.mean((w * x + b - y) ** 2), rel=1e-12), k
    assert [k for k, _ in run.recent] == [1, 2, 3, 4, 5]


def test_events_budget_and_rewind_forgets_later_parameters() -> None:
    run = _line()
    run.set({"lr": 0.2})
    run.set({"lr": 0.3})
    with pytest.raises(ConflictError, match="max_events=2"):
        run.set({"lr": 0.4})
    assert run.session.settings["lr"] == 0.3
    run.step(40, evaluate=5)
    run.play(None)
    run.rewind(12)
    assert not run.playing and max(k for k, _ in run.recent) <= 12
    run.reset()
    assert run.session.step_count == 0 and not run.recent


def test_check_events_names_the_event_and_the_limit() -> None:
    ok = check_events([[0, {"lr": 0.2}], [5, {"lr": 0.1}]], 10, SMALL)
    assert ok == [(0, {"lr": 0.2}), (5, {"lr": 0.1})]
    cases = [
        ([[30_041_869, {"lr": 0.2}]], 10, "events[0]"),
        ([[1, {}], [0, {}]], 10, "events[1]: steps must not decrease"),
        ([[1, {}]] * 3, 10, "max_events=2"),
        ([[True, {}]], 10, "events[0]"),
        ([[1]], 10, "events[0]: must be a [step, change] pair"),
        ([], 121, "max_trajectory_steps=120"),
    ]
    for events, steps, words in cases:
        with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
            check_events(events, steps, SMALL)


def test_imported_replays_bit_for_bit_and_reaches_divergence() -> None:
    live = _line()
    live.step(30)
    live.set({"lr": 0.05})
    live.step(20)
    back = LiveRun.imported(live.session.config, live.session.events, 50, None, SMALL)
    assert np.array_equal(back.session.params, live.session.params)
    wild = LiveRun.create({"preset": "line", "optimizer": {"lr": 1e6}}, SMALL)
    while wild.status != "diverged":
        wild.step(50)
    again = LiveRun.imported(wild.session.config, [], wild.session.step_count, "diverged", SMALL)
    assert again.status == "diverged" and again.session.step_count == wild.session.step_count


def test_resolution_budget() -> None:
    run = _line(Budgets(max_resolution=31))
    run.check_resolution(31)
    with pytest.raises(ValueError, match="resolution: 32 is over max_resolution=31"):
        run.check_resolution(32)


def test_spaced_keeps_ends_and_bounds_the_count() -> None:
    assert spaced(5, 10).tolist() == [0, 1, 2, 3, 4]
    picks = spaced(1001, 7)
    assert picks[0] == 0 and picks[-1] == 1000 and len(picks) == 7
    assert np.all(np.diff(picks) > 0)
    np.testing.assert_array_equal(thin(np.arange(10, 20), 3), [10, 14, 19])


def test_imported_keeps_its_budgets_limits_and_name() -> None:
    live = _line()
    live.step(50)
    live.step(50)
    live.step(20)  # at SMALL's max_trajectory_steps=120
    back = LiveRun.imported(live.session.config, [], 120, None, SMALL, run_id="r1", created=5.0)
    assert back.budgets is SMALL and back.status == "limit"  # 120 of SMALL's 120 steps
    assert back.id == "r1" and back.created == 5.0
    with pytest.raises(
        ValueError, match=re.escape("data.n_samples must be between 1 and 10, got 50")
    ):
        LiveRun.imported({"preset": "line"}, [], 0, None, SMALL, Limits(max_samples=10))


def test_replay_of_a_diverged_snapshot_goes_no_further() -> None:
    wild = LiveRun.create({"preset": "line", "optimizer": {"lr": 1e6}}, SMALL)
    while wild.status != "diverged":
        wild.step(50)
    s = wild.session
    T = s.step_count
    # a change logged at the step it stopped at is not applied to a diverged run
    out = replayed(s.config, [[T, {"lr": 0.1}]], T, "diverged", session=s)
    assert out is s and s.status == "diverged" and s.step_count == T and s.events == []
    assert s.settings["lr"] == 1e6


def test_an_import_that_says_diverged_looks_two_steps_past_its_step() -> None:
    """The step that diverged is made (theta_{T+1}) and the next one's batch loss finds it
    non-finite: two steps. A run that does not diverge there goes on from T + 2."""
    again = LiveRun.imported({"preset": "line"}, [], 10, "diverged", SMALL)
    assert again.session.step_count == 12 and again.status == "paused"


def test_every_to_fit_spaces_an_export_to_the_budget_and_says_so() -> None:
    # line, 9 steps: 10 rows of the 9 export fields + 2 parameters = 11 numbers a row.
    # 43 numbers hold 43 // 11 = 3 rows; one in ceil(10 / 3) = 4 keeps steps 0, 4, 8
    # (33 numbers); one in 3 would keep 4 rows, 44 numbers, one too many.
    run = _line(Budgets(max_response_floats=43))
    run.step(9)
    assert run.every_to_fit(EXPORT_FIELDS, None) == (
        4,
        "one step in 4 (3 of 10 rows) to fit max_response_floats=43; every=k asks for "
        "another spacing, and importing this export rebuilds every step",
    )
    assert run.every_to_fit(EXPORT_FIELDS, 4) == (4, None)  # 3 rows fit
    with pytest.raises(PayloadTooLargeError) as refused:
        run.every_to_fit(EXPORT_FIELDS, 3)  # 4 rows x 11 = 44 numbers
    assert str(refused.value) == (
        "4 rows x 2 parameters is over max_response_floats=43; use a larger every=k"
    )
    wide = _line(Budgets(max_response_floats=11))  # exactly one row fits: every step is 11
    wide.step(2)
    assert wide.every_to_fit(EXPORT_FIELDS, None) == (
        3,
        "one step in 3 (1 of 3 rows) to fit max_response_floats=11; every=k asks for "
        "another spacing, and importing this export rebuilds every step",
    )
    narrow = _line(Budgets(max_response_floats=10))  # not even one row of 11 numbers
    with pytest.raises(PayloadTooLargeError) as refused:
        narrow.every_to_fit(EXPORT_FIELDS, None)
    assert str(refused.value) == (
        "1 rows x 2 parameters is over max_response_floats=10; ask the server for a larger "
        "max_response_floats"
    )


def test_a_diverged_run_or_a_full_event_log_refuses_a_live_change_saying_what_to_do() -> None:
    wild = LiveRun.create({"preset": "line", "optimizer": {"lr": 1e6}}, SMALL)
    while wild.status != "diverged":
        wild.step(50)
    with pytest.raises(ConflictError) as refused:
        wild.set({"lr": 0.1})
    assert str(refused.value) == (
        "the session diverged: rewind or reset it before a live change "
        "(GET .../recovery suggests the step and the change)"
    )
    run = _line()
    run.set({"lr": 0.2})
    run.set({"lr": 0.3})
    with pytest.raises(ConflictError) as refused:
        run.set({"lr": 0.4})
    assert (
        str(refused.value) == "the session has max_events=2 live changes; reset it to change more"
    )


def test_rewind_keeps_the_parameters_of_its_step_and_the_bound_on_them() -> None:
    run = _line()
    run.step(40, evaluate=4)
    run.play(None)
    run.rewind(12)
    assert run.playing is False
    assert [k for k, _ in run.recent] == [4, 8, 12]  # step 12's own parameters stay
    # line has P = 2: max(64, 262144 // 2) parameter vectors are kept, after a rewind too
    assert run.recent.maxlen == 131_072


def test_play_takes_rates_up_to_and_including_the_budget() -> None:
    run = _line()
    for rate in (1, 0.5, 200_000):  # max_steps_per_second defaults to 200,000
        run.play(rate)
        assert run.steps_per_second == float(rate)
    message = "steps_per_second: must be in (0, 200000] or null"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        run.play(200_000.5)


def test_memory_counts_the_data_and_each_kept_parameter_vector() -> None:
    run = _line()
    run.step(40, evaluate=10)  # keeps 4 vectors of 2 float64s: 4 x (16 + 64) bytes
    # line's data: X (50, 1) and y (50,) in float64, 2 x 400 bytes
    assert run.memory_bytes() == run.session.memory_bytes() + 800 + 4 * 80
    surface = LiveRun.create({"preset": "rosenbrock"})  # no data
    surface.step(3, evaluate=1)  # 3 vectors kept
    assert surface.memory_bytes() == surface.session.memory_bytes() + 3 * 80


def test_kept_steps_are_the_checkpoints_the_kept_vectors_and_the_last() -> None:
    run = _line()
    run.step(40, evaluate=10)
    # a fresh line run's only checkpoint is step 0
    assert run.kept_steps() == frozenset({0, 10, 20, 30, 40})
    run.step(5, evaluate="none")  # step 45 is not kept, but it is where the run is
    assert run.kept_steps() == frozenset({0, 10, 20, 30, 40, 45})


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        (-1, "step: must be a non-negative integer, got -1"),
        (2.5, "step: must be a non-negative integer, got 2.5"),
        (True, "step: must be a non-negative integer, got True"),
        ("3", "step: must be a non-negative integer, got '3'"),
    ],
)
def test_check_events_refuses_a_step_that_is_not_a_count(steps: object, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        check_events([], steps, SMALL)  # type: ignore[arg-type]


def test_check_events_takes_step_zero_and_an_event_at_the_exports_step() -> None:
    assert check_events([], 0, SMALL) == []
    assert check_events([[0, {"lr": 0.2}]], 0, SMALL) == [(0, {"lr": 0.2})]
    assert check_events([[10, {"lr": 0.2}]], 10, SMALL) == [(10, {"lr": 0.2})]


def test_steps_or_epochs_but_not_both() -> None:
    with pytest.raises(ValueError, match=r"^steps: give steps or epochs, not both$"):
        _line().steps_for(3, 2)


def test_a_response_of_exactly_max_response_floats_is_allowed() -> None:
    run = _line(Budgets(max_response_floats=11))  # one row of 9 fields + 2 parameters
    run.step(2)
    assert run.every_to_fit(EXPORT_FIELDS, 3) == (3, None)  # steps 0 only: 11 numbers


def test_a_long_step_call_evaluates_at_most_max_evaluated_records_and_only_when_asked() -> None:
    budgets = Budgets(max_steps_per_call=50, max_evaluated=10)
    run = _line(budgets)
    run.step(25)  # "all" of 25 > 10: one in ceil(25 / 10) = 3, and the last
    assert [k for k, _ in run.recent] == [3, 6, 9, 12, 15, 18, 21, 24, 25]
    quiet = _line(budgets)
    quiet.step(25, evaluate="none")  # nothing asked: nothing kept
    assert not quiet.recent
    spaced_out = _line(budgets)
    spaced_out.step(25, evaluate=12)  # asked for: kept as asked
    assert [k for k, _ in spaced_out.recent] == [12, 24, 25]


def test_pause_says_why_only_when_it_stopped_a_playing_run() -> None:
    run = _line()
    run.pause("its last viewer closed the socket")  # not playing: nothing stopped
    assert run.paused_because is None and run.playing is False
    run.play(None)
    run.pause("its last viewer closed the socket")
    assert run.paused_because == "its last viewer closed the socket"
    assert run.playing is False


def test_a_step_call_whose_client_went_away_stops_after_one_update() -> None:
    """``go_on`` is asked after each update: a cancelled call keeps the one it made."""
    run = _line()
    work = Work(None, 10.0, slice_seconds=0.0)
    work.cancel()
    steps = run.step(30, work=work)
    assert run.session.step_count == 1 and len(steps) == 1 and steps[0].step == 1
    assert work.reason == "the client went away"


def test_a_step_call_of_exactly_max_evaluated_evaluates_every_record() -> None:
    run = _line(Budgets(max_steps_per_call=50, max_evaluated=10))
    run.step(10)
    assert [k for k, _ in run.recent] == list(range(1, 11))


def test_a_new_run_starts_paused_with_nothing_drawn_or_measured() -> None:
    run = LiveRun(TrainingSession({"preset": "line"}))
    assert run.id == "" and run.created == 0.0 and run.budgets == Budgets()
    assert run.playing is False and run.steps_per_second is None and run.paused_because is None
    assert run.plane is None and run.costs == {} and not run.recent
    assert run.status == "paused"


def test_create_passes_on_its_limits_and_name() -> None:
    run = LiveRun.create({"preset": "line"}, SMALL, run_id="r2", created=7.0)
    assert run.id == "r2" and run.created == 7.0 and run.budgets is SMALL
    with pytest.raises(
        ValueError, match=re.escape("data.n_samples must be between 1 and 10, got 50")
    ):
        LiveRun.create({"preset": "line"}, SMALL, Limits(max_samples=10))


def test_a_wide_net_keeps_at_least_64_recent_parameter_vectors() -> None:
    """Moons (2 features, 1 output) with [64, 64]: 2*64 + 64 + 64*64 + 64 + 64 + 1 = 4417
    parameters; 262,144 // 4417 = 59 vectors would fit the floats, 64 are kept."""
    run = LiveRun.create({"preset": "moons-mlp", "model": {"hidden": [64, 64]}})
    assert run.session.model.n_params == 4417
    assert run.recent.maxlen == 64


def test_a_run_that_cannot_train_says_why_and_what_to_do() -> None:
    wild = LiveRun.create({"preset": "line", "optimizer": {"lr": 1e6}}, SMALL)
    while wild.status != "diverged":
        wild.step(50)
    with pytest.raises(ConflictError) as refused:
        wild.step(1)
    assert str(refused.value) == "the session diverged; rewind or reset it before stepping"
    full = _line()
    full.step(50)
    full.step(50)
    full.step(20)
    with pytest.raises(ConflictError) as refused:
        full.play(None)
    assert str(refused.value) == (
        "the session is at max_trajectory_steps=120; rewind or reset it first"
    )
