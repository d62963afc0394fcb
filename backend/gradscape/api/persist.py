"""SQLite persistence: each session as config + event log + step count (+ status).

The training core replays config + events to the same step bit for bit, so this is
all a restart needs. Writes are small and happen after every change.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
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
    snapshot_step INTEGER
)
"""


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
                self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(SCHEMA)

    def save(
        self,
        session_id: str,
        config: dict[str, Any],
        events: list[tuple[int, dict[str, Any]]],
        steps: int,
        status: str,
        created: float,
    ) -> None:
        """Insert or replace one session's row."""
        row = (
            session_id,
            json.dumps(config, allow_nan=False),
            json.dumps(events, allow_nan=False),
            steps,
            status,
            created,
            time.time(),
        )
        with self._lock:
            self._conn.execute(
                "INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL) "
                "ON CONFLICT(id) DO UPDATE SET config = excluded.config, events = excluded.events,"
                " steps = excluded.steps, status = excluded.status, updated = excluded.updated",
                row,
            )

    def save_snapshot(self, session_id: str, snapshot: bytes | None, step: int | None) -> None:
        """Store (or with None, drop) a session's snapshot taken at ``step``."""
        with self._lock:
            self._conn.execute(
                "UPDATE sessions SET snapshot = ?, snapshot_step = ? WHERE id = ?",
                (snapshot, step, session_id),
            )

    def load(self, session_id: str) -> Stored | None:
        """One session's row, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT * FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
        if row is None:
            return None
        events = [(int(s), c) for s, c in json.loads(row[2])]
        return Stored(
            row[0], json.loads(row[1]), events, int(row[3]), row[4], row[5], row[6], row[7], row[8]
        )

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
        return cur.rowcount > 0

    def expire(self, older_than: float) -> list[str]:
        """Delete sessions not used since ``older_than`` (epoch seconds); return their ids."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT id FROM sessions WHERE updated < ?", (older_than,)
            ).fetchall()
            self._conn.execute("DELETE FROM sessions WHERE updated < ?", (older_than,))
        return [r[0] for r in rows]

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
