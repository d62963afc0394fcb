"""Closed to other sites, open to a class on purpose (issue 13), through the ASGI app.

Cross-site writes, foreign Host headers, the token, per-client quotas, strict input and
exports of any length. The real-server halves (concurrency, restarts, the socket's
HTTP answers) are in ``tests/system/test_security.py``; the cookie flow in a browser in
``tests/e2e/test_security.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from gradscape.api.app import create_app
from gradscape.api.settings import Settings
from gradscape.service import views
from tests.api.conftest import make_client

TOKEN = "class-2024-abcdefghijklmnop"


def _count(client: TestClient) -> int:
    return int(client.app.state.registry.db.count())  # type: ignore[attr-defined]


# -- 1. cross-site requests ------------------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},  # sandboxed frames, file: pages
        {"origin": "http://testserver:9999"},  # another port is another origin
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
def test_a_bodiless_cross_site_create_is_403_and_creates_nothing(
    client: TestClient, headers: dict[str, str]
) -> None:
    r = client.post("/api/sessions", headers=headers)
    assert r.status_code == 403
    assert "origin" in r.json()["detail"] or "cross-site" in r.json()["detail"]
    assert _count(client) == 0


def test_a_cross_site_reset_delete_and_patch_are_refused(client: TestClient, line_id: str) -> None:
    client.post(f"/api/sessions/{line_id}/step", json={"steps": 3})
    evil = {"origin": "http://evil.example"}
    assert client.post(f"/api/sessions/{line_id}/reset", headers=evil).status_code == 403
    assert (
        client.patch(f"/api/sessions/{line_id}", json={"lr": 0.5}, headers=evil).status_code == 403
    )
    assert client.delete(f"/api/sessions/{line_id}", headers=evil).status_code == 403
    info = client.get(f"/api/sessions/{line_id}", headers=evil).json()  # reads are not writes
    assert info["step"] == 3 and info["settings"]["lr"] == 0.1


def test_curl_the_page_and_listed_origins_may_write() -> None:
    with make_client(allowed_origins=("https://class.example",)) as c:
        assert c.post("/api/sessions").status_code == 201  # no Origin: curl, scripts
        sid = c.post("/api/sessions", headers={"origin": "http://testserver"}).json()["id"]
        r = c.post(f"/api/sessions/{sid}/reset", headers={"sec-fetch-site": "same-origin"})
        assert r.status_code == 200
        r = c.post("/api/sessions", headers={"origin": "https://class.example"})
        assert r.status_code == 201
        assert c.post("/api/sessions", headers={"sec-fetch-site": "none"}).status_code == 201


def test_a_body_must_be_json(client: TestClient) -> None:
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        r = client.post("/api/sessions", content=b"{}", headers={"content-type": kind})
        assert r.status_code == 415, kind
        assert "application/json" in r.json()["detail"]
    r = client.post("/api/sessions", content=b"{}")  # a body without any content type
    assert r.status_code == 415
    assert _count(client) == 0
    ok = {"content-type": "application/json; charset=utf-8"}
    assert client.post("/api/sessions", content=b"{}", headers=ok).status_code == 201


# -- 2. trusted hosts -------------------------------------------------------------------
def test_a_foreign_host_is_400_on_rest_and_refused_on_the_socket(
    client: TestClient, line_id: str
) -> None:
    evil = {"host": "evil.example", "origin": "http://evil.example"}
    r = client.get("/api/health", headers={"host": "evil.example"})
    assert r.status_code == 400 and "host" in r.json()["detail"]
    assert client.post("/api/sessions", headers=evil).status_code == 400
    assert client.get("/", headers=evil).status_code == 400
    with (
        pytest.raises(WebSocketDenialResponse) as denied,
        client.websocket_connect(f"/api/sessions/{line_id}/stream", headers=evil),
    ):
        pass
    assert denied.value.status_code == 400
    assert _count(client) == 1


def test_default_hosts_are_the_loopback_names_and_the_bind_address() -> None:
    with TestClient(create_app(Settings(db=":memory:", host="10.1.2.3"))) as c:
        for host in ("127.0.0.1:8000", "localhost:8000", "localhost", "[::1]:8000", "10.1.2.3"):
            assert c.get("/api/health", headers={"host": host}).status_code == 200, host
        for host in ("testserver", "evil.example", "127.0.0.1.evil.example", "", "[::1"):
            assert c.get("/api/health", headers={"host": host}).status_code == 400, host


def test_listed_hosts_and_subdomains() -> None:
    with make_client(allowed_hosts=("class.example", "*.school.example")) as c:
        for host in ("class.example", "a.school.example:443", "127.0.0.1:8000", "localhost"):
            assert c.get("/api/health", headers={"host": host}).status_code == 200, host
        for host in ("school.example", "evil.example", "class.example.evil.example"):
            assert c.get("/api/health", headers={"host": host}).status_code == 400, host


def test_the_socket_checks_its_origin_against_the_allow_lists(
    client: TestClient, line_id: str
) -> None:
    url = f"/api/sessions/{line_id}/stream"
    for origin in ("http://evil.example", "null", "http://testserver:1"):
        with (
            pytest.raises(WebSocketDenialResponse) as denied,
            client.websocket_connect(url, headers={"origin": origin}),
        ):
            pass
        assert denied.value.status_code == 403, origin
    with client.websocket_connect(url, headers={"origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "state"
    with client.websocket_connect(url) as ws:  # no Origin: a script
        assert ws.receive_json()["type"] == "state"


# -- 3. a token -----------------------------------------------------------------------
def test_without_a_token_setting_nothing_asks_for_one(client: TestClient) -> None:
    assert client.get("/api/catalog").status_code == 200
    assert client.post("/api/sessions").status_code == 201


def test_with_a_token_every_api_call_and_socket_needs_it() -> None:
    with make_client(token=TOKEN) as c:
        assert c.get("/api/health").status_code == 200  # liveness stays open (probes)
        for method, path in [("GET", "/api/catalog"), ("POST", "/api/sessions")]:
            r = c.request(method, path)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
            assert TOKEN not in r.text
        wrong = {"authorization": "Bearer " + "x" * len(TOKEN)}
        assert c.get("/api/catalog", headers=wrong).status_code == 401
        assert c.get("/api/catalog", params={"token": TOKEN}).status_code == 401  # not in URLs
        auth = {"authorization": f"Bearer {TOKEN}"}
        sid = c.post("/api/sessions", headers=auth).json()["id"]
        assert c.get(f"/api/sessions/{sid}").status_code == 401
        with (
            pytest.raises(WebSocketDenialResponse) as denied,
            c.websocket_connect(f"/api/sessions/{sid}/stream"),
        ):
            pass
        assert denied.value.status_code == 401
        with c.websocket_connect(f"/api/sessions/{sid}/stream", headers=auth) as ws:
            assert ws.receive_json()["type"] == "state"
        assert c.get("/").status_code == 200  # the page itself holds no data
        limits = c.get("/api/catalog", headers=auth).json()["limits"]
        assert "token" not in limits and TOKEN not in json.dumps(limits)


def test_opening_the_page_with_the_token_sets_an_httponly_cookie() -> None:
    with make_client(token=TOKEN) as c:
        r = c.get("/", params={"token": TOKEN})
        assert r.status_code == 200 and "<!doctype html>" in r.text.lower()
        cookie = r.headers["set-cookie"]
        assert cookie.startswith(f"gradscape_token={TOKEN};")
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain http on loopback; https sets it
        assert c.get("/api/catalog").status_code == 200  # the cookie does the rest
        sid = c.post("/api/sessions", headers={"origin": "http://testserver"}).json()["id"]
        with c.websocket_connect(f"/api/sessions/{sid}/stream") as ws:
            assert ws.receive_json()["type"] == "state"
    with make_client(token=TOKEN) as c:
        r = c.get("/", params={"token": "not-the-token-at-all"})
        assert r.status_code == 401 and "set-cookie" not in r.headers
        c.cookies.set("gradscape_token", "not-the-token-at-all")
        assert c.get("/api/catalog").status_code == 401


def test_a_token_is_a_setting_with_a_floor() -> None:
    with pytest.raises(ValueError, match="token"):
        Settings(db=":memory:", token="short")  # type: ignore[arg-type]
    assert TOKEN not in repr(Settings(db=":memory:", token=TOKEN))  # type: ignore[arg-type]


# -- 4. quotas --------------------------------------------------------------------------
def test_the_per_client_quota_counts_live_sessions_per_address() -> None:
    with make_client(max_sessions_per_client=2) as c:
        ids = [c.post("/api/sessions").json()["id"] for _ in range(2)]
        r = c.post("/api/sessions")
        assert r.status_code == 429 and "max_sessions_per_client=2" in r.json()["detail"]
        export = c.get(f"/api/sessions/{ids[0]}/export").json()
        assert c.post("/api/sessions/import", json=export).status_code == 429
        assert c.delete(f"/api/sessions/{ids[0]}").status_code == 204
        assert c.post("/api/sessions").status_code == 201
        assert c.get("/api/catalog").json()["limits"]["max_sessions_per_client"] == 2
    with make_client(max_sessions_per_client=0, max_sessions=30) as c:  # 0 = off
        assert all(c.post("/api/sessions").status_code == 201 for _ in range(25))


def test_forwarded_for_counts_only_behind_a_trusted_proxy() -> None:
    spoof = {"x-forwarded-for": "198.51.100.7"}
    app = create_app(
        Settings(db=":memory:", allowed_hosts=("testserver",), max_sessions_per_client=1)
    )
    with TestClient(app, client=("203.0.113.9", 5000)) as c:
        assert c.post("/api/sessions", headers=spoof).status_code == 201
        spoof2 = {"x-forwarded-for": "198.51.100.8"}  # an untrusted peer's header is ignored
        assert c.post("/api/sessions", headers=spoof2).status_code == 429
    settings = Settings(
        db=":memory:",
        allowed_hosts=("testserver",),
        max_sessions_per_client=1,
        trusted_proxies=("10.0.0.0/8",),
    )
    with TestClient(create_app(settings), client=("10.0.0.2", 5000)) as c:
        # the client is the rightmost address the trusted proxies did not add
        for chain in ("198.51.100.7", "1.2.3.4, 198.51.100.8", "198.51.100.9, 10.0.0.5"):
            r = c.post("/api/sessions", headers={"x-forwarded-for": chain})
            assert r.status_code == 201, chain
        again = {"x-forwarded-for": "6.6.6.6, 198.51.100.8"}
        assert c.post("/api/sessions", headers=again).status_code == 429
        assert c.post("/api/sessions").status_code == 201  # the proxy's own
        assert c.post("/api/sessions").status_code == 429


def test_the_quota_and_the_pool_hold_after_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with make_client(db=db, max_sessions=3, max_sessions_per_client=2) as c:
        sid = c.post("/api/sessions").json()["id"]
        c.post("/api/sessions")
        export = c.get(f"/api/sessions/{sid}/export").json()
    with make_client(db=db, max_sessions=3, max_sessions_per_client=2) as c:
        assert c.post("/api/sessions").status_code == 429  # this client holds 2 already
    with make_client(db=db, max_sessions=2, max_sessions_per_client=0) as c:
        r = c.post("/api/sessions/import", json=export)
        assert r.status_code == 429 and "max_sessions=2" in r.json()["detail"]


def test_an_import_over_the_event_count_is_refused_after_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "s.db")
    with make_client(db=db, max_events=3) as c:
        sid = c.post("/api/sessions").json()["id"]
        for lr in (0.2, 0.3, 0.4):
            c.post(f"/api/sessions/{sid}/step", json={"steps": 1})
            c.patch(f"/api/sessions/{sid}", json={"lr": lr})
        export = c.get(f"/api/sessions/{sid}/export").json()
    with make_client(db=db, max_events=2) as c:
        r = c.post("/api/sessions/import", json=export)
        assert r.status_code == 422 and "max_events=2" in json.dumps(r.json())
        assert _count(c) == 1


# -- 5. strict input --------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["0.1", True, "1e-2", [0.1]])
def test_numbers_are_strict_on_rest_and_the_socket(
    client: TestClient, line_id: str, bad: Any
) -> None:
    r = client.post("/api/sessions", json={"optimizer": {"lr": bad}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == ["body", "optimizer", "lr"]
    assert client.patch(f"/api/sessions/{line_id}", json={"lr": bad}).status_code == 422
    with client.websocket_connect(f"/api/sessions/{line_id}/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "set", "lr": bad})
        msg = ws.receive_json()
        while msg["type"] != "error":
            msg = ws.receive_json()
        assert msg["message"].startswith("lr")
    assert client.get(f"/api/sessions/{line_id}").json()["settings"]["lr"] == 0.1
    assert _count(client) == 1


def test_integers_stay_numbers_and_booleans_are_strict(client: TestClient) -> None:
    r = client.post("/api/sessions", json={"optimizer": {"lr": 1}, "clip_norm": 2})
    assert r.status_code == 201 and r.json()["settings"]["optimizer"]["lr"] == 1.0
    for bad in ({"optimizer": {"name": "sgd", "nesterov": "true"}}, {"optimizer": {"amsgrad": 1}}):
        assert client.post("/api/sessions", json=bad).status_code == 422, bad
    r = client.post("/api/sessions", json={"optimizer": {"name": "adam", "betas": [True, 0.9]}})
    assert r.status_code == 422


def test_a_binary_frame_gets_an_error_frame_and_the_socket_stays_open(
    client: TestClient, line_id: str
) -> None:
    with client.websocket_connect(f"/api/sessions/{line_id}/stream") as ws:
        assert ws.receive_json()["type"] == "state"
        ws.send_bytes(b'{"type": "step", "steps": 5}')
        msg = ws.receive_json()
        assert msg == {"type": "error", "message": "binary frames are not accepted; send JSON text"}
        ws.send_json({"type": "step", "steps": 2})
        msg = ws.receive_json()
        while msg["type"] != "state":
            msg = ws.receive_json()
        assert msg["step"] == 2


@pytest.mark.parametrize(
    "path",
    ["/" + "a" * 5000, "/" + "a/" * 3000, "/%00", "/a%00b", "/..%2f..%2fetc%2fpasswd", "/%2e%2e/x"],
)
def test_long_or_odd_page_paths_are_404(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404


def test_errors_name_the_real_place_of_the_field(client: TestClient, line_id: str) -> None:
    r = client.get(f"/api/sessions/{line_id}/trajectory", params={"fields": "bogus"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "fields"]
    r = client.get(f"/api/sessions/{line_id}/data", params={"resolution": 100_000})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "resolution"]
    r = client.post(f"/api/sessions/{line_id}/surface", json={"resolution": 100_000})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "resolution"]
    r = client.get("/api/sessions/" + "x" * 65)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "session_id"]


def test_head_is_answered_and_allow_lists_every_method(client: TestClient, line_id: str) -> None:
    for path in ("/api/health", "/", f"/api/sessions/{line_id}", "/vendor/plotly.min.js"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == 200 and head.content == b"", path
        assert head.headers["content-length"] == got.headers["content-length"], path
        assert head.headers["content-type"] == got.headers["content-type"]
    r = client.delete("/api/health")
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    r = client.post(f"/api/sessions/{line_id}")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, HEAD, PATCH"
    r = client.put("/api/sessions")
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_an_unknown_session_socket_is_accepted_then_closed_4404(client: TestClient) -> None:
    with (
        client.websocket_connect("/api/sessions/nope/stream") as ws,  # accepted
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 4404


def test_internal_exception_text_never_reaches_a_response(
    client: TestClient, line_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        return np.reshape(np.arange(3), (2, 2))  # numpy's own ValueError

    monkeypatch.setattr(views, "info", broken)
    quiet = TestClient(client.app, raise_server_exceptions=False)
    r = quiet.get(f"/api/sessions/{line_id}")
    assert r.status_code == 500 and r.json() == {"detail": "internal error"}
    assert "reshape" not in r.text and "size" not in r.text


def test_a_database_failure_answers_503_without_sqlite_words(
    client: TestClient, line_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    def fail(*args: Any, **kwargs: Any) -> None:
        raise sqlite3.OperationalError("disk I/O error at /secret/path/sessions.db")

    registry = client.app.state.registry  # type: ignore[attr-defined]
    monkeypatch.setattr(registry.db, "save", fail)
    r = client.patch(f"/api/sessions/{line_id}", json={"lr": 0.2})
    assert r.status_code == 503
    assert "secret" not in r.text and "disk I/O" not in r.text


# -- 6. export at any length ------------------------------------------------------------
def test_export_decimates_to_fit_and_says_so() -> None:
    with make_client(max_response_floats=20_000) as c:
        sid = c.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
        c.post(f"/api/sessions/{sid}/step", json={"steps": 200, "evaluate": "none"})
        full = c.get(f"/api/sessions/{sid}/export").json()
        assert (
            full["every"] > 1 and "every" in full["note"] and "max_response_floats" in full["note"]
        )
        rows = len(full["trajectory"]["step"])
        assert full["trajectory"]["step"][:2] == [0, full["every"]]
        n_params = len(full["param_names"])
        assert rows * (n_params + len(full["trajectory"])) <= 20_000
        assert rows == len(range(0, 201, full["every"]))
        # the next smaller step would not fit
        assert len(range(0, 201, full["every"] - 1)) * (n_params + 10) > 20_000
        # a decimated export still rebuilds the whole run
        again = c.post("/api/sessions/import", json=full).json()
        assert again["params"] == c.get(f"/api/sessions/{sid}").json()["params"]
        r = c.get(f"/api/sessions/{sid}/export", params={"format": "csv"})
        assert r.status_code == 200 and r.headers["x-gradscape-every"] == str(full["every"])
        assert "max_response_floats" in r.headers["x-gradscape-note"]
        assert len(r.text.splitlines()) == rows + 1
        asked = c.get(f"/api/sessions/{sid}/export", params={"every": 1})
        assert asked.status_code == 413  # an explicit every is kept, or refused
        short = c.post("/api/sessions", json={"preset": "line"}).json()["id"]
        small = c.get(f"/api/sessions/{short}/export").json()
        assert small["every"] == 1 and small["note"] is None


def test_an_empty_token_variable_is_no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADSCAPE_TOKEN", "")
    assert Settings.from_env(db=":memory:").token is None
    monkeypatch.setenv("GRADSCAPE_TOKEN", TOKEN)
    monkeypatch.setenv("GRADSCAPE_TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.1")
    settings = Settings.from_env(db=":memory:")
    assert settings.token is not None and settings.token.get_secret_value() == TOKEN
    assert settings.trusted_proxies == ("10.0.0.0/8", "192.0.2.1")
    monkeypatch.setenv("GRADSCAPE_TRUSTED_PROXIES", "not-an-address")
    with pytest.raises(ValueError, match="trusted_proxies"):
        Settings.from_env(db=":memory:")


def test_the_cookie_is_found_beside_other_apps_odd_cookies() -> None:
    with make_client(token=TOKEN) as c:
        odd = f'other={{"json": "value"}}; a=b=c; gradscape_token={TOKEN}; x="y'
        assert c.get("/api/catalog", headers={"cookie": odd}).status_code == 200
