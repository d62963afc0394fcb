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


class WorkStoppedError(ValueError):
    """A call's compute was stopped (budget, client gone, server stopping)."""


class Turns:
    """``slots`` compute slots, granted first come, first served (a release hands the
    slot straight to the oldest waiter, so a thread that releases cannot barge back)."""

    def __init__(self, slots: int) -> None:
        self._free = slots
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()

    def acquire(self) -> None:
        """Wait for a slot."""
        with self._lock:
            if self._free > 0 and not self._waiting:
                self._free -= 1
                return
            ticket = threading.Event()
            self._waiting.append(ticket)
        ticket.wait()

    def release(self) -> None:
        """Give the slot to the oldest waiter, or back to the pool."""
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1

    def pass_turn(self) -> None:
        """Let the oldest waiter compute, and wait behind every caller already queued."""
        with self._lock:
            if not self._waiting:
                return
            ticket = threading.Event()
            self._waiting.popleft().set()
            self._waiting.append(ticket)
        ticket.wait()

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot."""
        return len(self._waiting)

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
