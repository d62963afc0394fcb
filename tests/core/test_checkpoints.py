"""Kept states stay within 64 and a byte budget, densest near T, and bound every replay."""

from __future__ import annotations

import numpy as np
import pytest

from gradscape.core.checkpoints import (
    MAX_CHECKPOINTS,
    Checkpoints,
    ladder_base,
    replay_bound,
    rung,
)
from gradscape.core.config import Limits
from gradscape.core.history import SCALARS
from gradscape.core.optim import make_optimizer
from gradscape.core.session import TrainingSession
from gradscape.core.snapshot import Snapshot, dumps
from gradscape.core.state import State


def _state(n_params: int = 3) -> State:
    opt = make_optimizer("sgd", n_params, lr=0.1)
    return State(0, np.zeros(n_params), opt, 0.1, 0.1, None, {"name": "constant"}, None)


def _grown(
    every: int, until: int, max_bytes: int = 2**40, base: int | None = None
) -> tuple[Checkpoints, list[int]]:
    """Checkpoints kept over a run of ``until`` steps; the worst replay seen on the way."""
    kept, state, worst = Checkpoints(every, max_bytes, base=base), _state(), []
    for step in range(0, until + 1, every):
        state.step = step
        kept.keep(state, step)
        worst.append(_worst_replay(kept, step + every - 1) if step < until else 0)
    return kept, worst


def _worst_replay(kept: Checkpoints | list[int], step_count: int) -> int:
    """The most steps any step in ``0..step_count`` replays from its nearest kept state."""
    steps = sorted(kept)
    return int(max(np.diff([*steps, step_count + 1]))) - 1


def test_the_schedule_keeps_at_most_64_and_bounds_every_replay() -> None:
    kept, worst = _grown(100, 1_000_000)
    assert len(kept) <= MAX_CHECKPOINTS and 0 in kept
    bounds = [replay_bound(step + 99) for step in range(0, 1_000_001, 100)]
    assert all(w <= b for w, b in zip(worst, bounds, strict=True))
    assert _worst_replay(kept, 1_000_000) <= 1_000_000 // 32


def test_the_schedule_is_densest_near_the_latest_step() -> None:
    kept, _ = _grown(100, 300_000)
    gaps = np.diff(sorted(kept))
    assert list(gaps[-5:]) == [100] * 5  # every candidate of the last stretch is kept
    assert gaps[-10:].mean() < gaps[:10].mean() / 8


def test_at_the_default_step_cap_the_grid_uses_63_of_the_64_states() -> None:
    cap = 1_000_000
    base = ladder_base(100, cap)
    kept, worst = _grown(100, cap, base=base)
    assert len(kept) <= MAX_CHECKPOINTS and 0 in kept
    bounds = [replay_bound(step + 99) for step in range(0, cap + 1, 100)]
    assert all(w <= b for w, b in zip(worst, bounds, strict=True))
    # 16,000 apart (63 states): a base of 100 would leave 40 states 25,600 apart
    assert _worst_replay(kept, cap) < cap // (MAX_CHECKPOINTS - 2)
    assert _worst_replay(_grown(100, cap)[0], cap) >= 25_599


@pytest.mark.parametrize("cap", [40_000, 200_000, 700_000, 2_500_000])
def test_the_ladder_suits_any_step_cap(cap: int) -> None:
    base = ladder_base(100, cap)
    assert base % 100 == 0 and base <= 1000
    kept, worst = _grown(100, cap, base=base)
    assert len(kept) <= MAX_CHECKPOINTS
    bounds = [replay_bound(step + 99) for step in range(0, cap + 1, 100)]
    assert all(w <= b for w, b in zip(worst, bounds, strict=True))
    # the coarse grid at the cap uses at least 54 states, whatever the cap
    assert _worst_replay(kept, cap) < cap // 53


def test_a_ladder_base_must_be_a_multiple_of_the_spacing() -> None:
    for bad in (150, 0, -100, 2.5, True, "500"):
        with pytest.raises(ValueError, match="not a multiple"):
            Checkpoints(100, base=bad)  # type: ignore[arg-type]
    assert ladder_base(5000, 1_000_000) == 5000  # above MIN_REPLAY: no choice


