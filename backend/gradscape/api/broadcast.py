"""Frames cut once per publish and shared by every viewer of a session.

A publish (after each play tick, and after a command or change the socket is told of)
takes the session's lock once, copies the records since the last publish
(``frames.cut``, with the state when one is due), makes the step count durable, and
then, outside the lock, builds and encodes one ``steps`` frame. Every viewer exactly
one publish behind sends those same bytes; a viewer further behind gets one catch-up
frame joined from the recent cuts (past them, cut afresh), never a queue. Viewers never
take the lock. ``unread_for`` tells the player how long frames have waited with no
viewer taking one (a closed laptop lid: the socket is open, its buffer full).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from gradscape.api.registry import Entry, Registry
from gradscape.core.state import Event
from gradscape.service import frames, views
from gradscape.service.errors import StorageError
from gradscape.service.live import LiveRun

T = TypeVar("T")
log = logging.getLogger("gradscape")
RECENT_ROWS = 20_000  # steps of recent cuts kept for viewers a few publishes behind
_hubs: weakref.WeakKeyDictionary[Entry, Broadcast] = weakref.WeakKeyDictionary()


def dumps(message: dict[str, Any]) -> str:
    """Compact JSON, finite numbers only."""
    return json.dumps(message, allow_nan=False, separators=(",", ":"))


@dataclass(frozen=True)
class Latest:
    """One publish: the shared frame of its steps and the newest state (read-only)."""

    seq: int
    run: LiveRun
    cut: frames.Cut
    steps: str | None  # the encoded frame of ``cut`` (None: no new steps)
    extra: dict[str, Any]  # fields the player adds to frames (the achieved rate)
    state_seq: int  # the publish that took ``info``
    info: dict[str, Any]  # views.info at state_seq, whole (every event, the names)
    events: list[Event]  # the event log at state_seq
    error: tuple[int, str] | None = None  # (seq, text) of the last storage error


@dataclass(eq=False)
class Viewer:
    """One socket's view: what it has been sent, and since when a frame has waited for it."""

    seq: int = -1  # the last publish it took
    state_seq: int = -1
    sent: int = -1  # the last step it was sent
    events: list[Event] = field(default_factory=list)  # the event log as it was sent it
    run: LiveRun | None = None
    waiting_since: float | None = None  # a publish it has not taken yet came at this time
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class Broadcast:
    """The publisher of one session and the viewers it feeds (the entry's one listener)."""

    def __init__(self, entry: Entry, registry: Registry) -> None:
        self.entry, self.registry = entry, registry
        self.viewers: set[Viewer] = set()
        self.latest: Latest | None = None
        self.recent: deque[frames.Cut] = deque()
        self.state_due = True
        self.due = asyncio.Event()
        self.publishing = asyncio.Lock()
        self.task: asyncio.Task[None] | None = None
        self._seq = 0
        self._texts: dict[tuple[Any, ...], str] = {}  # state / catch-up texts of ``latest``

    def __call__(self, message: dict[str, Any]) -> None:
        """A change the sockets should see (``Entry.notify``): publish soon."""
        if message["type"] in ("state", "status"):
            self.state_due = True
        self.due.set()

    # -- viewers ---------------------------------------------------------------------
    def join(self) -> Viewer:
        """A new viewer; its first message is a state published after it came."""
        viewer = Viewer(waiting_since=time.monotonic())
        viewer.state_seq = viewer.seq = self._seq
        self.viewers.add(viewer)
        self.entry.listeners.add(self)
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._publish_loop())
        self({"type": "state"})
        return viewer

    def leave(self, viewer: Viewer) -> None:
        """A socket closed; the last one stops the publisher."""
        self.viewers.discard(viewer)
        if not self.viewers:
            self.entry.listeners.discard(self)
            _hubs.pop(self.entry, None)
            if self.task is not None:
                self.task.cancel()

    def unread_for(self, now: float) -> float:
        """Seconds every viewer has had a publish waiting (0 while one is caught up): how
        long since the last viewer still reading took a frame."""
        waits = [v.waiting_since for v in self.viewers]
        if not waits or any(w is None for w in waits):
            return 0.0
        return now - max(w for w in waits if w is not None)

    async def send_loop(self, viewer: Viewer, send: Callable[[str], Awaitable[None]]) -> None:
        """Send the viewer the newest publish whenever there is one (its socket's task)."""
        while True:
            await viewer.wake.wait()
            viewer.wake.clear()
            latest = self.latest
            if latest is None or latest.seq == viewer.seq:
                continue
            if viewer.run is None and latest.state_seq <= viewer.state_seq:
                continue  # new: its first message is the state published after it came
            for text in await self._due(viewer, latest):
                await send(text)
            viewer.seq = latest.seq
            if self.latest is latest:
                viewer.waiting_since = None

    async def _due(self, viewer: Viewer, latest: Latest) -> list[str]:
        out = []
        if latest.error is not None and latest.error[0] > viewer.seq:
            out.append(latest.error[1])
        if latest.state_seq > viewer.state_seq or latest.cut.to < viewer.sent:
            out.append(self._state(viewer, latest))
            step = int(latest.info["step"])
            if viewer.sent < 0 or step < viewer.sent or latest.run is not viewer.run:
                viewer.sent = step
            viewer.run = latest.run
        if latest.cut.to > viewer.sent:
            if viewer.sent == latest.cut.since and latest.steps is not None:
                out.append(latest.steps)  # the shared bytes
                viewer.sent = latest.cut.to
            else:
                text, viewer.sent = await self._catch_up(viewer.sent, latest)
                out.append(text)
        return out

    def _state(self, viewer: Viewer, latest: Latest) -> str:
        """The state message: only the events and names this viewer has not been sent."""
        first, log, known = viewer.run is not latest.run, latest.events, viewer.events
        n = len(known)
        if first or n > len(log) or not (known is log or log[:n] == known):
            n = 0
        viewer.events, viewer.state_seq = log, latest.state_seq
        key = ("state", latest.state_seq, first, n)
        if key not in self._texts:
            info = {"type": "state", **latest.info, "events": latest.info["events"][n:]}
            if n:
                info["events_from"] = n
            if not first:
                del info["param_names"]
            self._texts[key] = dumps(info)
        return self._texts[key]

    async def _catch_up(self, since: int, latest: Latest) -> tuple[str, int]:
        """One frame of steps ``since+1 ..`` for a viewer that missed publishes."""
        key = ("steps", latest.seq, since)
        if key in self._texts:
            return self._texts[key], latest.cut.to
        chain = [c for c in self.recent if c.since >= since]
        settings = self.registry.settings
        if chain and chain[0].since == since and chain[-1] is latest.cut:
            text = await self.registry.light(
                _encoded, frames.join(chain), latest.extra, settings.max_ws_message_bytes
            )
            self._texts[key] = text
            return text, latest.cut.to
        async with self.entry.lock:  # too far behind the kept cuts: cut afresh
            c = await self.registry.light(frames.cut, self.entry.run, since)
        if c.to > self.entry.saved_step:
            await self.registry.persist(self.entry, progress=True)
        text = await self.registry.light(_encoded, c, latest.extra, settings.max_ws_message_bytes)
        return text, c.to

    # -- publishing ------------------------------------------------------------------
    async def _publish_loop(self) -> None:
        """Publish what commands and changes notified, at most ``frame_rate`` times a second."""
        interval = 1.0 / self.registry.settings.frame_rate
        while True:
            await self.due.wait()
            self.due.clear()
            t0 = time.monotonic()
            try:
                await self.publish()
            except Exception:  # the next change publishes again; a socket never hangs on one
                log.exception("session %s: publishing a frame failed", self.entry.id)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - t0)))

    async def publish(
        self,
        work: Callable[[], T] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> T | None:
        """Run ``work`` (a play tick) and cut the frame after it under one hold of the lock."""
        entry, registry = self.entry, self.registry
        async with self.publishing:
            prev = self.latest
            want_state, self.state_due = self.state_due, False
            async with entry.lock:
                run = entry.run
                since = None if prev is None or prev.run is not run else prev.cut.to
                # a play tick is background compute; a cut alone is quick
                runner = registry.light if work is None else registry.run_background
                result, c, state = await runner(_locked, run, work, since, want_state)
            error = prev.error if prev is not None else None
            if c.to > entry.saved_step:
                try:
                    await registry.persist(entry, progress=True)  # durable before it is shown
                except StorageError as exc:  # rolled back: show the error, not the lost steps
                    error = (self._seq + 1, dumps({"type": "error", "message": str(exc)}))
                    c = replace(c, since=c.to)
            extra = extra or {}
            text = None
            if c.to > c.since:
                limit = registry.settings.max_ws_message_bytes
                text = await registry.light(_encoded, c, extra, limit)
            self._set(run, c, text, extra, state, error)
            return result

    def _set(
        self,
        run: LiveRun,
        c: frames.Cut,
        text: str | None,
        extra: dict[str, Any],
        state: tuple[dict[str, Any], list[Event]] | None,
        error: tuple[int, str] | None,
    ) -> None:
        prev, now = self.latest, time.monotonic()
        self._seq += 1
        if prev is None or prev.run is not run or c.since != prev.cut.to:
            self.recent.clear()
        self.recent.append(c)
        while len(self.recent) > 1 and sum(x.rows for x in self.recent) > RECENT_ROWS:
            self.recent.popleft()
        if state is None:
            assert prev is not None  # the first publish always takes the state
            state_seq, info, events = prev.state_seq, prev.info, prev.events
        else:
            state_seq, (info, events) = self._seq, state
        self.latest = Latest(self._seq, run, c, text, extra, state_seq, info, events, error)
        self._texts = {}
        for viewer in self.viewers:
            if viewer.waiting_since is None:
                viewer.waiting_since = now
            viewer.wake.set()


def _locked(
    run: LiveRun, work: Callable[[], T] | None, since: int | None, state: bool
) -> tuple[T | None, frames.Cut, tuple[dict[str, Any], list[Event]] | None]:
    """In a worker thread, under the lock: the work, the cut after it, the state if due."""
    result = work() if work is not None else None
    step = run.session.step_count
    c = frames.cut(run, step if since is None else min(since, step))
    return result, c, (views.info(run), list(run.session.events)) if state else None


def _encoded(c: frames.Cut, extra: dict[str, Any], max_bytes: int) -> str:
    return frames.encode({**frames.build(c), **extra}, max_bytes)


def of(entry: Entry, registry: Registry) -> Broadcast:
    """The entry's broadcast, made on first use."""
    hub = _hubs.get(entry)
    if hub is None:
        hub = _hubs[entry] = Broadcast(entry, registry)
    return hub


def find(entry: Entry) -> Broadcast | None:
    """The entry's broadcast while any viewer is open."""
    return _hubs.get(entry)
