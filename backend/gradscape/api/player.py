"""Play: a background task per session that runs ``LiveRun.tick`` and publishes each tick.

A run asked for N steps a second is owed ``N x`` the wall time since play started (or
the rate changed), whatever the tick rate; each tick runs what is owed, at most ~50 ms
of work, and the frames say the achieved rate when it falls short. With no rate given,
chunks fill ~70 % of a frame's time (at most 50 ms). Ticks run in the worker threads
(the event loop stays free). When no viewer has taken a frame for
``viewer_grace_seconds`` the run pauses itself and says why. What a tick may do (rate
bounds, the step limit) is ``LiveRun``'s rule.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import Any

from gradscape.api import broadcast
from gradscape.api.registry import Entry, Registry
from gradscape.service.errors import StorageError
from gradscape.service.live import LiveRun

CHUNK_SECONDS = 0.05  # the most work one tick does before the session lets others in
FILL = 0.7  # with no rate: the share of a frame's time a tick computes
WINDOW = 2.0  # seconds over which the achieved rate is measured
SHORT = 0.95  # frames carry the rate when it is below this share of the asked one


class Pace:
    """How many steps a tick is due, and the rate achieved (per play task)."""

    def __init__(self, frame: float, cap: int) -> None:
        self.frame, self.cap = frame, cap
        self.asked: float | None = None
        self.start = 0.0
        self.made = 0  # steps since ``start``
        self.per_step: float | None = None  # seconds of work a step takes (measured)
        self.window: deque[tuple[float, int]] = deque()

    def due(self, asked: float | None, now: float) -> int:
        """Steps the next tick should run."""
        if asked != self.asked or not self.window:
            self.asked, self.start, self.made = asked, now, 0
            self.window = deque([(now, 0)])
        budget = min(CHUNK_SECONDS, FILL * self.frame) if asked is None else CHUNK_SECONDS
        most = 8 if self.per_step is None else int(budget / self.per_step)
        most = max(1, min(self.cap, most))
        if asked is None:
            return most
        owed = int(asked * (now - self.start)) - self.made
        if owed > asked:  # over a second behind: the machine cannot keep up; do not burst
            self.start = now - (self.made + asked) / asked
            owed = int(asked)
        return max(0, min(owed, most))

    def done(self, made: int, seconds: float, now: float) -> None:
        """A tick ran ``made`` steps in ``seconds`` of work."""
        self.made += made
        if made:
            per = seconds / made
            self.per_step = per if self.per_step is None else 0.5 * (self.per_step + per)
        self.window.append((now, self.made))
        while len(self.window) > 2 and now - self.window[1][0] >= WINDOW:
            self.window.popleft()

    def report(self) -> dict[str, Any]:
        """``{"rate": {"asked", "achieved", "reason"}}`` when the run is slower than asked,
        else ``{}``. The reason says which limit it met: the model's own compute (a step's
        measured work times the asked rate fills the time) or a server shared with others."""
        (t0, m0), (t1, m1) = self.window[0], self.window[-1]
        if self.asked is None or t1 - t0 < 1.0:
            return {}
        achieved = (m1 - m0) / (t1 - t0)
        if achieved >= SHORT * self.asked:
            return {}
        per = self.per_step
        if per is not None and per * self.asked >= 0.8:
            ms = 1e3 * per
            reason = (
                f"each step of this model takes {ms:.2g} ms of compute here: "
                f"at most ~{1 / per:.0f} steps/s"
            )
        else:
            reason = "the server is shared with other runs: this one waits for its turn"
        return {"rate": {"asked": self.asked, "achieved": round(achieved, 1), "reason": reason}}


def _timed_tick(run: LiveRun, n: int) -> tuple[int, float]:
    t0 = time.perf_counter()
    made = run.tick(n)
    return made, time.perf_counter() - t0


async def _tick(
    entry: Entry, registry: Registry, n: int, extra: dict[str, Any]
) -> tuple[int, float]:
    """One tick, published to the viewers in the same hold of the lock when there are any."""
    run = entry.run
    hub = broadcast.find(entry)
    if hub is not None:
        got = await hub.publish(lambda: _timed_tick(run, n), extra)
        return got if got is not None else (0, 0.0)
    async with entry.lock:
        got = await registry.run_background(_timed_tick, run, n)
    entry.notify({"type": "steps"})
    return got


async def play(entry: Entry, registry: Registry) -> None:
    """Tick ``entry`` until paused, diverged, at its limit or unread."""
    run, settings = entry.run, registry.settings
    loop = asyncio.get_running_loop()
    frame = 1.0 / settings.frame_rate
    grace = settings.viewer_grace_seconds
    pace = Pace(frame, max(1, int(settings.max_steps_per_second * CHUNK_SECONDS)))
    last_saved = loop.time()
    try:
        while run.status == "running":
            t0 = loop.time()
            n = pace.due(run.steps_per_second, t0)
            made, seconds = await _tick(entry, registry, n, pace.report()) if n else (0, 0.0)
            pace.done(made, seconds, loop.time())
            hub = broadcast.find(entry)
            if hub is not None and hub.unread_for(time.monotonic()) > grace:
                run.pause(f"no viewer read a frame for {grace:g} s")
                break
            if loop.time() - last_saved > 2.0:
                try:
                    await registry.persist(entry, progress=True)
                except StorageError:  # rolled back to what is stored; playing stops
                    break
                last_saved = loop.time()
            await asyncio.sleep(max(0.0, frame - (loop.time() - t0)))
    finally:
        run.pause()
        entry.runner = None
        entry.notify({"type": "status"})
    with contextlib.suppress(StorageError):  # logged; the run is what the database holds
        await registry.persist(entry, progress=True)


def start(entry: Entry, registry: Registry, steps_per_second: float | None) -> None:
    """Start playing (or change the speed of a run already playing); ValueError if refused."""
    entry.run.play(steps_per_second)
    if entry.runner is None:
        entry.runner = asyncio.get_running_loop().create_task(play(entry, registry))
    entry.notify({"type": "status"})


def stop(entry: Entry, because: str | None = None) -> None:
    """Pause (``because``: why, when no client asked for it); the running tick finishes."""
    entry.run.pause(because)
    entry.notify({"type": "status"})
