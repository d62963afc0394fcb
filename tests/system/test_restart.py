"""Kill the server (SIGKILL or SIGTERM) and restart it: every session comes back exactly."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.system.server import Server


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_sessions_survive_a_restart_bit_identically(tmp_path: Path, sig: int) -> None:
    server = Server(str(tmp_path / "sessions.db")).start()
    try:
        ids = {}
        for preset in ("moons-mlp", "pass-fail", "rosenbrock"):
            sid = httpx.post(server.url + "/api/sessions", json={"preset": preset}).json()["id"]
            httpx.post(f"{server.url}/api/sessions/{sid}/step", json={"steps": 120}, timeout=30)
            httpx.patch(f"{server.url}/api/sessions/{sid}", json={"lr": 0.003})
            httpx.post(f"{server.url}/api/sessions/{sid}/step", json={"steps": 33}, timeout=30)
            ids[sid] = httpx.get(f"{server.url}/api/sessions/{sid}").json()
        bad = httpx.post(
            server.url + "/api/sessions", json={"preset": "line", "optimizer": {"lr": 1e6}}
        ).json()
        httpx.post(f"{server.url}/api/sessions/{bad['id']}/step", json={"steps": 300})
        ids[bad["id"]] = httpx.get(f"{server.url}/api/sessions/{bad['id']}").json()
    finally:
        server.stop(sig)
    again = Server(server.db, port=server.port).start()
    try:
        for sid, before in ids.items():
            after = httpx.get(f"{again.url}/api/sessions/{sid}", timeout=30).json()
            assert after["step"] == before["step"]
            assert after["params"] == before["params"]  # bit-identical through JSON
            assert after["status"] == before["status"]
            assert after["settings"] == before["settings"]
    finally:
        again.stop()


def test_a_long_run_comes_back_from_its_snapshot(tmp_path: Path) -> None:
    server = Server(str(tmp_path / "sessions.db")).start()
    try:
        sid = httpx.post(server.url + "/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
        body = {"steps": 20_000, "evaluate": "none", "fields": ["step"]}
        httpx.post(f"{server.url}/api/sessions/{sid}/step", json=body, timeout=120)
        httpx.patch(f"{server.url}/api/sessions/{sid}", json={"lr": 0.002})
        httpx.post(f"{server.url}/api/sessions/{sid}/step", json={"steps": 321}, timeout=60)
        before = httpx.get(f"{server.url}/api/sessions/{sid}").json()
    finally:
        server.stop(signal.SIGKILL)
    with sqlite3.connect(server.db) as db:
        (snap_step,) = db.execute(
            "SELECT snapshot_step FROM sessions WHERE id = ?", (sid,)
        ).fetchone()
    assert snap_step == 20_000  # taken when the run grew past the threshold
    again = Server(server.db, port=server.port).start()
    try:
        after = httpx.get(f"{again.url}/api/sessions/{sid}", timeout=60).json()
        assert after["params"] == before["params"] and after["step"] == 20_321
        assert after["settings"] == before["settings"]
    finally:
        again.stop()
