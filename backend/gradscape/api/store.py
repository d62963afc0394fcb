"""The session registry: ids, per-session locks, limits, idle expiry and persistence.

NumPy work runs in a bounded thread pool (``run``) so the event loop stays free;
each session has an ``asyncio.Lock`` so one request at a time touches its state.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from gradscape.api.persist import SessionDB, Stored
from gradscape.api.settings import Settings
from gradscape.core.session import TrainingSession

T = TypeVar("T")
SNAPSHOT_STEPS = 2000
Events = list[tuple[int, dict[str, Any]]]


class SessionNotFoundError(KeyError):
    """No session with that id (404)."""


class TooManySessionsError(RuntimeError):
    """The server holds ``max_sessions`` already (429)."""


class ConflictError(RuntimeError):
    """The request does not fit the session's state, e.g. stepping a diverged run (409)."""


@dataclass(eq=False)
class Entry:
    """One live session and what the service keeps beside it."""

    id: str
    session: TrainingSession
    created: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    playing: bool = False
    steps_per_second: float | None = None
    runner: asyncio.Task[None] | None = None
    plane: Any = None  # a landscape Plane once a surface was computed (for plane coords)
    listeners: set[Callable[[dict[str, Any]], None]] = field(default_factory=set)
    max_steps: int = 1_000_000
    recent: Any = None  # deque of (step, theta) captured while playing, for paths
    snapshot_step: int | None = None  # the step of the snapshot stored for this session

    @property
    def status(self) -> str:
        """``running``, ``paused``, ``diverged`` or ``limit``."""
        if self.session.status == "diverged":
            return "diverged"
        if self.session.step_count >= self.max_steps:
            return "limit"
        return "running" if self.playing else "paused"

    def notify(self, message: dict[str, Any]) -> None:
        """Tell every open socket of this session (never blocks: listeners only buffer)."""
        for listener in list(self.listeners):
            listener(message)


