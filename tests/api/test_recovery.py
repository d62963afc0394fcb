"""GET /api/sessions/{id}/recovery: exact statuses and fields, and the fix taken over REST
and over the socket the way the page takes it (rewind, then the live change)."""

from __future__ import annotations

import math
from typing import Any

from fastapi.testclient import TestClient

FIELDS = {
    "step", "reason", "rewind_to", "loss_at", "cause", "fix", "lr", "lambda_max", "lr_limit",
    "curvature_note", "grad_norm_healthy", "grad_norm_peak", "lr_raised_at", "smoothing_steps",
    "message",
}  # fmt: skip


def _diverged(client: TestClient, config: dict[str, Any]) -> str:
    sid = str(client.post("/api/sessions", json=config).json()["id"])
    r = client.post(f"/api/sessions/{sid}/step", json={"steps": 10_000, "evaluate": "none"})
    assert r.status_code == 200 and r.json()["status"] == "diverged"
    return sid


def test_unknown_session_is_404(client: TestClient) -> None:
    assert client.get("/api/sessions/nope/recovery").status_code == 404


def test_a_run_that_has_not_diverged_is_409_and_unchanged(client: TestClient, line_id: str) -> None:
    client.post(f"/api/sessions/{line_id}/step", json={"steps": 5})
    before = client.get(f"/api/sessions/{line_id}").json()
    r = client.get(f"/api/sessions/{line_id}/recovery")
    assert r.status_code == 409 and "not diverged" in r.json()["detail"]
    assert client.get(f"/api/sessions/{line_id}").json() == before


def test_line_at_lr_5_recovers_over_rest(client: TestClient) -> None:
    sid = _diverged(client, {"preset": "line", "optimizer": {"lr": 5}})
    r = client.get(f"/api/sessions/{sid}/recovery")
    assert r.status_code == 200
    out = r.json()
    assert set(out) == FIELDS
    assert out["step"] == 159 and out["rewind_to"] == 0 and out["cause"] == "learning_rate"
    assert out["fix"] == {"lr": 0.49} and math.isclose(out["lr_limit"], 0.99567, rel_tol=1e-4)
    assert client.post(f"/api/sessions/{sid}/rewind", json={"step": 0}).status_code == 200
    assert client.patch(f"/api/sessions/{sid}", json=out["fix"]).status_code == 200
    after = client.post(f"/api/sessions/{sid}/step", json={"steps": 300}).json()
    assert after["status"] == "paused" and after["records"]["loss"][-1] < out["loss_at"]
    info = client.get(f"/api/sessions/{sid}").json()
    assert info["settings"]["lr"] == 0.49 and info["events"] == [[0, {"lr": 0.49}]]


def test_exploding_takes_the_clip_over_the_socket(client: TestClient) -> None:
    sid = _diverged(client, {"preset": "exploding"})
    out = client.get(f"/api/sessions/{sid}/recovery").json()
    assert out["cause"] == "exploding_gradients" and set(out["fix"]) == {"clip_norm"}
    assert out["lambda_max"] is None and out["grad_norm_peak"] > 100 * out["grad_norm_healthy"]
    with client.websocket_connect(f"/api/sessions/{sid}/stream") as ws:
        assert ws.receive_json()["type"] == "state"
        ws.send_json({"type": "rewind", "step": out["rewind_to"]})
        ws.send_json({"type": "set", **out["fix"]})
        ws.send_json({"type": "step", "steps": 500})
        while True:
            msg = ws.receive_json()
            assert msg["type"] != "error", msg
            if msg["type"] == "state" and msg.get("step") == out["rewind_to"] + 500:
                break
    info = client.get(f"/api/sessions/{sid}").json()
    assert info["status"] == "paused" and info["settings"]["clip_norm"] == out["fix"]["clip_norm"]
    assert info["loss"] is not None and info["loss"] < out["loss_at"]
