"""Issue 13 on a real ``gradscape serve`` on loopback: atomic limits, restarts, the
socket's HTTP answers, the per-address quota and the token.

Bounded: at most a few dozen requests per test, all to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.system.server import Server

TOKEN = "system-test-token-0123456789"


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Server]:
    env = {"GRADSCAPE_MAX_SESSIONS": "5", "GRADSCAPE_MAX_SESSIONS_PER_CLIENT": "0"}
    srv = Server(str(tmp_path / "s.db"), env=env).start()
    yield srv
    srv.stop()


def _in_thread(coro: Any) -> Any:
    # Its own thread: a session-scoped Playwright fixture may hold a running loop in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _creates(url: str, n: int) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        answers = await asyncio.gather(*(c.post("/api/sessions", json={}) for _ in range(n)))
    return [r.status_code for r in answers]


def test_twenty_concurrent_creates_get_exactly_the_limit(small: Server) -> None:
    codes = _in_thread(_creates(small.url, 20))
    assert sorted(codes) == [201] * 5 + [429] * 15


def test_an_import_after_a_restart_with_the_pool_full_is_429(small: Server) -> None:
    ids = [httpx.post(small.url + "/api/sessions", json={}).json()["id"] for _ in range(5)]
    export = httpx.get(f"{small.url}/api/sessions/{ids[0]}/export").json()
    small.stop()
    again = Server(small.db, port=small.port, env=small.env).start()
    try:
        r = httpx.post(again.url + "/api/sessions/import", json=export, timeout=60)
        assert r.status_code == 429 and "max_sessions=5" in r.json()["detail"]
        assert httpx.post(again.url + "/api/sessions", json={}).status_code == 429
        assert httpx.delete(f"{again.url}/api/sessions/{ids[1]}").status_code == 204
        assert httpx.post(again.url + "/api/sessions/import", json=export).status_code == 201
    finally:
        again.stop()


async def _handshake(uri: str, **kwargs: Any) -> Any:
    """The HTTP status of a refused handshake, or the close code after an accepted one."""
    try:
        async with websockets.connect(uri, **kwargs) as ws:
            try:
                while True:
                    json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            except ConnectionClosed as closed:
                return ("closed", closed.rcvd.code if closed.rcvd else None)
    except InvalidStatus as refused:
        return ("refused", refused.response.status_code)


def _raw_handshake(port: int, sid: str, host: str) -> int:
    """The status line's code of a handshake sent with this Host (clients set their own)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            (
                f"GET /api/sessions/{sid}/stream HTTP/1.1\r\nHost: {host}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        return int(sock.recv(4096).split(b" ", 2)[1])


def test_the_socket_refuses_before_accepting_and_closes_unknown_ids_after(small: Server) -> None:
    sid = httpx.post(small.url + "/api/sessions", json={}).json()["id"]
    base = small.url.replace("http://", "ws://")
    uri = f"{base}/api/sessions/{sid}/stream"
    evil = _in_thread(_handshake(uri, origin="http://evil.example"))
    assert evil == ("refused", 403)
    assert _raw_handshake(small.port, sid, "evil.example") == 400
    assert _raw_handshake(small.port, sid, f"127.0.0.1:{small.port}") == 101
    unknown = _in_thread(_handshake(f"{base}/api/sessions/nope/stream"))
    assert unknown == ("closed", 4404)


def test_rest_refuses_a_foreign_host_and_a_cross_site_create(small: Server) -> None:
    r = httpx.get(small.url + "/api/health", headers={"Host": "evil.example"})
    assert r.status_code == 400
    r = httpx.post(small.url + "/api/sessions", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    for name in ("127.0.0.1", "localhost"):  # the page at either name is its own origin
        page = f"{name}:{small.port}"
        own = {"Origin": f"http://{page}", "Host": page}
        assert httpx.post(small.url + "/api/sessions", headers=own).status_code == 201
    cross = {"Origin": f"http://localhost:{small.port}"}  # another name is another origin
    assert httpx.post(small.url + "/api/sessions", headers=cross).status_code == 403
    assert httpx.head(small.url + "/api/health").status_code == 200
    assert httpx.get(small.url + "/" + "a" * 5000).status_code == 404


def test_the_quota_counts_the_peer_unless_a_trusted_proxy_forwards(tmp_path: Path) -> None:
    env = {"GRADSCAPE_MAX_SESSIONS_PER_CLIENT": "2"}
    srv = Server(":memory:", env=env).start()
    try:
        spoof = [{"X-Forwarded-For": f"198.51.100.{i}"} for i in range(3)]
        codes = [httpx.post(srv.url + "/api/sessions", headers=h).status_code for h in spoof]
        assert codes == [201, 201, 429]  # uvicorn's own proxy headers are off
    finally:
        srv.stop()
    env["GRADSCAPE_TRUSTED_PROXIES"] = "127.0.0.1"
    srv = Server(":memory:", env=env).start()
    try:
        for who in ("198.51.100.1", "198.51.100.2"):
            codes = [
                httpx.post(srv.url + "/api/sessions", headers={"X-Forwarded-For": who}).status_code
                for _ in range(3)
            ]
            assert codes == [201, 201, 429], who
    finally:
        srv.stop()


def test_a_token_guards_rest_and_the_socket(tmp_path: Path) -> None:
    srv = Server(":memory:", env={"GRADSCAPE_TOKEN": TOKEN}).start()  # health stays open
    try:
        assert httpx.post(srv.url + "/api/sessions").status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        sid = httpx.post(srv.url + "/api/sessions", headers=auth).json()["id"]
        uri = srv.url.replace("http://", "ws://") + f"/api/sessions/{sid}/stream"
        assert _in_thread(_handshake(uri)) == ("refused", 401)

        async def first() -> str:
            async with websockets.connect(uri, additional_headers=auth) as ws:
                return str(json.loads(await ws.recv())["type"])

        assert _in_thread(first()) == "state"
    finally:
        srv.stop()
