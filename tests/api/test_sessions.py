"""REST sessions: exact status codes and fields, every error path, finite-or-null floats."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from gradscape.core.session import TrainingSession
from tests.api.conftest import make_client


def _finite_or_null(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite_or_null(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite_or_null(v) for v in value)
    return True


def test_health_and_catalog(client: TestClient) -> None:
    assert client.get("/api/health").json()["status"] == "ok"
    cat = client.get("/api/catalog").json()
    assert set(cat["presets"]) >= {"pass-fail", "line", "overshoot", "vanishing", "moons-mlp"}
    assert cat["optimizers"]["adam"]["betas"]["default"] == [0.9, 0.999]
    assert cat["optimizers"]["sgd"]["lr"]["default"] == 0.001
    assert "moons" in cat["datasets"] and "rosenbrock" in cat["functions"]
    assert cat["limits"]["max_steps_per_call"] >= 10_000
    assert set(cat["surface_modes"]) == {"axes", "pca", "random", "hessian"}
    assert "db" not in cat["limits"]


def test_create_defaults_to_the_chapter(client: TestClient) -> None:
    r = client.post("/api/sessions")
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "paused" and body["step"] == 0
    assert body["loss"] == pytest.approx(0.6330, abs=5e-5)
    assert body["params"] == [0.4967141530112327, -0.13826430117118466, 0.0]
    assert len(body["id"]) >= 22
    assert body["param_names"] == ["w_study", "w_sleep", "bias"]
    assert body["layers"] == ["layer1"]


def test_step_returns_records_as_columns(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={"preset": "pass-fail"}).json()["id"]
    r = client.post(f"/api/sessions/{sid}/step", json={"steps": 2000})
    assert r.status_code == 200
    body = r.json()
    assert body["step"] == 2000 and body["status"] == "paused"
    rec = body["records"]
    assert rec["step"][0] == 1 and rec["step"][-1] == 2000
    assert f"{rec['loss'][499]:.4f}" == "0.1919"
    ref = TrainingSession({"preset": "pass-fail"})
    ref.step(2000)
    got = client.get(f"/api/sessions/{sid}").json()["params"]
    assert got == ref.params.tolist()  # bit-identical through JSON


def test_step_by_epochs_and_field_selection(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
    r = client.post(
        f"/api/sessions/{sid}/step", json={"epochs": 2, "fields": ["step", "params", "grad"]}
    )
    rec = r.json()["records"]
    assert r.json()["step"] == 2 * math.ceil(200 / 32)
    assert set(rec) == {"step", "params", "grad"}
    assert len(rec["params"][0]) == client.get(f"/api/sessions/{sid}").json()["n_params"]


def test_live_patch_changes_the_next_step_only(client: TestClient, line_id: str) -> None:
    client.post(f"/api/sessions/{line_id}/step", json={"steps": 5})
    r = client.patch(f"/api/sessions/{line_id}", json={"lr": 0.02, "batch_size": 10})
    assert r.status_code == 200
    assert r.json()["settings"]["lr"] == 0.02 and r.json()["settings"]["batch_size"] == 10
    assert r.json()["step"] == 5
    rec = client.post(f"/api/sessions/{line_id}/step", json={"steps": 1}).json()["records"]
    assert rec["lr"] == [0.02] and rec["batch_size"] == [10]
    r = client.patch(f"/api/sessions/{line_id}", json={"batch_size": None})
    assert r.json()["settings"]["batch_size"] is None
    r = client.patch(
        f"/api/sessions/{line_id}", json={"optimizer": {"name": "adam", "betas": [0.8, 0.99]}}
    )
    assert r.json()["settings"]["optimizer"]["name"] == "adam"
    assert r.json()["settings"]["optimizer"]["betas"] == [0.8, 0.99]
    assert r.json()["settings"]["lr"] == 0.02


def test_reset_and_rewind(client: TestClient, line_id: str) -> None:
    client.post(f"/api/sessions/{line_id}/step", json={"steps": 30})
    mid = client.get(
        f"/api/sessions/{line_id}/trajectory", params={"start": 12, "stop": 13, "fields": "params"}
    )
    r = client.post(f"/api/sessions/{line_id}/rewind", json={"step": 12})
    assert r.status_code == 200 and r.json()["step"] == 12
    assert r.json()["params"] == mid.json()["columns"]["params"][0]
    assert client.post(f"/api/sessions/{line_id}/rewind", json={"step": 99}).status_code == 422
    r = client.post(f"/api/sessions/{line_id}/reset")
    assert r.json()["step"] == 0 and r.json()["params"] == [-1.5, -1.0]


def test_trajectory_slices_and_fields(client: TestClient, line_id: str) -> None:
    client.post(f"/api/sessions/{line_id}/step", json={"steps": 20})
    r = client.get(
        f"/api/sessions/{line_id}/trajectory", params={"start": 2, "stop": -2, "every": 5}
    )
    cols = r.json()["columns"]
    assert cols["step"] == list(range(21))[2:-2:5]
    assert all(v is not None for v in cols["loss"])
    r = client.get(f"/api/sessions/{line_id}/trajectory", params={"fields": "step,bogus"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "fields"]


def test_divergence_is_a_200_with_status_and_no_nan(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={"preset": "line", "optimizer": {"lr": 1e6}}).json()[
        "id"
    ]
    r = client.post(
        f"/api/sessions/{sid}/step",
        json={"steps": 200, "fields": ["step", "loss", "params", "grad"]},
    )
    assert r.status_code == 200
    assert r.json()["status"] == "diverged" and "non-finite" in r.json()["reason"]
    assert "NaN" not in r.text and "Infinity" not in r.text
    assert _finite_or_null(r.json())
    assert client.post(f"/api/sessions/{sid}/step", json={"steps": 1}).status_code == 409
    assert client.get(f"/api/sessions/{sid}").json()["status"] == "diverged"
    assert client.post(f"/api/sessions/{sid}/rewind", json={"step": 2}).json()["status"] == "paused"


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        ({"preset": "nope"}, ["body", "preset"]),
        ({"optimizer": {"lr": -1}}, ["body", "optimizer", "lr"]),
        ({"optimizer": {"lr": 0}}, ["body", "optimizer", "lr"]),
        ({"optimizer": {"name": "lbfgs"}}, ["body", "optimizer", "name"]),
        ({"batch_size": 0}, ["body", "batch_size"]),
        ({"batch_size": 5}, ["body", "batch_size"]),
        ({"init_params": [1, 2]}, ["body", "init_params"]),
        ({"loss": "hinge"}, ["body", "loss"]),
        ({"colour": "red"}, ["body", "colour"]),
        ({"model": {"hidden": [4], "activation": "swish"}}, ["body", "model", "activation"]),
        ({"data": {"csv": "a,b\n1,x\n", "target": "b"}, "loss": "mse"}, ["body", "data"]),
    ],
)
def test_bad_configs_are_422_naming_the_field(
    client: TestClient, body: dict, loc: list[str]
) -> None:
    r = client.post("/api/sessions", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][: len(loc)] == loc


@pytest.mark.parametrize(
    "raw", ['{"lr": NaN}', '{"lr": Infinity}', '{"lr": -1e400}', '{"batch_size": 1.5}']
)
def test_non_finite_and_malformed_numbers_are_422(
    client: TestClient, line_id: str, raw: str
) -> None:
    before = client.get(f"/api/sessions/{line_id}").json()
    r = client.patch(
        f"/api/sessions/{line_id}", content=raw, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert "NaN" not in r.text
    assert client.get(f"/api/sessions/{line_id}").json()["settings"] == before["settings"]


def test_unknown_session_is_404(client: TestClient) -> None:
    assert client.get("/api/sessions/doesnotexist").status_code == 404
    assert client.post("/api/sessions/doesnotexist/step", json={}).status_code == 404
    assert client.delete("/api/sessions/doesnotexist").status_code == 404


def test_delete(client: TestClient, line_id: str) -> None:
    assert client.delete(f"/api/sessions/{line_id}").status_code == 204
    assert client.get(f"/api/sessions/{line_id}").status_code == 404


def test_limits_413_and_429() -> None:
    with make_client(max_sessions=2, max_response_floats=5000, max_body_bytes=2048) as c:
        sid = c.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
        c.post("/api/sessions", json={})
        r = c.post("/api/sessions", json={})
        assert r.status_code == 429
        r = c.post(f"/api/sessions/{sid}/step", json={"steps": 100, "fields": ["params"]})
        assert r.status_code == 413 and "max_response_floats" in r.json()["detail"]
        assert c.get(f"/api/sessions/{sid}").json()["step"] == 0  # nothing ran
        r = c.post("/api/datasets/csv", json={"csv": "a,b\n" + "1,2\n" * 2000})
        assert r.status_code == 413
        r = c.post(f"/api/sessions/{sid}/step", json={"steps": 200_000})
        assert r.status_code == 422


def test_export_and_import_are_bit_identical(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
    client.post(f"/api/sessions/{sid}/step", json={"steps": 40})
    client.patch(f"/api/sessions/{sid}", json={"lr": 0.05, "optimizer": {"name": "rmsprop"}})
    client.post(f"/api/sessions/{sid}/step", json={"steps": 25})
    export = client.get(f"/api/sessions/{sid}/export").json()
    assert export["format_version"] == 1 and export["step"] == 65 and len(export["events"]) == 1
    r = client.post("/api/sessions/import", json=export)
    assert r.status_code == 201
    assert r.json()["params"] == client.get(f"/api/sessions/{sid}").json()["params"]
    assert r.json()["id"] != sid
    csv_text = client.get(f"/api/sessions/{sid}/export", params={"format": "csv"}).text
    assert csv_text.splitlines()[0].startswith("step,epoch,loss")
    assert len(csv_text.splitlines()) == 67


def test_csv_upload_then_session(client: TestClient) -> None:
    csv = "hours,sleep,passed\n5,7,1\n3,4,0\n8,6,1\n2,3,0\n"
    r = client.post("/api/datasets/csv", json={"csv": csv, "target": "passed"})
    assert r.status_code == 200
    assert r.json()["task"] == "binary" and r.json()["suggested_loss"] == "bce"
    sid = client.post(
        "/api/sessions", json={"data": r.json()["data"], "init_params": [0.1, 0.2, 0.0]}
    ).json()
    assert sid["n_samples"] == 4
    bad = client.post("/api/datasets/csv", json={"csv": "a,b\n1,2\n3\n"})
    assert bad.status_code == 422 and "line 3" in bad.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("csv", "msg"),
    [
        (
            ",".join(f"column{j}" for j in range(100_000)) + "\n1,0\n",
            "data.csv line 1: 99999 feature columns; the limit is max_features=64",
        ),
        ("a,y\n1,0\n" + "9" * 1_000_000 + ",0\n", "data.csv line 3: a cell is longer than"),
    ],
    ids=["wide-header", "huge-cell"],
)
def test_csv_upload_refuses_a_wide_header_or_a_huge_cell(
    client: TestClient, csv: str, msg: str
) -> None:
    r = client.post("/api/datasets/csv", json={"csv": csv})
    assert r.status_code == 422
    (detail,) = r.json()["detail"]
    assert detail["msg"].startswith(msg)


def test_data_view(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
    d = client.get(f"/api/sessions/{sid}/data", params={"resolution": 20}).json()
    assert d["kind"] == "boundary" and len(d["prediction"]) == 20 and len(d["X"]) == 200
    line = client.post("/api/sessions", json={"preset": "line"}).json()["id"]
    assert client.get(f"/api/sessions/{line}/data").json()["kind"] == "curve"


def test_data_view_at_an_earlier_step_is_that_steps_model(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
    client.post(f"/api/sessions/{sid}/step", json={"steps": 250})
    then = client.get(f"/api/sessions/{sid}/data", params={"resolution": 12, "step": 40}).json()
    now = client.get(f"/api/sessions/{sid}/data", params={"resolution": 12}).json()
    again = client.post("/api/sessions", json={"preset": "moons-mlp"}).json()["id"]
    client.post(f"/api/sessions/{again}/step", json={"steps": 40})
    want = client.get(f"/api/sessions/{again}/data", params={"resolution": 12}).json()
    assert then["prediction"] == want["prediction"] != now["prediction"]
    for bad in (251, -1, "x", 1.5):
        r = client.get(f"/api/sessions/{sid}/data", params={"step": bad})
        assert r.status_code == 422, bad
    assert client.get(f"/api/sessions/{sid}").json()["step"] == 250  # nothing changed


def test_docs_work_offline(client: TestClient) -> None:
    html = client.get("/docs").text
    assert "/static/swagger/swagger-ui-bundle.js" in html and "cdn" not in html.lower()
    bundle = client.get("/static/swagger/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert 'PACKAGE_VERSION:"5.' in bundle.text  # 4.x cannot read OpenAPI 3.1
    assert client.get("/openapi.json").json()["info"]["title"] == "gradscape"
    assert client.get("/vendor/plotly.min.js").status_code == 200


def test_every_float_is_finite_or_null_after_a_wild_run(client: TestClient) -> None:
    sid = client.post("/api/sessions", json={"preset": "exploding"}).json()["id"]
    r = client.post(
        f"/api/sessions/{sid}/step",
        json={"steps": 50, "fields": ["step", "loss", "layer_grad_norms"]},
    )
    assert r.json()["status"] == "diverged"
    for url in (
        f"/api/sessions/{sid}",
        f"/api/sessions/{sid}/trajectory",
        f"/api/sessions/{sid}/export",
    ):
        resp = client.get(url)
        assert resp.status_code == 200
        assert _finite_or_null(json.loads(resp.text))
    assert np.isfinite(client.get(f"/api/sessions/{sid}").json()["params"]).all()


def test_idle_sessions_expire() -> None:
    with make_client(idle_expiry_seconds=0.05) as c:
        sid = c.post("/api/sessions", json={}).json()["id"]
        store = c.app.state.registry  # type: ignore[attr-defined]
        time.sleep(0.1)
        gone = c.portal.call(store.expire_idle)  # type: ignore[union-attr]
        assert gone == [sid]
        assert c.get(f"/api/sessions/{sid}").status_code == 404


def test_loading_uses_the_snapshot_and_replays_only_what_came_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gradscape.api.persist import Stored
    from gradscape.api.registry import Registry
    from gradscape.api.settings import Settings

    live = TrainingSession({"preset": "moons-mlp"})
    live.step(300)
    snap = live.snapshot()
    live.set(lr=0.05)
    live.step(20)
    stored = Stored(
        "x", live.config, live.events, live.step_count, live.status, 0.0, 0.0, snap, 300
    )

    def no_replay(*args: object, **kwargs: object) -> None:
        raise AssertionError("replayed the whole run")

    monkeypatch.setattr(TrainingSession, "replay", no_replay)
    store = Registry(Settings(db=":memory:"))
    back = store._from_stored(stored)
    assert back.step_count == 320 and np.array_equal(back.params, live.params)


def test_mse_with_a_sigmoid_output_over_http(client: TestClient) -> None:
    cat = client.get("/api/catalog").json()
    assert cat["losses"]["mse"]["output_options"] == ["identity", "sigmoid"]
    assert cat["losses"]["bce"]["output_options"] == [] and cat["losses"]["bce"]["output"] == (
        "sigmoid"
    )
    assert set(cat["outputs"]) == {"identity", "sigmoid"}
    assert cat["outputs"]["sigmoid"]["losses"] == ["mse"]
    config = {"preset": "pass-fail", "loss": "mse", "model": {"output": "sigmoid"}}
    r = client.post("/api/sessions", json=config)
    assert r.status_code == 201 and r.json()["config"]["model"]["output"] == "sigmoid"
    sid = r.json()["id"]
    client.post(f"/api/sessions/{sid}/step", json={"steps": 30})
    client.patch(f"/api/sessions/{sid}", json={"lr": 0.3})
    client.post(f"/api/sessions/{sid}/step", json={"steps": 30})
    export = client.get(f"/api/sessions/{sid}/export").json()
    assert export["config"]["model"]["output"] == "sigmoid"
    again = client.post("/api/sessions/import", json=export)
    assert again.status_code == 201
    assert again.json()["params"] == client.get(f"/api/sessions/{sid}").json()["params"]
    assert again.json()["config"] == export["config"]
    for bad, where in (
        ({"preset": "pass-fail", "model": {"output": "sigmoid"}}, "only loss 'mse'"),
        ({"preset": "line", "model": {"output": "sigmoid"}}, "targets in [0, 1]"),
        ({"preset": "pass-fail", "loss": "mse", "model": {"output": "softmax"}}, "'sigmoid'"),
    ):
        r = client.post("/api/sessions", json=bad)
        assert r.status_code == 422
        detail = r.json()["detail"][0]
        assert detail["loc"] == ["body", "model", "output"] and where in detail["msg"]


def test_the_catalog_publishes_optimizer_rules_and_the_lesson(client: TestClient) -> None:
    cat = client.get("/api/catalog").json()
    assert set(cat["optimizer_docs"]) == set(cat["optimizers"])
    assert all(d["rule"] and d["when"] for d in cat["optimizer_docs"].values())
    assert [s["number"] for s in cat["lesson"]] == list(range(1, len(cat["lesson"]) + 1))
    assert "logistic regression" in cat["presets"]["pass-fail"]["description"]
