"""SQLite persistence: the event log is appended to, never rewritten, and reads back exactly."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gradscape.api.persist import SessionDB


def _events(n: int) -> list[tuple[int, dict[str, float]]]:
    return [(k, {"lr": 0.001 * (k + 1)}) for k in range(n)]


def test_one_more_event_writes_one_row_not_the_whole_log(tmp_path: Path) -> None:
    db = SessionDB(str(tmp_path / "s.db"))
    log = _events(10_000)
    db.save("a", {"preset": "line"}, log, 10_000, "active", 0.0)
    written: list[str] = []
    db._conn.set_trace_callback(written.append)
    db.save("a", {"preset": "line"}, [*log, (10_000, {"lr": 0.5})], 10_001, "active", 0.0)
    db._conn.set_trace_callback(None)
    assert sum(s.startswith("INSERT INTO events") for s in written) == 1
    assert sum(len(s) for s in written) < 2_000  # the 10,000 earlier events are not resent
    back = db.load("a")
    assert back is not None and back.events[-1] == (10_000, {"lr": 0.5})
    assert len(back.events) == 10_001 and back.events[:10_000] == log
    db.close()


def test_a_rewound_log_drops_its_tail_and_survives_a_reopen(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    db = SessionDB(path)
    db.save("a", {}, _events(5), 50, "active", 0.0)
    db.save("a", {}, [*_events(2), (3, {"batch_size": 4})], 3, "active", 0.0)  # rewind + set
    db.close()
    again = SessionDB(path)
    stored = again.load("a")
    assert stored is not None and stored.events == [*_events(2), (3, {"batch_size": 4})]
    again.delete("a")
    rows = again._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert rows == 0
    again.close()


def test_rows_written_before_the_events_table_still_load(tmp_path: Path) -> None:
    path = str(tmp_path / "old.db")
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE sessions (id TEXT PRIMARY KEY, config TEXT NOT NULL, events TEXT NOT"
            " NULL, steps INTEGER NOT NULL, status TEXT NOT NULL, created REAL NOT NULL,"
            " updated REAL NOT NULL, snapshot BLOB, snapshot_step INTEGER)"
        )
        old.execute(
            "INSERT INTO sessions VALUES ('x', '{}', ?, 7, 'active', 0, 0, NULL, NULL)",
            (json.dumps([[2, {"lr": 0.2}]]),),
        )
    db = SessionDB(path)
    stored = db.load("x")
    assert stored is not None and stored.events == [(2, {"lr": 0.2})] and stored.steps == 7
    db.save("x", {}, [*stored.events, (7, {"lr": 0.1})], 7, "active", 0.0)  # migrates
    again = db.load("x")
    assert again is not None and again.events == [(2, {"lr": 0.2}), (7, {"lr": 0.1})]
    db.close()
