"""The registry: id -> LiveRun + lock + listeners; the session limit, idle expiry, persistence.

NumPy work runs in a bounded thread pool (``run``) so the event loop stays free;
each run has an ``asyncio.Lock`` so one request at a time touches its state. Every
command's rules live in ``service.live.LiveRun``; this module only holds and stores runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from gradscape.api.access import NO_QUOTA, Quota
from gradscape.api.persist import SessionDB, Stored
from gradscape.api.settings import Settings
from gradscape.core.session import TrainingSession
from gradscape.service import views
from gradscape.service.errors import SessionNotFoundError, StorageError, TooManySessionsError
from gradscape.service.live import LiveRun, replayed
from gradscape.service.work import Turns, Work

T = TypeVar("T")
log = logging.getLogger("gradscape")
SNAPSHOT_STEPS = 2000
#: Threads that may wait for or hold a compute slot (the slots are ``worker_threads``).
HEAVY_THREADS = 64
#: Threads reserved for quick work: the database, state, trajectories.
LIGHT_THREADS = 2
#: At most this long is spent writing snapshots when the server stops (then only steps).
CLOSE_SNAPSHOT_SECONDS = 2.0
Events = list[tuple[int, dict[str, Any]]]


@dataclass(eq=False)
class Entry:
    """One live run and what the transport keeps beside it (lock, sockets, play task)."""

    run: LiveRun
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    runner: asyncio.Task[None] | None = None
    listeners: set[Callable[[dict[str, Any]], None]] = field(default_factory=set)
    snapshot_step: int | None = None  # the step of the snapshot stored for this session
    saved_step: int = -1  # the step count last written to the database
    used: float = field(default_factory=time.monotonic)  # for least-recently-used eviction

    @property
    def idle(self) -> bool:
        """Nobody is watching, playing or holding it: it may wait in the database."""
        return not (self.run.playing or self.listeners or self.lock.locked() or self.runner)

    @property
    def id(self) -> str:
        """The run's unguessable id."""
        return self.run.id

    @property
    def session(self) -> TrainingSession:
        """The run's training session."""
        return self.run.session

    def notify(self, message: dict[str, Any]) -> None:
        """Tell every open socket of this session (never blocks: listeners only buffer)."""
        for listener in list(self.listeners):
            listener(message)


