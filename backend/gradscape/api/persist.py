"""SQLite persistence: each session as config + event log + step count (+ status).

The training core replays config + events to the same step bit for bit, so this is
all a restart needs. Writes are small and happen after every change: the session row
is updated in place and the event log is appended to (a rewind or reset deletes its
tail), never rewritten, so a long log costs nothing per step.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradscape.api.dblock import DatabaseLock

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    events TEXT NOT NULL,
    steps INTEGER NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    snapshot BLOB,
    snapshot_step INTEGER,
    owner TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS events (
    session_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    step INTEGER NOT NULL,
    change TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
"""
BLOB_CHUNK = 2**20  # bytes of a snapshot written at a time
WAL_LIMIT = 4 * 1024**2  # bytes the write-ahead log is cut back to after a checkpoint
#: ``sessions.events`` holds the log of rows written before the events table existed.
LEGACY = "legacy"


@dataclass(frozen=True)
class Stored:
    """One session row."""

    id: str
    config: dict[str, Any]
    events: list[tuple[int, dict[str, Any]]]
    steps: int
    status: str
    created: float
    updated: float
    snapshot: bytes | None = None
    snapshot_step: int | None = None
    owner: str = ""  # the quota key it counts against (``api.access.Quota``)


class SessionDB:
    """A thread-safe SQLite table of sessions (``:memory:`` for throw-away use)."""

    def __init__(self, path: str) -> None:
        self._owner: DatabaseLock | None = None
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._owner = DatabaseLock(path)  # one server per file (DatabaseInUseError)
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            if path != ":memory:":
                # Freed pages (old snapshots) go back to the file system, and the WAL is
                # cut back after each checkpoint: disk use follows what is stored, not
                # its high-water mark. (auto_vacuum takes effect on a new file only.)
                self._conn.execute("PRAGMA auto_vacuum=FULL")
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
            self._conn.executescript(SCHEMA)
            columns = {r[1] for r in self._conn.execute("PRAGMA table_info(sessions)")}
            if "owner" not in columns:  # a file from before quotas: its rows count as no one's
                self._conn.execute("ALTER TABLE sessions ADD COLUMN owner TEXT NOT NULL DEFAULT ''")
        self._logged: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # as stored, per id

    def save(
        self,
        session_id: str,
        config: dict[str, Any],
        events: list[tuple[int, dict[str, Any]]],
        steps: int,
        status: str,
        created: float,
        owner: str = "",
    ) -> None:
        """Insert or update one session's row; append its new events (one transaction).

        ``owner`` is written with the first row and never changed."""
        row = (session_id, json.dumps(config, allow_nan=False), "[]", steps, status, created)
        with self._lock:
            logged = self._stored_events(session_id)
            keep = _common_prefix(logged, events)
            tail = [
                (session_id, seq, step, json.dumps(change, allow_nan=False))
                for seq, (step, change) in enumerate(events[keep:], start=keep)
            ]
            with self._transaction():
                self._conn.execute(
                    "INSERT INTO sessions (id, config, events, steps, status, created, updated,"
                    " owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET config = excluded.config, events = '[]',"
                    " steps = excluded.steps, status = excluded.status,"
                    " updated = excluded.updated",
                    (*row, time.time(), owner),
                )
                if keep < len(logged):
                    self._conn.execute(
                        "DELETE FROM events WHERE session_id = ? AND seq >= ?", (session_id, keep)
                    )
                self._conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?)", tail)
            self._logged[session_id] = [(int(s), dict(c)) for s, c in events]

    def save_progress(self, session_id: str, steps: int, status: str) -> None:
        """Write how far a stored session has trained (its config and events are unchanged)."""
        with self._lock:
            self._conn.execute(
                "UPDATE sessions SET steps = ?, status = ?, updated = ? WHERE id = ?",
                (steps, status, time.time(), session_id),
            )

    def _stored_events(self, session_id: str) -> list[tuple[int, dict[str, Any]]]:
        """The event log as stored (cached; read once per session)."""
        if session_id not in self._logged:
            rows = self._conn.execute(
                "SELECT step, change FROM events WHERE session_id = ? ORDER BY seq",
                (session_id,),
            ).fetchall()
            self._logged[session_id] = [(int(s), json.loads(c)) for s, c in rows]
        return self._logged[session_id]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            self._logged.clear()  # the cache may be ahead of the file now
            raise
        self._conn.execute("COMMIT")

    def save_snapshot(self, session_id: str, snapshot: bytes | None, step: int | None) -> None:
        """Store (or with None, drop) a session's snapshot taken at ``step``.

        The bytes go in through incremental blob I/O: bound as a parameter, SQLite
        would copy them and the cached statement would keep that copy alive.
        """
        with self._lock:
            if snapshot is None:
                self._conn.execute(
                    "UPDATE sessions SET snapshot = NULL, snapshot_step = NULL WHERE id = ?",
                    (session_id,),
                )
                return
            with self._transaction():
                row = self._conn.execute(
                    "UPDATE sessions SET snapshot = zeroblob(?), snapshot_step = ? WHERE id = ?"
                    " RETURNING rowid",
                    (len(snapshot), step, session_id),
                ).fetchone()
                if row is None:
                    return
                view = memoryview(snapshot)
                with self._conn.blobopen("sessions", "snapshot", row[0]) as blob:
                    for at in range(0, len(view), BLOB_CHUNK):
                        blob.write(view[at : at + BLOB_CHUNK])

    def load(self, session_id: str) -> Stored | None:
        """One session's row, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT id, config, events, steps, status, created, updated, snapshot,"
                " snapshot_step, owner FROM sessions WHERE id = ?",
                (session_id,),
            ).fetchone()
            if row is None:
                return None
            self._logged.pop(session_id, None)
            events = self._stored_events(session_id)
        if not events:  # a row written before the events table: its log is in the row
            events = [(int(s), c) for s, c in json.loads(row[2])]
        events = [(s, dict(c)) for s, c in events]
        return Stored(
            row[0], json.loads(row[1]), events, int(row[3]), row[4], row[5], row[6], row[7], row[8],
            row[9],
        )  # fmt: skip

    def touch(self, session_id: str) -> None:
        """Mark a session as used now (idle expiry counts from here)."""
        with self._lock:
            self._conn.execute(
                "UPDATE sessions SET updated = ? WHERE id = ?", (time.time(), session_id)
            )

    def delete(self, session_id: str) -> bool:
        """Remove one session; say whether it existed."""
        with self._lock:
            cur = self._conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            self._conn.execute("DELETE FROM events WHERE session_id = ?", (session_id,))
            self._logged.pop(session_id, None)
        return cur.rowcount > 0

    def expire(self, older_than: float) -> list[str]:
        """Delete sessions not used since ``older_than`` (epoch seconds); return their ids."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM sessions WHERE updated < ?", (older_than,)
            ).fetchall()
            self._conn.execute("DELETE FROM sessions WHERE updated < ?", (older_than,))
            self._conn.execute(
                "DELETE FROM events WHERE session_id NOT IN (SELECT id FROM sessions)"
            )
            for (gone,) in rows:
                self._logged.pop(gone, None)
        return [r[0] for r in rows]

    def owners(self) -> dict[str, str]:
        """Every stored session's id -> the quota key it counts against."""
        with self._lock:
            rows = self._conn.execute("SELECT id, owner FROM sessions").fetchall()
        return {str(i): str(o) for i, o in rows}

    def count(self) -> int:
        """How many sessions are stored."""
        with self._lock:
            return int(self._conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])

    def close(self) -> None:
        """Close the connection and let another server have the file."""
        with self._lock:
            self._conn.close()
        if self._owner is not None:
            self._owner.release()


def _common_prefix(a: list[tuple[int, dict[str, Any]]], b: list[tuple[int, dict[str, Any]]]) -> int:
    """How many leading events two logs share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x[0] != y[0] or x[1] != y[1]:
            break
        n += 1
    return n