@pytest.mark.parametrize(("every", "until"), [(1, 20_000), (7, 100_000), (5000, 200_000)])
def test_every_checkpoint_spacing_keeps_the_bound(every: int, until: int) -> None:
    kept, worst = _grown(every, until)
    assert len(kept) <= MAX_CHECKPOINTS
    assert max(worst) <= max(replay_bound(until), every - 1)


def test_a_byte_budget_keeps_fewer_and_widens_the_bound_accordingly() -> None:
    size = _state().nbytes()
    room = 10
    kept, worst = _grown(100, 100_000, max_bytes=room * size)
    assert len(kept) <= room and kept.nbytes() <= room * size
    assert worst[-1] <= max(replay_bound(100_000), 2 * 100_000 // room)
    assert 0 in kept


def test_a_snapshot_keeps_its_ladder_and_an_old_one_keeps_the_old_ladder() -> None:
    s = _moons()
    assert s._trainer.checkpoints.base == ladder_base(100, Limits().max_steps) == 500
    s.step(1200, evaluate="none")
    again = TrainingSession.restore(s.snapshot(), s.config)
    assert again._trainer.checkpoints.base == 500
    assert again.checkpoint_steps == s.checkpoint_steps
    t = s._trainer
    old = dumps(
        Snapshot(s.config, s._history, t.state, dict(t.checkpoints), t.events, s.status, None)
    )
    assert TrainingSession.restore(old, s.config)._trainer.checkpoints.base == 100
    capped = TrainingSession({"preset": "moons-mlp"}, limits=Limits(max_steps=200_000))
    assert capped._trainer.checkpoints.base == ladder_base(100, 200_000) == 100


def _moons(**overrides: object) -> TrainingSession:
    return TrainingSession({"preset": "moons-mlp", **overrides})


@pytest.fixture(scope="module")
def long_run() -> dict[str, object]:
    """moons-mlp measured at 10,000 and 20,000 steps."""
    s = _moons()
    seen: dict[str, object] = {}
    for at in (10_000, 20_000):
        s.step(at - s.step_count, evaluate="none")
        seen[at] = (s.memory_bytes(), len(s.snapshot()), len(s.checkpoint_steps))
    seen["session"] = s
    return seen


def _column_bytes(s: TrainingSession) -> int:
    return 8 * (len(SCALARS) + len(s.model.layer_slices))


def test_memory_grows_only_by_the_per_step_columns(long_run: dict[str, object]) -> None:
    (m1, _, n1), (m2, _, n2) = long_run[10_000], long_run[20_000]  # type: ignore[misc]
    s = long_run["session"]
    assert isinstance(s, TrainingSession)
    per_step = (m2 - m1) / 10_000
    # The columns grow by a quarter at a time, so up to 25% of them is spare capacity.
    assert per_step <= 1.25 * _column_bytes(s) + 8
    assert n1 <= MAX_CHECKPOINTS and n2 <= MAX_CHECKPOINTS


def test_snapshot_bytes_per_step_are_less_than_the_raw_columns(
    long_run: dict[str, object],
) -> None:
    (_, b1, _), (_, b2, _) = long_run[10_000], long_run[20_000]  # type: ignore[misc]
    s = long_run["session"]
    assert isinstance(s, TrainingSession)
    assert (b2 - b1) / 10_000 <= 0.75 * _column_bytes(s)


def test_a_long_run_rebuilds_within_the_bound(long_run: dict[str, object]) -> None:
    s = long_run["session"]
    assert isinstance(s, TrainingSession)
    assert _worst_replay(s.checkpoint_steps, s.step_count) < replay_bound(s.step_count)


def test_a_big_model_keeps_its_checkpoints_within_the_byte_budget() -> None:
    budget = 400_000
    s = TrainingSession(
        {
            "preset": "moons-mlp",
            "model": {"hidden": [64, 64]},
            "optimizer": {"name": "adam", "lr": 0.01},
        },
        limits=Limits(checkpoint_bytes=budget),
        checkpoint_every=10,
    )
    s.step(1500, evaluate="none")
    held = s._trainer.checkpoints
    size = held[max(held)].nbytes()  # Adam's buffers exist from step 1 on
    # the budget covers the snapshot: the kept states plus room for the current one
    room = budget - (4 * s.params.nbytes + 512)
    assert held.nbytes() <= room < held.nbytes() + size  # full, never over
    assert _worst_replay(s.checkpoint_steps, 1500) <= max(replay_bound(1500), 2 * 1500 // 3)
    steps = [0, 1, 333, 777, 1111, 1499]
    again = TrainingSession.replay(s.config, s.events, s.step_count, checkpoint_every=1)
    np.testing.assert_array_equal(s.params_at(steps), again.params_at(steps))


@pytest.mark.parametrize("base", [1, 3, 10, 64, 100])
def test_rung_is_the_largest_doubling_of_the_base_within_the_replay_bound(base: int) -> None:
    """The docstring's definition, enumerated: the largest ``base * 2**j`` not above
    ``replay_bound(T)``, or ``base`` when none is."""
    for step_count in [0, 1, 2, 5, 63, 64, 65, 100, 1000, 4095, 4096, 10_000, 123_457]:
        bound = replay_bound(step_count)
        fits = [base * 2**j for j in range(40) if base * 2**j <= bound]
        assert rung(base, step_count) == (max(fits) if fits else base), (base, step_count)


def test_the_coarse_grid_counts_the_latest_step_when_it_is_a_multiple() -> None:
    """``grid(T)``: the finest ``rung * 2**j`` whose every multiple in ``0..T``, T itself
    included, is kept. With states at 0, 1000 and 2000 on a ladder of 1000 (its rung up to
    T = 63,999), the 1000-grid is complete up to T = 2999 only; at T = 3000 the state at
    3000 is missing, so only the 2000-grid {0, 2000} is complete; at T = 4000 (4000
    missing) only the 8000-grid {0}."""
    kept, state = Checkpoints(1000, base=1000), _state()
    for step in (0, 1000, 2000):
        state.step = step
        kept.keep(state, step)
    assert sorted(kept) == [0, 1000, 2000]
    assert [kept.grid(t) for t in (2000, 2999, 3000, 3999, 4000)] == [1000, 1000, 2000, 2000, 8000]


def test_after_is_the_first_kept_step_past_a_step() -> None:
    """States kept at 0, 1000 and 2000: the first kept after 0 (or 999) is 1000, after
    1000 (or 1500, 1999) it is 2000, and none is kept after 2000."""
    kept, state = Checkpoints(1000, base=1000), _state()
    for step in (0, 1000, 2000):
        state.step = step
        kept.keep(state, step)
    assert [kept.after(s) for s in (0, 999, 1000, 1500, 1999)] == [1000, 1000, 2000, 2000, 2000]
    assert kept.after(2000) is None and kept.after(5000) is None


def test_ladder_base_takes_the_finest_grid_that_fits_among_multiples_up_to_min_replay() -> None:
    """Worked cases of the definition (``rung`` is the largest ``g * 2**j`` within the
    replay bound, T // 32 or 1000; a grid fits when T // spacing + 1 <= max_count):

    - every 200, T = 63,000 (bound 1968): g = 200, 400, 800 give 1600, g = 600 gives 1200
      and g = 1000 gives 1000, which fits exactly (63 + 1 = 64 states): base 1000.
    - T = 63,500: 63,500 // 1000 + 1 is still 64 (floor division): base 1000.
    - every 143, T = 60,000 (bound 1875): the multiples up to 1000 stop at 858; 143, 286
      and 572 give 1144, the finest (429, 858: 1716; 715: 1430): base 143, the first
      (1001, above MIN_REPLAY, is no candidate though its 1001 would be finer).
    - every 250, T = 15,000, at most 20 states (bound 1000): 750 gives 750, 21 states, too
      many; 250, 500 and 1000 give 1000 (16 states): base 250, the first of them.
    """
    assert ladder_base(200, 63_000) == 1000
    assert ladder_base(200, 63_500) == 1000
    assert ladder_base(143, 60_000) == 143
    assert ladder_base(250, 15_000, max_count=20) == 250


def test_a_base_of_one_is_a_multiple_of_a_spacing_of_one() -> None:
    assert Checkpoints(1, base=1).base == 1
    kept = Checkpoints(1)
    kept.load({0: _state()}, 0, base=1)
    assert kept.base == 1


def test_thinning_evicts_the_highest_age_over_rung_first() -> None:
    """21 states 10 apart (0..200) loaded at T = 200 on a ladder of 30, room for 6. The
    coarse grid is {0} (rung 960), so the 5 fine states with the lowest (T - c) / l stay,
    l the largest 30 * 2**j dividing c when 30 divides c, else the largest 10 * 2**j:
    200 (0), 160 (40 / 160), 180 (20 / 60), 120 (80 / 120), 190 (10 / 10); the next
    would be 80 (120 / 80 = 1.5), then 150 (50 / 30)."""
    states = {}
    for step in range(0, 201, 10):
        states[step] = _state()
        states[step].step = step
    kept = Checkpoints(10, max_count=6, base=30)
    kept.load(states, 200)
    assert sorted(kept) == [0, 120, 160, 180, 190, 200]


def test_the_replay_bound_is_a_whole_number_of_steps() -> None:
    """max(1000, T // 32): 1000 up to T = 32,031, then T // 32 (100,001 // 32 = 3125)."""
    bounds = [replay_bound(t) for t in (0, 32_031, 32_032, 100_001)]
    assert bounds == [1000, 1000, 1001, 3125] and all(type(b) is int for b in bounds)


def test_a_rung_may_reach_the_replay_bound_itself() -> None:
    """The rung is the largest ``base * 2**j`` *not above* the bound: 500 and 125 both
    double up to exactly 1000, the bound of a short run."""
    assert rung(500, 0) == rung(125, 10_000) == 1000


def test_of_two_states_equally_little_needed_the_older_goes() -> None:
    """At T = 200 with states 10 apart (ladder of 10, coarse grid {0}), 180 and 190 both
    score 1: (200 - 180) / 20 and (200 - 190) / 10. With room for three, 180 goes."""
    states = {}
    for step in (0, 180, 190, 200):
        states[step] = _state()
        states[step].step = step
    kept = Checkpoints(10, max_count=3)
    kept.load(states, 200)
    assert sorted(kept) == [0, 190, 200]


def test_a_budget_holds_states_up_to_its_last_byte_and_step_0_always_stays() -> None:
    """``_state()`` counts 3 * 8 + 512 = 536 bytes. A budget of exactly two states keeps
    both; one byte less keeps step 0 only; a budget below one state still keeps step 0."""
    size = _state().nbytes()
    assert size == 536
    for budget, want in ((2 * size, [0, 10]), (2 * size - 1, [0]), (100, [0])):
        kept, state = Checkpoints(10, max_bytes=budget), _state()
        for step in (0, 10):
            state.step = step
            kept.keep(state, step)
        assert sorted(kept) == want, budget
    alone = Checkpoints(10, max_bytes=100)
    alone.keep(_state(), 0)
    assert sorted(alone) == [0] and alone.nbytes() == 536


def test_with_only_the_coarse_grid_left_its_oldest_odd_multiple_goes() -> None:
    """Spacing 1, T = 2048: the rung is 512 (1024 is above the bound 1000), and the states
    are exactly that grid, 0, 512, 1024, 1536, 2048. With room for four, an odd multiple of
    512 goes, the oldest: 512 ((2048 - 512) / 512 = 3 against 1536's 1)."""
    states = {}
    for step in (0, 512, 1024, 1536, 2048):
        states[step] = _state()
        states[step].step = step
    kept = Checkpoints(1, max_count=4)
    kept.load(states, 2048)
    assert sorted(kept) == [0, 1024, 1536, 2048]