class Registry:
    """Creates, finds, persists and expires runs."""

    def __init__(self, settings: Settings, db: SessionDB | None = None) -> None:
        self.settings = settings
        self.db = db or SessionDB(settings.db)
        #: ``worker_threads`` compute at once, taking turns (``service.work``).
        self.turns = Turns(settings.worker_threads)
        self._heavy = anyio.CapacityLimiter(HEAVY_THREADS)
        self._light = anyio.CapacityLimiter(LIGHT_THREADS)
        #: Set when the server is stopping: every call in flight stops at its next turn.
        self.stopping = threading.Event()
        self._entries: dict[str, Entry] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        #: Every session this server holds (in memory or only in the database) -> the
        #: quota key it counts against. Read once from the database, then kept here, so
        #: the limits are checked and a place taken in one step of the event loop.
        self._owners: dict[str, str] = self.db.owners()
        self._held: Counter[str] = Counter(self._owners.values())

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run compute (training, surfaces, replays) when a compute slot is free.

        Slots are granted in arrival order; a long call passes its turn every slice
        when it runs with a ``work`` budget (``Registry.work``).
        """

        return await self._in_turn(False, partial(fn, *args, **kwargs))

    async def run_background(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``run`` for work nobody waits on (play ticks): it yields to calls that are
        waiting, three handovers in four (``service.work.Turns``)."""
        return await self._in_turn(True, partial(fn, *args, **kwargs))

    async def _in_turn(self, background: bool, call: Callable[[], T]) -> T:
        def in_turn() -> T:
            self.turns.acquire(background)
            try:
                return call()
            finally:
                self.turns.release()

        return await anyio.to_thread.run_sync(in_turn, limiter=self._heavy)

    async def light(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run quick blocking work (the database, state, trajectories) on the threads
        reserved for it: it never waits behind training."""
        return await anyio.to_thread.run_sync(partial(fn, *args, **kwargs), limiter=self._light)

    async def info(self, entry: Entry) -> dict[str, Any]:
        """The run's public state (``views.info``), read under its lock: no play tick or
        step appends rows while it is read."""
        async with entry.lock:
            return await self.light(views.info, entry.run)

    def work(self, seconds: float | None = None) -> Work:
        """A budget for one call: ``max_call_seconds`` (or less), turns, server stop."""
        budget = self.settings.max_call_seconds if seconds is None else seconds
        return Work(self.turns, budget, self.stopping)

    def stop_work(self) -> None:
        """The server is stopping: calls in flight end at their next turn (truncated)."""
        self.stopping.set()
        for entry in self._entries.values():
            entry.run.pause()

    def _admit(self, quota: Quota) -> str:
        """Take a place within ``max_sessions`` and the quota: a new id, already counted.

        No ``await`` between the checks and the taking, so concurrent creates cannot all
        pass the check first; a create that fails later gives its place back."""
        top = self.settings.max_sessions
        if len(self._owners) >= top:
            raise TooManySessionsError(f"the server holds max_sessions={top}")
        if quota.limit and self._held[quota.key] >= quota.limit:
            raise TooManySessionsError(quota.refusal())
        run_id = secrets.token_urlsafe(18)
        self._owners[run_id] = quota.key
        self._held[quota.key] += 1
        return run_id

    def _forget(self, session_id: str) -> Entry | None:
        """Drop a session from memory and from the count; its entry, if it was loaded."""
        key = self._owners.pop(session_id, None)
        if key is not None:
            self._held[key] -= 1
            if self._held[key] <= 0:
                del self._held[key]
        return self._entries.pop(session_id, None)

    async def create(self, config: dict[str, Any] | None, quota: Quota = NO_QUOTA) -> Entry:
        """Build and register a new run (ValueError for a bad config)."""
        s = self.settings
        build = partial(self.light, LiveRun.create, config, s.budgets(), s.core_limits())
        return await self._added(quota, build)

    async def restore(
        self,
        config: dict[str, Any],
        events: Events,
        steps: int,
        status: str | None,
        quota: Quota = NO_QUOTA,
    ) -> Entry:
        """Register a run rebuilt from an export (config + events + steps), limits first."""
        s = self.settings
        build = partial(
            self.run, LiveRun.imported, config, events, steps, status, s.budgets(), s.core_limits()
        )
        return await self._added(quota, build)

    async def _added(self, quota: Quota, build: Callable[..., Awaitable[LiveRun]]) -> Entry:
        """Take a place, build the run into it (``build(run_id=, created=)``), store it."""
        run_id = self._admit(quota)
        try:
            await self._check_memory()
            entry = self._register(await build(run_id=run_id, created=time.time()))
        except BaseException:
            self._forget(run_id)
            raise
        await self.persist(entry)
        return entry

    def _register(self, run: LiveRun) -> Entry:
        entry = Entry(run)
        self._entries[run.id] = entry
        return entry

    async def get(self, session_id: str) -> Entry:
        """The live entry, loading it from the database (by replay) on first use."""
        entry = self._entries.get(session_id)
        if entry is not None:
            entry.used = time.monotonic()
            return entry
        if self.settings.db != ":memory:":  # else every run is in memory already
            await self._check_memory()
        lock = self._loading.setdefault(session_id, asyncio.Lock())
        async with lock:
            entry = self._entries.get(session_id)
            if entry is None:
                entry = await self._read(session_id)
        self._loading.pop(session_id, None)
        return entry

    async def _read(self, session_id: str) -> Entry:
        """Load one stored session; a row that cannot be read is a 503 for it alone."""
        try:
            stored = await self.light(self.db.load, session_id)
            if stored is None:
                raise SessionNotFoundError(session_id)
            return await self._load(stored)
        except SessionNotFoundError:
            raise
        except Exception as exc:
            log.error("session %s cannot be read from the database: %r", session_id, exc)
            raise StorageError(
                "this session's stored row cannot be read (the server's log says why); "
                "other sessions are unaffected"
            ) from exc

    async def _load(self, stored: Stored) -> Entry:
        session = await self.run(self._from_stored, stored)
        run = LiveRun(session, self.settings.budgets(), stored.id, stored.created)
        entry = self._register(run)
        entry.snapshot_step = stored.snapshot_step if stored.snapshot is not None else None
        return entry

    def _from_stored(self, stored: Stored) -> TrainingSession:
        """From the snapshot plus the events and steps after it; by full replay without one."""
        limits = self.settings.core_limits()
        if stored.snapshot is not None:
            try:
                session = TrainingSession.restore(stored.snapshot, stored.config, limits=limits)
            except Exception as exc:  # whatever is wrong with it, config + events replay it
                log.warning("session %s: snapshot unusable (%r); replaying it", stored.id, exc)
                session = None
            if session is not None and stored.events[: len(session.events)] == session.events:
                later = stored.events[len(session.events) :]
                return replayed(stored.config, later, stored.steps, stored.status, session=session)
        return replayed(stored.config, stored.events, stored.steps, stored.status, limits)

    async def persist(
        self, entry: Entry, *, snapshot: bool | None = None, progress: bool = False
    ) -> None:
        """Write config, events and step count; a snapshot too when much has happened.

        ``snapshot``: True takes one now, False never, None when the run has grown.
        ``progress``: only training went on since the last write (play ticks, frames),
        so only the step count and status are written. Snapshots are taken once the run
        has grown by a quarter since the last (at least SNAPSHOT_STEPS steps), so a
        restart replays at most a quarter of a run; a rewind or reset before the
        snapshot drops it.
        """
        s = entry.session
        step = s.step_count
        try:
            if progress:
                await self.light(self.db.save_progress, entry.id, step, s.status)
            else:
                owner = self._owners.get(entry.id, "")
                await self.light(
                    self.db.save, entry.id, s.config, s.events, step, s.status,
                    entry.run.created, owner,
                )  # fmt: skip
        except sqlite3.Error as exc:
            log.error("session %s: database write failed: %r", entry.id, exc)
            await self._roll_back(entry)
            raise StorageError(
                "the database cannot be written (the server's log says why); "
                "the change was not applied"
            ) from exc
        entry.saved_step = step
        last = entry.snapshot_step
        if last is not None and s.step_count < last:
            entry.snapshot_step = None
            await self.light(self.db.save_snapshot, entry.id, None, None)
            last = None
        grown = s.step_count - (last or 0)
        due = grown >= max(SNAPSHOT_STEPS, s.step_count // 4) if snapshot is None else snapshot
        if grown > 0 and due:
            async with entry.lock:  # a consistent picture: no step runs meanwhile
                step = s.step_count
                data = await self.run(s.snapshot)
            await self.light(self.db.save_snapshot, entry.id, data, step)
            entry.snapshot_step = step

    def memory(self) -> int:
        """Bytes the runs in memory hold."""
        return sum(e.run.memory_bytes() for e in self._entries.values())

    async def _check_memory(self) -> None:
        """Make room within ``memory_bytes`` before a run is added (creates, loads).

        The least recently used idle runs are written (with a snapshot) and dropped
        from memory; they come back from the database on their next use, bit for bit.
        Without a disk (``:memory:``) nothing can wait there: the request is refused.
        """
        budget = self.settings.memory_bytes
        if self.memory() <= budget:
            return
        if self.settings.db == ":memory:":
            raise StorageError(
                f"the server holds memory_bytes={budget} of sessions and has no disk to "
                "move idle ones to (db :memory:); delete a session or try later"
            )
        for entry in sorted(self._entries.values(), key=lambda e: e.used):
            if self.memory() <= budget:
                break
            if entry.idle:
                await self.persist(entry, snapshot=True)
                if entry.idle:  # nothing started meanwhile
                    self._entries.pop(entry.id, None)

    async def _roll_back(self, entry: Entry) -> None:
        """Put a run back to what the database holds: a change that could not be written
        is undone (the durable state is the truth); a run never written is forgotten."""
        entry.run.pause()
        try:
            stored = await self.light(self.db.load, entry.id)
            session = None if stored is None else await self.run(self._from_stored, stored)
        except Exception as exc:  # unreadable too: forget it rather than serve a guess
            log.error("session %s: cannot roll back (%r); dropped", entry.id, exc)
            stored = session = None
        if stored is None or session is None:
            self._forget(entry.id)
            entry.notify({"type": "status", "status": "deleted"})
            return
        entry.run = LiveRun(session, self.settings.budgets(), stored.id, stored.created)
        entry.saved_step = stored.steps
        entry.notify({"type": "state"})

    async def delete(self, session_id: str) -> None:
        """Forget a session (404 when unknown)."""
        entry = self._forget(session_id)
        if entry is not None:
            entry.run.pause()
            if entry.runner is not None:
                entry.runner.cancel()
            entry.notify({"type": "status", "status": "deleted"})
        existed = await self.light(self.db.delete, session_id)
        if entry is None and not existed:
            raise SessionNotFoundError(session_id)

    async def expire_idle(self) -> list[str]:
        """Drop sessions idle longer than the setting (playing ones count as used)."""
        now = time.time()
        for entry in self._entries.values():
            if entry.run.playing or entry.listeners:
                await self.light(self.db.touch, entry.id)
        gone = await self.light(self.db.expire, now - self.settings.idle_expiry_seconds)
        for session_id in gone:
            dropped = self._forget(session_id)
            if dropped is not None and dropped.runner is not None:
                dropped.runner.cancel()
        return gone

    async def close(self) -> None:
        """Stop every call and runner and persist every session (snapshots while
        ``CLOSE_SNAPSHOT_SECONDS`` last; after that the step counts only, which replay)."""
        self.stop_work()
        loop = asyncio.get_running_loop()
        until = loop.time() + CLOSE_SNAPSHOT_SECONDS
        for entry in list(self._entries.values()):
            if entry.runner is not None:
                entry.runner.cancel()
            with contextlib.suppress(StorageError):  # logged; the rest are still written
                await self.persist(entry, snapshot=loop.time() < until)
        await self.light(self.db.close)
