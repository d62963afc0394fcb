"""Fair compute: slots handed over in arrival order, and one call's time budget.

At most ``slots`` threads compute at once (``Turns``). A long call does not keep its
slot: every ``slice_seconds`` it passes its turn to the longest waiting caller and
queues again behind it (``Work.go_on``), so sessions take turns in ~50 ms chunks and
no session's backlog delays another's. A call also stops at its deadline, when it is
cancelled (its client left) and when the server is stopping.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from types import TracebackType

#: Longest stretch of compute before a call lets a waiting one in.
SLICE_SECONDS = 0.05
#: Handovers to waiting calls for each one to waiting background work (play).
FOREGROUND_SHARE = 3


class WorkStoppedError(ValueError):
    """A call's compute was stopped (budget, client gone, server stopping)."""


class Turns:
    """``slots`` compute slots, handed over in arrival order within each class (a release
    gives the slot straight to a waiter, so a thread that releases cannot barge back).

    Two classes: calls somebody waits for (steps, surfaces) and background work (play
    ticks). When both wait, callers get ``FOREGROUND_SHARE`` handovers in every
    ``FOREGROUND_SHARE + 1``: a surface asked beside fifty playing runs still answers
    in a few of its own lengths, and play never stops.
    """

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._lock = threading.Lock()
        self._calls: deque[threading.Event] = deque()
        self._background: deque[threading.Event] = deque()
        self._streak = 0  # handovers to calls in a row while background work waited

    def _next(self) -> threading.Event:
        """The waiter the next free slot goes to (some queue is not empty)."""
        if self._calls and self._background:
            if self._streak >= FOREGROUND_SHARE:
                self._streak = 0
                return self._background.popleft()
            self._streak += 1
            return self._calls.popleft()
        if self._calls:
            return self._calls.popleft()
        self._streak = 0
        return self._background.popleft()

    def acquire(self, background: bool = False) -> None:
        """Wait for a slot."""
        with self._lock:
            if self._free > 0 and not self.waiting:
                self._free -= 1
                return
            ticket = threading.Event()
            (self._background if background else self._calls).append(ticket)
        ticket.wait()

    def release(self) -> None:
        """Give the slot to the next waiter, or back to the pool."""
        with self._lock:
            if self.waiting:
                self._next().set()
            else:
                self._free += 1

    def pass_turn(self, background: bool = False) -> None:
        """Let the next waiter compute, and queue again behind those of its class."""
        with self._lock:
            if not self.waiting:
                return
            ticket = threading.Event()
            (self._background if background else self._calls).append(ticket)
            chosen = self._next()
            if chosen is ticket:  # this caller's turn again
                return
            chosen.set()
        ticket.wait()

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot."""
        return len(self._calls) + len(self._background)

    def __enter__(self) -> Turns:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


class Work:
    """One call's budget: its deadline, cancellation, and turns passed on the way."""

    def __init__(
        self,
        turns: Turns | None,
        seconds: float,
        stopping: threading.Event | None = None,
        slice_seconds: float = SLICE_SECONDS,
    ) -> None:
        self.turns = turns
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.cancelled = threading.Event()
        self.stopping = stopping or threading.Event()
        self.slice_seconds = slice_seconds
        self._next_turn = time.monotonic() + slice_seconds
        #: Why the call stopped before it was done (None while it may go on).
        self.reason: str | None = None
        self._shared = threading.Lock()

    def go_on(self) -> bool:
        """Whether to continue; passes the turn every slice (the hot path: cheap)."""
        now = time.monotonic()
        if now >= self._next_turn:
            if self.turns is not None:
                self.turns.pass_turn()
            self._next_turn = time.monotonic() + self.slice_seconds
            if self.cancelled.is_set():
                self.reason = "the client went away"
            elif self.stopping.is_set():
                self.reason = "the server is stopping"
        if self.reason is None and now >= self.deadline:
            self.reason = f"stopped at max_call_seconds={self.seconds:g}"
        return self.reason is None

    def between(self) -> None:
        """``go_on`` for compute split over threads (a surface's chunks): one thread at a
        time passes the turn (the others wait at their next chunk), and the call is
        stopped by raising ``WorkStoppedError``."""
        with self._shared:
            if not self.go_on():
                raise WorkStoppedError(
                    f"compute stopped: {self.reason}; ask for less (e.g. a coarser grid)"
                )

    def cancel(self) -> None:
        """Stop at the next check (the client disconnected)."""
        self.cancelled.set()