class SessionStore:
    """Creates, finds, persists and expires sessions."""

    def __init__(self, settings: Settings, db: SessionDB | None = None) -> None:
        self.settings = settings
        self.db = db or SessionDB(settings.db)
        self.limiter = anyio.CapacityLimiter(settings.worker_threads)
        self._entries: dict[str, Entry] = {}
        self._loading: dict[str, asyncio.Lock] = {}

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking (NumPy) work in the bounded thread pool."""
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=self.limiter)

    def _new_session(self, config: dict[str, Any] | None) -> TrainingSession:
        return TrainingSession(config, limits=self.settings.core_limits())

    async def create(self, config: dict[str, Any] | None) -> Entry:
        """Build and register a new session (ValueError for a bad config)."""
        if len(self._entries) >= self.settings.max_sessions or (
            await self.run(self.db.count) >= self.settings.max_sessions
        ):
            raise TooManySessionsError(
                f"the server holds max_sessions={self.settings.max_sessions}"
            )
        session = await self.run(self._new_session, config)
        entry = self._register(secrets.token_urlsafe(18), session, time.time())
        await self.persist(entry)
        return entry

    async def restore(
        self, config: dict[str, Any], events: Events, steps: int, status: str
    ) -> Entry:
        """Register a session rebuilt from an export (config + events + steps)."""
        if len(self._entries) >= self.settings.max_sessions:
            raise TooManySessionsError(
                f"the server holds max_sessions={self.settings.max_sessions}"
            )
        session = await self.run(self._replay, config, events, steps, status)
        entry = self._register(secrets.token_urlsafe(18), session, time.time())
        await self.persist(entry)
        return entry

    def _replay(
        self, config: dict[str, Any], events: Events, steps: int, status: str
    ) -> TrainingSession:
        if steps > self.settings.max_trajectory_steps:
            raise ValueError(f"steps: {steps} is over max_trajectory_steps")
        session = TrainingSession.replay(config, events, steps, limits=self.settings.core_limits())
        if status == "diverged" and session.status != "diverged":
            session.step(2, evaluate="none")  # reach the divergence the run stopped at
        return session

    def _register(self, session_id: str, session: TrainingSession, created: float) -> Entry:
        entry = Entry(session_id, session, created, max_steps=self.settings.max_trajectory_steps)
        self._entries[session_id] = entry
        return entry

    async def get(self, session_id: str) -> Entry:
        """The live entry, loading it from the database (by replay) on first use."""
        entry = self._entries.get(session_id)
        if entry is not None:
            return entry
        lock = self._loading.setdefault(session_id, asyncio.Lock())
        async with lock:
            entry = self._entries.get(session_id)
            if entry is None:
                stored = await self.run(self.db.load, session_id)
                if stored is None:
                    raise SessionNotFoundError(session_id)
                entry = await self._load(stored)
        self._loading.pop(session_id, None)
        return entry

    async def _load(self, stored: Stored) -> Entry:
        session = await self.run(self._from_stored, stored)
        entry = self._register(stored.id, session, stored.created)
        entry.snapshot_step = stored.snapshot_step if stored.snapshot is not None else None
        return entry

    def _from_stored(self, stored: Stored) -> TrainingSession:
        """From the snapshot plus the events and steps after it; by full replay without one."""
        if stored.snapshot is not None:
            try:
                session = TrainingSession.restore(
                    stored.snapshot, stored.config, limits=self.settings.core_limits()
                )
            except ValueError:
                session = None
            if session is not None and stored.events[: len(session.events)] == session.events:
                later = stored.events[len(session.events) :]
                if session.status != "diverged":
                    session.catch_up(later, stored.steps)
                if stored.status == "diverged" and session.status != "diverged":
                    session.step(2, evaluate="none")
                return session
        return self._replay(stored.config, stored.events, stored.steps, stored.status)

    async def persist(self, entry: Entry, *, snapshot: bool = False) -> None:
        """Write config, events and step count; a snapshot too when much has happened.

        Snapshots are taken once the run has grown by a quarter since the last (at least
        SNAPSHOT_STEPS steps), so a restart replays at most a quarter of a run; a rewind
        or reset before the snapshot drops it.
        """
        s = entry.session
        await self.run(
            self.db.save, entry.id, s.config, s.events, s.step_count, s.status, entry.created
        )
        last = entry.snapshot_step
        if last is not None and s.step_count < last:
            entry.snapshot_step = None
            await self.run(self.db.save_snapshot, entry.id, None, None)
            last = None
        grown = s.step_count - (last or 0)
        if grown > 0 and (snapshot or grown >= max(SNAPSHOT_STEPS, s.step_count // 4)):
            async with entry.lock:  # a consistent picture: no step runs meanwhile
                step = s.step_count
                data = await self.run(s.snapshot)
            await self.run(self.db.save_snapshot, entry.id, data, step)
            entry.snapshot_step = step

    async def delete(self, session_id: str) -> None:
        """Forget a session (404 when unknown)."""
        entry = self._entries.pop(session_id, None)
        if entry is not None:
            entry.playing = False
            if entry.runner is not None:
                entry.runner.cancel()
            entry.notify({"type": "status", "status": "deleted"})
        existed = await self.run(self.db.delete, session_id)
        if entry is None and not existed:
            raise SessionNotFoundError(session_id)

    async def expire_idle(self) -> list[str]:
        """Drop sessions idle longer than the setting (playing ones count as used)."""
        now = time.time()
        for entry in self._entries.values():
            if entry.playing or entry.listeners:
                await self.run(self.db.touch, entry.id)
        gone = await self.run(self.db.expire, now - self.settings.idle_expiry_seconds)
        for session_id in gone:
            dropped = self._entries.pop(session_id, None)
            if dropped is not None and dropped.runner is not None:
                dropped.runner.cancel()
        return gone

    async def close(self) -> None:
        """Stop every runner and persist every session."""
        for entry in list(self._entries.values()):
            entry.playing = False
            if entry.runner is not None:
                entry.runner.cancel()
            await self.persist(entry, snapshot=True)
        await self.run(self.db.close)
