"""Nothing a client saw is lost, and stored damage is told truthfully, on a real server."""

from __future__ import annotations

import json
import resource
import signal
import sqlite3
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from gradscape.core.session import TrainingSession
from tests.system.server import Server


def _ws_url(server: Server, sid: str) -> str:
    return server.url.replace("http://", "ws://") + f"/api/sessions/{sid}/stream"


def test_sigkill_during_play_loses_no_step_a_client_was_shown(tmp_path: Path) -> None:
    server = Server(str(tmp_path / "sessions.db")).start()
    seen: dict[str, Any] = {}
    try:
        sid = httpx.post(server.url + "/api/sessions", json={"preset": "pass-fail"}).json()["id"]
        with connect(_ws_url(server, sid)) as ws:
            ws.send(json.dumps({"type": "play", "steps_per_second": 3000}))
            for _ in range(2000):
                msg = json.loads(ws.recv(timeout=30))
                if msg["type"] == "steps" and "params" in msg:
                    seen = msg
                    if msg["to"] > 1500:
                        break
            server.stop(signal.SIGKILL)  # while it plays, right after a frame
    finally:
        server.stop(signal.SIGKILL)
    assert seen["to"] > 1500
    again = Server(server.db, port=server.port).start()
    try:
        info = httpx.get(f"{again.url}/api/sessions/{sid}", timeout=60).json()
        assert info["step"] >= seen["to"]
        k = seen["to"]
        got = httpx.get(
            f"{again.url}/api/sessions/{sid}/trajectory",
            params={"start": k, "stop": k + 1, "fields": "params"},
            timeout=60,
        ).json()["columns"]["params"][0]
    finally:
        again.stop()
    assert got == seen["params"]  # what the client was shown, bit for bit
    ref = TrainingSession({"preset": "pass-fail"})
    ref.step(k)
    assert got == ref.params.tolist()  # and what a replay gives


def _stored_run(tmp_path: Path, steps: int) -> tuple[Server, str, dict[str, Any]]:
    server = Server(str(tmp_path / "sessions.db")).start()
    sid = httpx.post(server.url + "/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
    body = {"steps": steps, "evaluate": "none", "fields": ["step"]}
    httpx.post(f"{server.url}/api/sessions/{sid}/step", json=body, timeout=120)
    before = httpx.get(f"{server.url}/api/sessions/{sid}").json()
    server.stop()  # SIGTERM: a snapshot is written on the way out
    return server, sid, before


def test_a_snapshot_that_does_not_decode_falls_back_to_replay(tmp_path: Path) -> None:
    server, sid, before = _stored_run(tmp_path, 2500)
    with sqlite3.connect(server.db) as db:
        (blob,) = db.execute("SELECT snapshot FROM sessions WHERE id = ?", (sid,)).fetchone()
        assert blob is not None
        db.execute("UPDATE sessions SET snapshot = ? WHERE id = ?", (b"PK\x03\x04garbage", sid))
    again = Server(server.db, port=server.port).start()
    try:
        after = httpx.get(f"{again.url}/api/sessions/{sid}", timeout=60)
        assert after.status_code == 200
        assert after.json()["params"] == before["params"] and after.json()["step"] == 2500
    finally:
        again.stop()


def test_a_row_that_cannot_be_read_is_503_for_that_session_only(tmp_path: Path) -> None:
    server = Server(str(tmp_path / "sessions.db")).start()
    ids = [httpx.post(server.url + "/api/sessions", json={}).json()["id"] for _ in range(2)]
    server.stop()
    with sqlite3.connect(server.db) as db:
        db.execute("UPDATE sessions SET events = '[[1, {' WHERE id = ?", (ids[0],))
    again = Server(server.db, port=server.port).start()
    try:
        broken = httpx.get(f"{again.url}/api/sessions/{ids[0]}", timeout=60)
        assert broken.status_code == 503
        assert "cannot be read" in broken.json()["detail"]
        assert httpx.get(f"{again.url}/api/sessions/{ids[1]}").status_code == 200
        assert httpx.get(f"{again.url}/api/health").status_code == 200
    finally:
        again.stop()


def _ignore_sigxfsz() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)


def test_a_full_disk_is_503_and_the_change_is_not_applied(tmp_path: Path) -> None:
    server = Server(str(tmp_path / "sessions.db"), preexec=_ignore_sigxfsz).start()
    assert server.proc is not None
    pid = server.proc.pid
    try:
        sid = httpx.post(server.url + "/api/sessions", json={"preset": "line"}).json()["id"]
        httpx.post(f"{server.url}/api/sessions/{sid}/step", json={"steps": 10})
        before = httpx.get(f"{server.url}/api/sessions/{sid}").json()
        full = (1, resource.RLIM_INFINITY)  # soft limit only, so it can be lifted again
        resource.prlimit(pid, resource.RLIMIT_FSIZE, full)  # the disk is full
        step = httpx.post(f"{server.url}/api/sessions/{sid}/step", json={"steps": 5}, timeout=30)
        change = httpx.patch(f"{server.url}/api/sessions/{sid}", json={"lr": 0.05}, timeout=30)
        assert (step.status_code, change.status_code) == (503, 503)
        assert "not applied" in step.json()["detail"]
        now = httpx.get(f"{server.url}/api/sessions/{sid}").json()
        assert now["step"] == 10 and now["settings"] == before["settings"]
        assert now["params"] == before["params"]
        unlimited = (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, unlimited)  # space again
        ok = httpx.post(f"{server.url}/api/sessions/{sid}/step", json={"steps": 5}, timeout=30)
        assert ok.status_code == 200 and ok.json()["step"] == 15
    finally:
        server.stop(signal.SIGKILL)
    again = Server(server.db, port=server.port).start()
    try:
        after = httpx.get(f"{again.url}/api/sessions/{sid}", timeout=60).json()
        assert after["step"] == 15 and after["settings"] == before["settings"]
    finally:
        again.stop()
