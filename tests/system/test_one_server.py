"""One server per database: a second ``gradscape serve`` on the same file refuses at once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.system.server import Server, free_port

ROOT = Path(__file__).resolve().parents[2]


def _serve(db: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-c", "from gradscape.cli import main; raise SystemExit(main())"]
    cmd += ["serve", "--port", str(free_port()), "--db", db, "--log-level", "warning"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_a_second_server_on_the_same_file_exits_naming_the_first(tmp_path: Path) -> None:
    db = str(tmp_path / "sessions.db")
    first = Server(db).start()
    try:
        sid = httpx.post(first.url + "/api/sessions", json={}).json()["id"]
        started = time.monotonic()
        second = _serve(db)
        assert second.returncode == 1
        assert time.monotonic() - started < 20  # at once, not after a timeout
        assert first.proc is not None and f"pid {first.proc.pid}" in second.stderr
        assert "in use by another gradscape server" in second.stderr
        assert httpx.get(f"{first.url}/api/sessions/{sid}").status_code == 200
    finally:
        first.stop(signal.SIGKILL)  # a crash: the OS drops the lock with the process
    again = Server(db).start()
    try:
        assert httpx.get(f"{again.url}/api/sessions/{sid}").status_code == 200
    finally:
        again.stop()


def test_a_database_url_is_refused_not_made_a_directory() -> None:
    out = _serve("postgresql://user@localhost/gradscape")  # runs in the checkout
    assert out.returncode == 2 and "looks like a URL" in out.stderr
    assert not (ROOT / "postgresql:").exists()
