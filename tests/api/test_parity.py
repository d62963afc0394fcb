"""One rule per command: REST and the socket refuse the same request with the same words.

Each bad request is sent through both doors against sessions in the same state; the
refusal must read the same and leave the session exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gradscape.core.session import TrainingSession
from tests.api.conftest import make_client

LIMITS = {"max_steps_per_call": 50, "max_trajectory_steps": 100, "max_events": 2}


@pytest.fixture
def small() -> Iterator[TestClient]:
    with make_client(**LIMITS) as c:
        yield c


def _rest_message(resp: Any) -> str:
    """REST's refusal in the socket's words: ``field: msg`` for a schema error."""
    detail = resp.json()["detail"]
    if isinstance(detail, str):
        return detail
    item = detail[0]
    if item["type"] == "value_error":
        return str(item["msg"])
    return f"{'.'.join(str(p) for p in item['loc'][1:])}: {item['msg']}"


def _state(client: TestClient, sid: str) -> dict[str, Any]:
    info = client.get(f"/api/sessions/{sid}").json()
    return {k: info[k] for k in ("step", "status", "settings", "events", "params")}


def _socket_error(client: TestClient, sid: str, message: dict[str, Any]) -> str:
    with client.websocket_connect(f"/api/sessions/{sid}/stream") as ws:
        assert ws.receive_json()["type"] == "state"
        ws.send_json(message)
        while True:
            msg = ws.receive_json()
            if msg["type"] == "error":
                return str(msg["message"])
            assert msg["type"] in ("state", "status"), msg  # no steps may be made


def _session(client: TestClient, config: dict[str, Any], steps: int = 0) -> str:
    sid = str(client.post("/api/sessions", json=config).json()["id"])
    while steps > 0:  # in calls within max_steps_per_call
        n = min(steps, LIMITS["max_steps_per_call"])
        assert client.post(f"/api/sessions/{sid}/step", json={"steps": n}).status_code == 200
        steps -= n
    return sid


REST = {
    "step": ("POST", "/step"),
    "set": ("PATCH", ""),
    "rewind": ("POST", "/rewind"),
}
CASES = [
    # (command, body, status over REST, words the refusal must contain, setup steps)
    ("step", {"steps": 0}, 422, "greater than or equal to 1", 0),
    ("step", {"steps": 60}, 422, "max_steps_per_call=50", 0),
    ("step", {"steps": 1.5}, 422, "steps", 0),
    ("step", {"steps": 30}, 409, "max_trajectory_steps=100", 90),
    ("step", {"steps": 3, "epochs": 1}, 422, "not both", 0),
    ("step", {"steps": 3, "speed": 2}, 422, "Extra inputs", 0),
    ("set", {"lr": -3}, 422, "greater than 0", 0),
    ("set", {"batch_size": 51}, 422, "batch_size", 0),
    ("set", {"optimizer": {"name": "adamax"}}, 422, "optimizer.name", 0),
    ("set", {"colour": "red"}, 422, "Extra inputs", 0),
    ("set", {}, 422, "nothing to change", 0),
    ("rewind", {"step": 10}, 422, "step must be an integer in [0, 5]", 5),
    ("rewind", {}, 422, "Field required", 5),
    ("rewind", {"step": -1}, 422, "greater than or equal to 0", 5),
]


@pytest.mark.parametrize(("command", "body", "status", "words", "setup"), CASES)
def test_rest_and_socket_refuse_alike_and_change_nothing(
    small: TestClient, command: str, body: dict[str, Any], status: int, words: str, setup: int
) -> None:
    a = _session(small, {"preset": "line"}, setup)
    b = _session(small, {"preset": "line"}, setup)
    before_a, before_b = _state(small, a), _state(small, b)
    method, suffix = REST[command]
    resp = small.request(method, f"/api/sessions/{a}{suffix}", json=body)
    assert resp.status_code == status, resp.text
    rest = _rest_message(resp)
    socket = _socket_error(small, b, {"type": command, **body})
    assert words in rest, rest
    assert socket == rest
    assert _state(small, a) == before_a
    assert _state(small, b) == before_b


def test_a_diverged_run_refuses_steps_alike(small: TestClient) -> None:
    config = {"preset": "line", "optimizer": {"lr": 1e6}}
    a, b = _session(small, config, 50), _session(small, config, 50)
    assert small.get(f"/api/sessions/{a}").json()["status"] == "diverged"
    resp = small.post(f"/api/sessions/{a}/step", json={"steps": 1})
    assert resp.status_code == 409
    assert _socket_error(small, b, {"type": "step", "steps": 1}) == _rest_message(resp)
    assert "diverged" in _rest_message(resp)


def test_a_diverged_run_refuses_live_changes_alike(small: TestClient) -> None:
    # a change logged at a step that never comes: a rewind would drop it and a replay of
    # the log would train past the divergence (the run came back "paused" at T + 2)
    config = {"preset": "line", "optimizer": {"lr": 1e6}}
    a, b = _session(small, config, 50), _session(small, config, 50)
    before_a, before_b = _state(small, a), _state(small, b)
    assert before_a["status"] == "diverged"
    resp = small.patch(f"/api/sessions/{a}", json={"lr": 0.1})
    assert resp.status_code == 409
    assert _socket_error(small, b, {"type": "set", "lr": 0.1}) == _rest_message(resp)
    assert "diverged" in _rest_message(resp) and "rewind" in _rest_message(resp)
    assert _state(small, a) == before_a and _state(small, b) == before_b
    # rewound, the same change is taken
    small.post(f"/api/sessions/{a}/rewind", json={"step": 0})
    assert small.patch(f"/api/sessions/{a}", json={"lr": 0.1}).status_code == 200


def test_the_event_budget_holds_for_rest_and_socket(small: TestClient) -> None:
    a, b = _session(small, {"preset": "line"}), _session(small, {"preset": "line"})
    for sid in (a, b):
        for lr in (0.2, 0.3):
            assert small.patch(f"/api/sessions/{sid}", json={"lr": lr}).status_code == 200
    resp = small.patch(f"/api/sessions/{a}", json={"lr": 0.4})
    assert resp.status_code == 409 and "max_events=2" in _rest_message(resp)
    assert _socket_error(small, b, {"type": "set", "lr": 0.4}) == _rest_message(resp)
    assert small.get(f"/api/sessions/{b}").json()["settings"]["lr"] == 0.3


def test_play_is_refused_at_the_step_limit(small: TestClient) -> None:
    sid = _session(small, {"preset": "line"}, 50)
    assert small.post(f"/api/sessions/{sid}/step", json={"steps": 50}).status_code == 200
    message = _socket_error(small, sid, {"type": "play"})
    assert "max_trajectory_steps=100" in message


def _export(client: TestClient, steps: int) -> dict[str, Any]:
    sid = _session(client, {"preset": "line"}, steps)
    data: dict[str, Any] = client.get(f"/api/sessions/{sid}/export").json()
    return data


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.update(step=30_041_869), "step: 30041869 is over max_trajectory_steps=100"),
        (lambda d: d.update(events=[[30_041_869, {"lr": 0.2}]]), "events[0]"),
        (lambda d: d.update(events=[[5, {"lr": 0.2}], [90, {"lr": 0.3}]]), "events[1]"),
        (lambda d: d.update(events=[[1, {"lr": 0.2}]] * 3), "max_events=2"),
        (lambda d: d.update(events=[[3, {"lr": 0.2}], [1, {"lr": 0.3}]]), "events[1]"),
    ],
)
def test_import_checks_every_limit_before_replaying(
    small: TestClient, monkeypatch: pytest.MonkeyPatch, change: Any, words: str
) -> None:
    data = _export(small, 10)
    change(data)

    def no_training(*args: object, **kwargs: object) -> None:
        raise AssertionError("replayed before checking the limits")

    monkeypatch.setattr(TrainingSession, "step", no_training)
    monkeypatch.setattr(TrainingSession, "catch_up", no_training)
    resp = small.post("/api/sessions/import", json=data)
    assert resp.status_code == 422, resp.text
    message = _rest_message(resp)
    assert words in message, message


def test_an_import_within_the_limits_replays_bit_for_bit(small: TestClient) -> None:
    sid = _session(small, {"preset": "line"}, 10)
    small.patch(f"/api/sessions/{sid}", json={"lr": 0.05})
    small.post(f"/api/sessions/{sid}/step", json={"steps": 7})
    data = small.get(f"/api/sessions/{sid}/export").json()
    back = small.post("/api/sessions/import", json=data)
    assert back.status_code == 201
    assert back.json()["params"] == small.get(f"/api/sessions/{sid}").json()["params"]
    assert back.json()["step"] == 17
