"""GET /api/sessions/{id}/code: exact statuses and fields, and the snippets, executed,
retracing the run the API itself made (its trajectory and parameters)."""

from __future__ import annotations

import ast
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import make_client
from tests.helpers import require_torch, run_snippet

FIELDS = {"language", "code", "filename", "epochs", "exact", "omits", "notes"}


def _session(client: TestClient, config: dict[str, Any], epochs: int = 0) -> str:
    sid = str(client.post("/api/sessions", json=config).json()["id"])
    if epochs:
        r = client.post(f"/api/sessions/{sid}/step", json={"epochs": epochs, "evaluate": "none"})
        assert r.status_code == 200 and r.json()["truncated"] is False
    return sid


def _assert_retraces(client: TestClient, sid: str, namespace: dict[str, Any]) -> None:
    """The snippet's losses and final theta against the API's own trajectory."""
    info = client.get(f"/api/sessions/{sid}").json()
    per_epoch = round(info["step"] / info["epoch"])
    epochs = sorted(namespace["losses"])
    traj = client.get(
        f"/api/sessions/{sid}/trajectory", params={"fields": "step,loss", "every": per_epoch}
    ).json()["columns"]
    server = dict(zip(traj["step"], traj["loss"], strict=True))
    mine = [float(namespace["losses"][e]) for e in epochs]
    np.testing.assert_allclose(mine, [server[e * per_epoch] for e in epochs], rtol=1e-9, atol=1e-9)
    theta = namespace["theta"]
    theta = theta.detach().numpy() if hasattr(theta, "detach") else theta
    np.testing.assert_allclose(theta, info["params"], rtol=1e-8, atol=1e-8)


def test_unknown_session_is_404(client: TestClient) -> None:
    assert client.get("/api/sessions/nope/code").status_code == 404


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"language": "julia"}, ["query", "language"]),
        ({"epochs": 0}, ["query", "epochs"]),
        ({"epochs": 100_001}, ["query", "epochs"]),
        ({"epochs": "many"}, ["query", "epochs"]),
        ({"lang": "numpy"}, ["query", "lang"]),
    ],
)
def test_bad_query_is_422_naming_it(
    client: TestClient, line_id: str, params: dict[str, Any], loc: list[str]
) -> None:
    r = client.get(f"/api/sessions/{line_id}/code", params=params)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == loc


def test_keras_for_a_surface_is_422(client: TestClient) -> None:
    sid = _session(client, {"preset": "rosenbrock"})
    r = client.get(f"/api/sessions/{sid}/code", params={"language": "keras"})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["loc"][-1] == "language" and "covers layer models" in detail["msg"]
    ok = client.get(f"/api/sessions/{sid}/code", params={"language": "numpy"})
    assert ok.status_code == 200 and ok.json()["exact"] is True


def test_data_too_big_to_embed_is_413() -> None:
    with make_client(max_response_floats=100) as client:
        sid = _session(client, {"preset": "moons-mlp"})
        r = client.get(f"/api/sessions/{sid}/code")
        assert r.status_code == 413 and "max_response_floats=100" in r.json()["detail"]


def test_pass_fail_numpy_after_the_chapters_epochs(client: TestClient) -> None:
    sid = _session(client, {"preset": "pass-fail"}, epochs=2000)
    r = client.get(f"/api/sessions/{sid}/code")
    assert r.status_code == 200
    out = r.json()
    assert set(out) == FIELDS
    assert out["language"] == "numpy" and out["filename"] == "gradscape_pass_fail.py"
    assert out["epochs"] == 2000 and out["exact"] is True and out["omits"] == []
    namespace, printed = run_snippet(out["code"])
    assert printed.splitlines()[:4] == [
        "epoch    0 loss 0.6330",
        "epoch  500 loss 0.1919",
        "epoch 1000 loss 0.1146",
        "epoch 1500 loss 0.0813",
    ]
    _assert_retraces(client, sid, namespace)


@pytest.mark.parametrize("language", ["numpy", "pytorch"])
def test_moons_mlp_retraces_the_api_run(client: TestClient, language: str) -> None:
    if language == "pytorch":
        require_torch()
    sid = _session(client, {"preset": "moons-mlp"}, epochs=40)  # 280 steps of 32, adam
    out = client.get(f"/api/sessions/{sid}/code", params={"language": language}).json()
    assert out["epochs"] == 40 and out["exact"] is True
    namespace, _ = run_snippet(out["code"])
    _assert_retraces(client, sid, namespace)


def test_keras_compiles_and_fits(client: TestClient) -> None:
    sid = _session(client, {"preset": "moons-mlp"})
    r = client.get(f"/api/sessions/{sid}/code", params={"language": "keras", "epochs": 100})
    out = r.json()
    ast.parse(out["code"])
    assert "model.compile(" in out["code"]
    assert "model.fit(X, y, epochs=100, batch_size=32" in out["code"]
    assert out["exact"] is False and any("1e-7" in n for n in out["notes"])


def test_a_live_change_is_named_and_not_exact(client: TestClient) -> None:
    sid = _session(client, {"preset": "pass-fail"}, epochs=3)
    assert client.patch(f"/api/sessions/{sid}", json={"lr": 0.5}).status_code == 200
    out = client.get(f"/api/sessions/{sid}/code", params={"epochs": 10}).json()
    assert out["exact"] is False and out["epochs"] == 10
    assert out["omits"] == [
        '1 live change from the event log (at step 3: {"lr": 0.5}): the code runs the config '
        "as created."
    ]
    assert "# Left out" in out["code"].split("import numpy")[0]


def test_a_schedule_is_named_and_not_exact(client: TestClient) -> None:
    sid = _session(client, {"preset": "moons-mlp", "schedule": {"name": "cosine", "T_max": 50}})
    out = client.get(f"/api/sessions/{sid}/code", params={"language": "pytorch"}).json()
    assert out["exact"] is False
    assert out["omits"][0].startswith("The learning-rate schedule (cosine, T_max 50")


def test_openapi_documents_the_answer(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/api/sessions/{session_id}/code"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/CodeResult"}
    result = doc["components"]["schemas"]["CodeResult"]
    assert set(result["properties"]) == FIELDS and set(result["required"]) == FIELDS
    language = next(p for p in op["parameters"] if p["name"] == "language")
    assert language["schema"]["enum"] == ["numpy", "pytorch", "keras"]
    epochs = next(p for p in op["parameters"] if p["name"] == "epochs")
    bounds = next(s for s in epochs["schema"]["anyOf"] if s.get("type") == "integer")
    assert (bounds["minimum"], bounds["maximum"]) == (1, 100_000)
