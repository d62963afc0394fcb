"""Turns hand compute slots over in arrival order, calls before background 3 in 4."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import pytest

from gradscape.service.work import FOREGROUND_SHARE, Turns, Work


def _queue(
    turns: Turns, labels: list[tuple[str, bool]], order: list[str]
) -> list[threading.Thread]:
    threads = []
    for label, background in labels:

        def take(label: str = label, background: bool = background) -> None:
            turns.acquire(background)
            order.append(label)
            turns.release()

        t = threading.Thread(target=take, daemon=True)  # a stuck one does not hang the run
        t.start()
        while turns.waiting < len(threads) + 1:  # queued in this order
            time.sleep(0.001)
        threads.append(t)
    return threads


def test_slots_go_to_waiters_in_arrival_order() -> None:
    turns, order = Turns(1), []
    turns.acquire()
    threads = _queue(turns, [(f"c{i}", False) for i in range(5)], order)
    turns.release()
    for t in threads:
        t.join(5)
    assert order == ["c0", "c1", "c2", "c3", "c4"]


def test_waiting_calls_get_three_handovers_in_four_and_play_still_runs() -> None:
    turns, order = Turns(1), []
    turns.acquire()
    labels = [(f"b{i}", True) for i in range(3)] + [(f"c{i}", False) for i in range(6)]
    threads = _queue(turns, labels, order)
    turns.release()
    for t in threads:
        t.join(5)
    assert FOREGROUND_SHARE == 3
    assert order == ["c0", "c1", "c2", "b0", "c3", "c4", "c5", "b1", "b2"]


def _best_of(call: Callable[[], None], repeat: int = 2000) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - t0)
    return best


@pytest.mark.timing
def test_passing_the_turn_with_nobody_waiting_costs_nothing_and_keeps_the_slot() -> None:
    turns = Turns(1)
    turns.acquire()
    # As cheap as taking and giving back a free slot (two uncontended locks), measured
    # here; a pass that waited or slept even a millisecond would be ~1000x that.
    free = Turns(1)

    def take_and_give_back() -> None:
        free.acquire()
        free.release()

    baseline = _best_of(take_and_give_back)
    passing = _best_of(turns.pass_turn)
    assert passing <= 20 * baseline, (passing, baseline)
    assert turns.waiting == 0
    turns.release()
    assert turns._free == 1  # the slot was kept, then given back once


def test_a_long_call_lets_a_waiting_one_in_between_its_slices() -> None:
    turns, order = Turns(1), []
    work = Work(turns, 10.0, slice_seconds=0.01)
    turns.acquire()
    threads = _queue(turns, [("other", False)], order)
    time.sleep(0.02)
    assert work.go_on()  # passes the turn: "other" runs, then this call goes on
    order.append("long")
    turns.release()
    threads[0].join(5)
    assert order == ["other", "long"]


def test_work_stops_at_its_deadline_when_cancelled_and_when_the_server_stops() -> None:
    assert Work(None, 0.0).go_on() is False
    late = Work(None, 0.0)
    late.go_on()
    assert late.reason == "stopped at max_call_seconds=0"
    gone = Work(None, 10.0, slice_seconds=0.0)
    gone.cancel()
    assert not gone.go_on() and gone.reason == "the client went away"
    stopping = threading.Event()
    stop = Work(None, 10.0, stopping, slice_seconds=0.0)
    assert stop.go_on()
    stopping.set()
    assert not stop.go_on() and stop.reason == "the server is stopping"


def test_a_call_that_passes_its_turn_queues_as_a_call_not_as_background() -> None:
    turns, order = Turns(1), []
    work = Work(turns, 10.0, slice_seconds=0.01)
    turns.acquire()
    threads = _queue(turns, [("play", True), ("call", False)], order)
    time.sleep(0.02)
    # the waiting call goes first; this call queues again behind it, so it is the second
    # call in a row while play waits (3 in 4 go to calls): play comes after it
    assert work.go_on()
    order.append("long")
    turns.release()
    for t in threads:
        t.join(5)
    assert order == ["call", "long", "play"]


def test_background_work_handed_a_slot_alone_restarts_the_count_of_calls() -> None:
    # b0 gets the slot with no call waiting: the streak of calls starts again from 0, so
    # the calls that queue while b0 computes get their full three handovers before b1
    turns, order = Turns(1), []
    holding, go_on = threading.Event(), threading.Event()

    def hold() -> None:
        turns.acquire(background=True)
        order.append("b0")
        holding.set()
        go_on.wait(5)
        turns.release()

    turns.acquire()
    first = threading.Thread(target=hold, daemon=True)
    first.start()
    while turns.waiting < 1:
        time.sleep(0.001)
    turns.release()  # only background work waits: b0
    assert holding.wait(5)
    labels = [("b1", True)] + [(f"c{i}", False) for i in range(4)]
    threads = _queue(turns, labels, order)
    go_on.set()
    for t in [first, *threads]:
        t.join(5)
    assert order == ["b0", "c0", "c1", "c2", "b1", "c3"]


def test_background_work_that_passes_its_turn_queues_behind_background_work() -> None:
    # play passing its turn with only play waiting: the waiting play goes first
    turns, order = Turns(1), []
    turns.acquire()
    threads = _queue(turns, [("b0", True)], order)
    turns.pass_turn(background=True)
    order.append("playing")
    turns.release()
    threads[0].join(5)
    assert order == ["b0", "playing"]


class _Clock:
    """A stand-in for ``time`` in ``service.work``: ``monotonic`` is what the test sets."""

    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return self.now


def test_cancellation_and_stopping_are_seen_once_a_slice_has_gone_by(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = _Clock(100.0)
    monkeypatch.setattr("gradscape.service.work.time", clock)
    gone = Work(None, 10.0, slice_seconds=0.05)
    gone.cancel()
    clock.now = 100.04
    assert gone.go_on() and gone.reason is None  # within the first slice: not checked
    clock.now = 100.0 + 0.05  # exactly one slice
    assert not gone.go_on() and gone.reason == "the client went away"

    stopping = threading.Event()
    clock.now = 100.0
    stop = Work(None, 10.0, stopping, slice_seconds=0.05)
    clock.now = 100.0 + 0.05
    assert stop.go_on()  # a slice gone by: checked, nothing to stop for; the next is at 100.1
    stopping.set()
    clock.now = 100.08
    assert stop.go_on() and stop.reason is None
    clock.now = 100.0 + 0.05 + 0.05
    assert not stop.go_on() and stop.reason == "the server is stopping"
