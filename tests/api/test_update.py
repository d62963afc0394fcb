"""GET /api/sessions/{id}/update over HTTP: the chapter's numbers, torch.optim's step,
nothing changed by looking, and exact status codes for bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.chapter_loop import chapter_loop
from tests.helpers import require_torch


def _stepped(client: TestClient, config: dict[str, Any], body: dict[str, Any]) -> str:
    r = client.post("/api/sessions", json=config)
    assert r.status_code == 201, r.text
    sid = str(r.json()["id"])
    if body:
        assert client.post(f"/api/sessions/{sid}/step", json=body).status_code == 200
    return sid


def _update(client: TestClient, sid: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/api/sessions/{sid}/update", params=params)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def _col(view: dict[str, Any], key: str) -> np.ndarray:
    return np.array([row[key] for row in view["rows"]], dtype=float)


def test_pass_fail_update_reads_the_chapters_numbers(client: TestClient) -> None:
    loop = chapter_loop(500)
    sid = _stepped(client, {"preset": "pass-fail"}, {"epochs": 500})
    first = _update(client, sid, step=1)
    assert [(r["index"], r["name"]) for r in first["rows"]] == [
        (0, "w_study"), (1, "w_sleep"), (2, "bias")
    ]  # fmt: skip
    for view, ref in ((first, loop[0]), (_update(client, sid), loop[499])):
        for key in ("before", "grad", "after"):
            np.testing.assert_allclose(_col(view, key), getattr(ref, key), rtol=1e-12, atol=1e-12)
    rounded = {key: np.round(_col(first, key), 4).tolist() for key in ("before", "grad", "after")}
    assert rounded == {
        "before": [0.4967, -0.1383, 0.0],
        "grad": [0.5515, 0.8219, 0.2845],
        "after": [0.4416, -0.2205, -0.0284],
    }
    assert _update(client, sid)["step"] == 500


@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
        {"name": "adam", "lr": 0.01},
        {"name": "adamw", "lr": 0.01, "weight_decay": 0.1},
    ],
    ids=lambda o: str(o["name"]),
)
def test_update_matches_torch_optim(client: TestClient, optimizer: dict[str, Any]) -> None:
    torch = require_torch()
    config = {"preset": "moons-mlp", "optimizer": optimizer, "batch_size": 25}
    sid = _stepped(client, config, {"steps": 60})
    view = _update(client, sid, step=43, limit=500)
    opt = view["optimizer"]
    hyper = {k: tuple(v) if k == "betas" else v for k, v in opt["hyper"].items()}
    p = torch.tensor(_col(view, "before"), dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor(_col(view, "grad"), dtype=torch.float64)
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    ref = cls[opt["name"]]([p], lr=opt["lr"], foreach=False, **hyper)
    state: dict[str, Any] = {
        key: torch.tensor([r["state_before"][key] for r in view["rows"]], dtype=torch.float64)
        for key in view["buffers"]
    }
    if opt["name"] != "sgd":
        state["step"] = torch.tensor(float(opt["t"] - 1))
    ref.state[p] = state
    ref.step()
    np.testing.assert_allclose(_col(view, "after"), p.detach().numpy(), rtol=1e-12)
    for key in view["buffers"]:
        ours = [r["state_after"][key] for r in view["rows"]]
        np.testing.assert_allclose(ours, ref.state[p][key].numpy(), rtol=1e-12, atol=1e-300)
    traj = client.get(
        f"/api/sessions/{sid}/trajectory", params={"fields": "params", "start": 43, "stop": 44}
    ).json()["columns"]["params"][0]
    assert _col(view, "after").tolist() == traj


def test_looking_changes_nothing(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "moons-mlp"}, {"steps": 150})
    client.patch(f"/api/sessions/{sid}", json={"lr": 0.002})
    _stepped_more = client.post(f"/api/sessions/{sid}/step", json={"steps": 20})
    assert _stepped_more.status_code == 200
    fields = {"fields": "step,loss,batch_loss,grad_norm,lr,params"}
    info = client.get(f"/api/sessions/{sid}").json()
    traj = client.get(f"/api/sessions/{sid}/trajectory", params=fields).json()
    for step in (170, 1, 151, 150, 99):
        _update(client, sid, step=step, match="layer3")
    assert client.get(f"/api/sessions/{sid}").json() == info
    assert client.get(f"/api/sessions/{sid}/trajectory", params=fields).json() == traj
    assert _update(client, sid, step=151)["optimizer"]["lr"] == 0.002


def test_paging_and_the_openapi_shape(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "moons-mlp"}, {"steps": 3})
    view = _update(client, sid, match="layer1.b", offset=10, limit=10)
    assert view["total"] == 16 and [r["name"] for r in view["rows"]] == [
        f"layer1.b[{i}]" for i in range(10, 16)
    ]
    assert view["offset"] == 10 and view["limit"] == 10 and view["match"] == "layer1.b"
    assert set(view["rows"][0]) == {
        "index", "name", "before", "grad", "grad_raw", "plain_step", "taken", "after",
        "state_before", "state_after", "m_hat", "v_hat", "denominator",
    }  # fmt: skip
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/sessions/{session_id}/update"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/UpdateResult"}
    assert {"404", "409", "422"} <= set(op["responses"])
    assert "explain" in doc["components"]["schemas"]["UpdateResult"]["properties"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"step": 0}, "step"),
        ({"step": 4}, "step"),
        ({"step": "two"}, "step"),
        ({"step": "nan"}, "step"),
        ({"step": 1.5}, "step"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"match": "w" * 65}, "match"),
        ({"steps": 1}, "steps"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, params: dict[str, Any], field: str
) -> None:
    sid = _stepped(client, {"preset": "pass-fail"}, {"steps": 3})
    r = client.get(f"/api/sessions/{sid}/update", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][-1] == field
    assert client.get(f"/api/sessions/{sid}").json()["step"] == 3


def test_no_update_yet_is_409_and_unknown_is_404(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "pass-fail"}, {})
    r = client.get(f"/api/sessions/{sid}/update")
    assert r.status_code == 409 and "no update yet" in r.json()["detail"]
    assert client.get(f"/api/sessions/{sid}/update", params={"step": 1}).status_code == 409
    assert client.get("/api/sessions/nope/update").status_code == 404
