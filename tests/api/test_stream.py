"""The WebSocket protocol: typed messages, batched frames, live changes, errors, origins."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import make_client


def _until(ws: WebSocketTestSession, pred: Any, limit: int = 400) -> dict[str, Any]:
    for _ in range(limit):
        msg = ws.receive_json()
        assert msg["type"] in ("state", "steps", "status", "error")
        if pred(msg):
            return dict(msg)
    raise AssertionError("condition never met")


def _last(value: Any) -> Any:
    return value[-1] if isinstance(value, list) else value


def test_connect_gets_state_then_steps_frames(client: TestClient, line_id: str) -> None:
    with client.websocket_connect(f"/api/sessions/{line_id}/stream") as ws:
        first = ws.receive_json()
        assert first["type"] == "state" and first["step"] == 0 and first["id"] == line_id
        ws.send_json({"type": "step", "steps": 25})
        frame = _until(ws, lambda m: m["type"] == "steps")
        assert frame["from"] == 1 and frame["to"] == 25
        assert frame["step"][-1] == 25
        assert frame["eval"]["step"][-1] == 25 and frame["eval"]["loss"][-1] > 0
        assert frame["lr"] == 0.1 and frame["batch_size"] == 50
        assert len(frame["params"]) == 2


def test_play_streams_monotonic_steps_and_pause_stops(client: TestClient, line_id: str) -> None:
    with client.websocket_connect(f"/api/sessions/{line_id}/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "play", "steps_per_second": 3000})
        seen: list[int] = []
        _until(ws, lambda m: m["type"] == "steps" and (seen.extend(m["step"]) or m["to"] > 300))
        assert seen == sorted(seen) and len(set(seen)) == len(seen)
        ws.send_json({"type": "set", "lr": 0.05})
        frame = _until(ws, lambda m: m["type"] == "steps" and _last(m["lr"]) == 0.05)
        assert frame["step"][0] > 300  # no reset: the count continued
        ws.send_json({"type": "pause"})
        _until(ws, lambda m: m["type"] == "state" and m["status"] == "paused")
    info = client.get(f"/api/sessions/{line_id}").json()
    assert info["status"] == "paused" and info["settings"]["lr"] == 0.05 and info["step"] > 300


def test_bad_messages_get_error_frames_and_change_nothing(client: TestClient, line_id: str) -> None:
    with client.websocket_connect(f"/api/sessions/{line_id}/stream") as ws:
        ws.receive_json()
        for bad, words in [
            ("not json", "not JSON"),
            (json.dumps([1, 2]), "JSON object"),
            (json.dumps({"type": "dance"}), "unknown message type"),
            (json.dumps({"type": "set", "lr": -3}), "lr"),
            (json.dumps({"type": "set", "batch_size": 0}), "batch_size"),
            (json.dumps({"type": "step", "steps": 0}), "steps"),
            (json.dumps({"type": "play", "steps_per_second": -1}), "steps_per_second"),
            (json.dumps({"type": "rewind", "step": 10}), "step"),
            ('{"type": "set", "lr": NaN}', "lr"),
        ]:
            ws.send_text(bad)
            err = _until(ws, lambda m: m["type"] == "error")
            assert words in err["message"], (bad, err)
    info = client.get(f"/api/sessions/{line_id}").json()
    assert info["step"] == 0 and info["settings"]["lr"] == 0.1 and info["events"] == []


def test_rest_changes_show_up_on_open_sockets(client: TestClient, line_id: str) -> None:
    with (
        client.websocket_connect(f"/api/sessions/{line_id}/stream") as a,
        client.websocket_connect(f"/api/sessions/{line_id}/stream") as b,
    ):
        a.receive_json()
        b.receive_json()
        client.patch(f"/api/sessions/{line_id}", json={"lr": 0.2})
        for ws in (a, b):
            state = _until(ws, lambda m: m["type"] == "state" and m["settings"]["lr"] == 0.2)
            assert state["step"] == 0
        client.post(f"/api/sessions/{line_id}/step", json={"steps": 7})
        for ws in (a, b):
            _until(ws, lambda m: m["type"] == "steps" and m["to"] == 7)
        client.post(f"/api/sessions/{line_id}/rewind", json={"step": 3})
        for ws in (a, b):
            _until(ws, lambda m: m["type"] == "state" and m["step"] == 3)


def test_divergence_is_reported_on_the_socket(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={"preset": "line", "optimizer": {"lr": 1e6}}).json()[
        "id"
    ]
    with client.websocket_connect(f"/api/sessions/{sid}/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "play"})
        _until(ws, lambda m: m.get("status") == "diverged")
        ws.send_json({"type": "play"})
        assert "diverged" in _until(ws, lambda m: m["type"] == "error")["message"]


def test_frames_stay_small_for_a_fast_mlp() -> None:
    # a budget no slow machine reaches: the call makes all 20,000 steps, in one frame
    with make_client(max_call_seconds=3600.0) as client:
        sid = client.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
        with client.websocket_connect(f"/api/sessions/{sid}/stream") as ws:
            ws.receive_json()
            ws.send_json({"type": "step", "steps": 20_000})
            raw = ws.receive_text()
            while json.loads(raw)["type"] != "steps":
                raw = ws.receive_text()
            assert len(raw.encode()) <= 65_536
            frame = json.loads(raw)
            assert frame["to"] == 20_000 and len(frame["step"]) <= 240


def test_origin_is_checked(client: TestClient, line_id: str) -> None:
    with (
        pytest.raises(WebSocketDenialResponse) as exc,
        client.websocket_connect(
            f"/api/sessions/{line_id}/stream", headers={"origin": "http://evil.example"}
        ),
    ):
        pass  # refused before the handshake is accepted: an HTTP 403, no close code
    assert exc.value.status_code == 403
    with client.websocket_connect(
        f"/api/sessions/{line_id}/stream", headers={"origin": "http://testserver"}
    ) as ws:
        assert ws.receive_json()["type"] == "state"


def test_unknown_session_socket_is_closed(client: TestClient) -> None:
    with (
        client.websocket_connect("/api/sessions/nope/stream") as ws,  # accepted, then closed
        pytest.raises(WebSocketDisconnect) as exc,
    ):
        ws.receive_json()
    assert exc.value.code == 4404


def test_disconnect_mid_stream_leaves_nothing_running(client: TestClient, line_id: str) -> None:
    store = client.app.state.registry  # type: ignore[attr-defined]
    with client.websocket_connect(f"/api/sessions/{line_id}/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "play", "steps_per_second": 5000})
        _until(ws, lambda m: m["type"] == "steps")
    entry = store._entries[line_id]
    assert entry.listeners == set()
    deadline = time.monotonic() + 5
    while entry.runner is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert entry.runner is None and not entry.run.playing
    info = client.get(f"/api/sessions/{line_id}").json()
    assert info["status"] == "paused" and info["unread"] is True  # a page coming back resumes
    assert info["reason"] == "its last viewer closed the socket"
    time.sleep(0.1)
    assert client.get(f"/api/sessions/{line_id}").json()["step"] == info["step"]  # stopped
    client.patch(f"/api/sessions/{line_id}", json={"lr": 0.2})
    assert client.get(f"/api/sessions/{line_id}").json()["unread"] is True
    with client.websocket_connect(f"/api/sessions/{line_id}/stream") as ws:
        assert ws.receive_json()["unread"] is True
        ws.send_json({"type": "play", "steps_per_second": 100})
        state = _until(ws, lambda m: m["type"] == "state" and m["status"] == "running")
        assert state["unread"] is False and state["reason"] is None
        ws.send_json({"type": "pause"})
        state = _until(ws, lambda m: m["type"] == "state" and m["status"] == "paused")
        assert state["unread"] is False and state["reason"] is None  # asked for: no reason


def test_frames_carry_validation_losses_when_data_is_held_out(client: TestClient) -> None:
    config = {"preset": "moons-mlp", "data": {"validation_split": 0.25}}
    sid = client.post("/api/sessions", json=config).json()["id"]
    with client.websocket_connect(f"/api/sessions/{sid}/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "step", "steps": 40})
        frame = _until(ws, lambda m: m["type"] == "steps")
        ev = frame["eval"]
        assert len(ev["val_loss"]) == len(ev["step"]) and ev["val_loss"][-1] > 0
        assert 0 <= ev["val_accuracy"][-1] <= 1


def test_state_messages_carry_only_new_events_and_names_once(
    client: TestClient, line_id: str
) -> None:
    """A follower rebuilds the whole log from the deltas; a rewind resends it whole."""
    with client.websocket_connect(f"/api/sessions/{line_id}/stream") as ws:
        first = ws.receive_json()
        assert first["events"] == [] and "param_names" in first and "events_from" not in first
        events: list[Any] = []
        for lr in (0.2, 0.3, 0.4):
            ws.send_json({"type": "step", "steps": 5})
            ws.send_json({"type": "set", "lr": lr})
            state = _until(ws, lambda m, lr=lr: m["type"] == "state" and m["settings"]["lr"] == lr)
            assert "param_names" not in state
            assert len(state["events"]) == 1  # only the new one
            events = events[: state.get("events_from", 0)] + state["events"]
        info = client.get(f"/api/sessions/{line_id}").json()
        assert events == info["events"] and len(events) == 3
        ws.send_json({"type": "rewind", "step": 7})
        state = _until(ws, lambda m: m["type"] == "state" and m["step"] == 7)
        assert "events_from" not in state  # the log shrank: whole again
        assert state["events"] == client.get(f"/api/sessions/{line_id}").json()["events"]
        assert len(state["events"]) == 1


def test_every_viewer_gets_the_same_bytes_for_the_same_steps(
    client: TestClient, line_id: str
) -> None:
    """One frame is cut per publish; viewers do not each build their own."""
    with (
        client.websocket_connect(f"/api/sessions/{line_id}/stream") as a,
        client.websocket_connect(f"/api/sessions/{line_id}/stream") as b,
    ):
        for ws in (a, b):
            assert ws.receive_json()["type"] == "state"
        a.send_json({"type": "step", "steps": 30})
        texts = []
        for ws in (a, b):
            raw = ws.receive_text()
            while json.loads(raw)["type"] != "steps":
                raw = ws.receive_text()
            texts.append(raw)
        assert texts[0] == texts[1]
        assert json.loads(texts[0])["from"] == 1 and json.loads(texts[0])["to"] == 30


def test_a_burst_of_sets_is_few_events_ending_at_the_last_values(
    client: TestClient, line_id: str
) -> None:
    with client.websocket_connect(f"/api/sessions/{line_id}/stream") as ws:
        ws.receive_json()
        for i in range(1, 51):
            ws.send_json({"type": "set", "lr": i / 100, "batch_size": i % 45 + 1})
        ws.send_json({"type": "step", "steps": 1})  # applies after every set before it
        _until(ws, lambda m: m["type"] == "steps" and m["to"] == 1)
    info = client.get(f"/api/sessions/{line_id}").json()
    assert info["settings"]["lr"] == 0.5 and info["settings"]["batch_size"] == 6
    assert 1 <= len(info["events"]) <= 5  # not 50


def test_a_set_refused_inside_a_burst_is_reported_and_the_rest_apply(
    client: TestClient, line_id: str
) -> None:
    with client.websocket_connect(f"/api/sessions/{line_id}/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "set", "lr": 0.2})
        ws.send_json({"type": "set", "batch_size": 10_000})  # more than the data holds
        ws.send_json({"type": "set", "lr": 0.3})
        err = _until(ws, lambda m: m["type"] == "error")
        assert "batch_size" in err["message"]
        _until(ws, lambda m: m["type"] == "state" and m["settings"]["lr"] == 0.3)
    info = client.get(f"/api/sessions/{line_id}").json()
    assert info["settings"]["lr"] == 0.3 and info["settings"]["batch_size"] is None  # full


def test_play_at_a_rate_keeps_wall_time_and_says_when_it_falls_short(client: TestClient) -> None:
    from gradscape.api.player import Pace

    pace = Pace(frame=1 / 30, cap=10_000)
    now, made = 0.0, 0
    for gap in [0.01, 0.2, 0.05, 0.5, 0.033] * 8:  # ticks at any rate
        now += gap
        n = pace.due(100.0, now)
        pace.done(n, 0.001 * n, now)
        made += n
    assert abs(made - 100 * now) <= 2  # owed by the clock, not by the tick count
    assert pace.report() == {}
    slow = Pace(frame=1 / 30, cap=10_000)
    for i in range(1, 90):
        n = slow.due(100.0, i / 30)
        slow.done(min(n, 1), 0.03, i / 30)  # the machine gives one step a tick
    rate = slow.report()["rate"]
    assert rate["asked"] == 100.0 and 25 <= rate["achieved"] <= 35
    assert (
        rate["reason"] == "each step of this model takes 30 ms of compute here: at most ~33 steps/s"
    )
    shared = Pace(frame=1 / 30, cap=10_000)
    for i in range(1, 90):
        n = shared.due(100.0, i / 30)
        shared.done(min(n, 1), 0.001, i / 30)  # quick steps, but one a tick: waiting for turns
    assert shared.report()["rate"]["reason"].startswith("the server is shared")


def test_reads_while_play_runs_never_see_a_half_made_step(client: TestClient) -> None:
    # GET reads the run between a tick's rows: it must wait for the lock, not index a row
    # the tick is still writing (an IndexError, a 500, before the fix)
    sid = client.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
    with client.websocket_connect(f"/api/sessions/{sid}/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "play"})
        _until(ws, lambda m: m["type"] == "steps")
        steps = []
        for _ in range(250):
            r = client.get(f"/api/sessions/{sid}")
            assert r.status_code == 200, r.text
            steps.append(r.json()["step"])
        ws.send_json({"type": "pause"})
    assert steps == sorted(steps) and steps[-1] > steps[0]  # it played meanwhile
