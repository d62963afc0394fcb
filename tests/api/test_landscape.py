"""Surfaces, slices, curvature and backprop over HTTP, checked against the landscape itself."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from gradscape.core.session import TrainingSession
from gradscape.landscape import lambda_max
from tests.chapter_loop import chapter_loop


def _stepped(client: TestClient, config: dict, steps: int) -> str:
    sid = str(client.post("/api/sessions", json=config).json()["id"])
    client.post(f"/api/sessions/{sid}/step", json={"steps": steps})
    return sid


@pytest.mark.parametrize("mode", ["axes", "pca", "random", "hessian"])
@pytest.mark.parametrize("preset", ["pass-fail", "line", "rosenbrock", "moons-mlp"])
def test_every_mode_on_every_model_kind(client: TestClient, preset: str, mode: str) -> None:
    sid = _stepped(client, {"preset": preset}, 40)
    r = client.post(f"/api/sessions/{sid}/surface", json={"mode": mode, "resolution": 9})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["mode"] == mode and len(s["x"]) == 9 and len(s["z"]) == 9 and len(s["z"][0]) == 9
    assert len(s["path"]["step"]) == 41 and s["path"]["step"][-1] == 40
    assert s["current"]["step"] == 40 and len(s["current"]["descent"]) == 2
    assert len(s["labels"]) == 2


def test_two_parameter_axes_surface_is_exact_and_the_path_lies_on_it(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "line"}, 30)
    s = client.post(
        f"/api/sessions/{sid}/surface", json={"precision": "float64", "resolution": 5}
    ).json()
    assert s["mode"] == "axes"
    path = s["path"]
    np.testing.assert_allclose(path["surface_height"], path["loss"], rtol=1e-12)
    assert max(path["off_plane_distance"]) == 0.0
    ref = TrainingSession({"preset": "line"})
    ds = ref.dataset
    assert ds is not None
    for row in (0, 3):
        for col in (1, 4):
            theta = np.array([s["x"][col], s["y"][row]])
            assert s["z"][row][col] == pytest.approx(ref.model.loss(theta, ds.X, ds.y), rel=1e-12)


def test_default_plane_follows_the_model(client: TestClient) -> None:
    assert (
        client.post(
            f"/api/sessions/{_stepped(client, {'preset': 'line'}, 5)}/surface", json={}
        ).json()["mode"]
        == "axes"
    )
    assert (
        client.post(
            f"/api/sessions/{_stepped(client, {'preset': 'moons-mlp'}, 5)}/surface", json={}
        ).json()["mode"]
        == "pca"
    )
    assert (
        client.post(
            f"/api/sessions/{_stepped(client, {'preset': 'moons-mlp'}, 1)}/surface", json={}
        ).json()["mode"]
        == "random"
    )


def test_plane_is_reusable_and_streamed_coordinates_use_it(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "moons-mlp"}, 20)
    first = client.post(
        f"/api/sessions/{sid}/surface", json={"mode": "pca", "resolution": 5}
    ).json()
    again = client.post(
        f"/api/sessions/{sid}/surface", json={"plane": first["plane"], "resolution": 5}
    ).json()
    assert again["z"] == first["z"]
    with client.websocket_connect(f"/api/sessions/{sid}/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "step", "steps": 10})
        msg = ws.receive_json()
        while msg["type"] != "steps":
            msg = ws.receive_json()
        assert msg["eval"]["plane"]["step"][-1] == 30 and len(msg["eval"]["plane"]["xy"][-1]) == 2


def test_overlay_shares_the_plane_and_checks_the_shape(client: TestClient) -> None:
    a = _stepped(client, {"preset": "rosenbrock"}, 50)
    b = _stepped(client, {"preset": "rosenbrock", "optimizer": {"name": "adam", "lr": 0.05}}, 50)
    s = client.post(f"/api/sessions/{a}/surface", json={"overlay": [b], "resolution": 5}).json()
    assert s["overlays"][0]["id"] == b and len(s["overlays"][0]["path"]["a"]) == 51
    assert s["overlays"][0]["path"]["a"][0] == s["path"]["a"][0]  # same start
    other = _stepped(client, {"preset": "line"}, 3)
    r = client.post(f"/api/sessions/{a}/surface", json={"overlay": [other]})
    assert r.status_code == 422 and "overlay" in r.text
    assert client.post(f"/api/sessions/{a}/surface", json={"overlay": ["nope"]}).status_code == 404


def test_axes_are_picked_by_the_names_the_session_gives(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "pass-fail"}, 5)
    names = client.get(f"/api/sessions/{sid}").json()["param_names"]
    assert names == ["w_study", "w_sleep", "bias"]
    body = {"mode": "axes", "params": ["bias", "w_study"], "resolution": 5}
    s = client.post(f"/api/sessions/{sid}/surface", json=body).json()
    assert s["labels"] == ["bias", "w_study"]


def test_overlay_needs_the_same_shape_not_the_same_feature_names(client: TestClient) -> None:
    chapter = _stepped(client, {"preset": "pass-fail"}, 5)  # w_study, w_sleep, bias
    xor = _stepped(client, {"data": {"name": "xor"}, "loss": "bce"}, 5)  # w_x1, w_x2, bias
    r = client.post(f"/api/sessions/{chapter}/surface", json={"overlay": [xor], "resolution": 5})
    assert r.status_code == 200 and r.json()["overlays"][0]["id"] == xor
    deeper = _stepped(client, {"data": {"name": "xor"}, "model": {"hidden": [2]}}, 5)
    r = client.post(f"/api/sessions/{chapter}/surface", json={"overlay": [deeper]})
    assert r.status_code == 422 and "same model shape" in r.text


def test_surface_limits_and_bad_input(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "line"}, 3)
    assert client.post(f"/api/sessions/{sid}/surface", json={"resolution": 1}).status_code == 422
    assert client.post(f"/api/sessions/{sid}/surface", json={"resolution": 202}).status_code == 422
    assert client.post(f"/api/sessions/{sid}/surface", json={"mode": "tsne"}).status_code == 422
    assert (
        client.post(f"/api/sessions/{sid}/surface", json={"params": ["nope", 0]}).status_code == 422
    )
    assert client.post(f"/api/sessions/{sid}/surface", json={"center": 99}).status_code == 422
    bad = client.post(
        f"/api/sessions/{sid}/surface",
        content='{"extent": [[0, NaN], [0, 1]]}',
        headers={"content-type": "application/json"},
    )
    assert bad.status_code == 422


def test_diverged_surface_is_null_not_nan(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "line", "optimizer": {"lr": 1e6}}, 100)
    r = client.post(
        f"/api/sessions/{sid}/surface",
        json={"resolution": 7, "extent": [[-1e200, 1e200], [-1e200, 1e200]]},
    )
    assert r.status_code == 200 and "NaN" not in r.text and "Infinity" not in r.text
    assert any(v is None for row in r.json()["z"] for v in row)


def test_curvature_matches_the_landscape_and_shows_the_edge(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "overshoot"}, 3)
    c = client.get(f"/api/sessions/{sid}/curvature").json()
    ref = TrainingSession({"preset": "overshoot"})
    ds = ref.dataset
    assert ds is not None
    lam = lambda_max(ref.model, ds.X, ds.y, ref.params)  # MSE on a line: constant Hessian
    assert c["lambda_max"] == pytest.approx(lam, rel=1e-6)
    assert c["lr_times_lambda"] > 2 and c["stable"] is False
    assert c["edge"] == pytest.approx(2 / lam, rel=1e-6)
    series = client.get(f"/api/sessions/{sid}/curvature", params={"series_every": 1}).json()[
        "series"
    ]
    assert series["step"] == [0, 1, 2, 3] and len(series["lambda_max"]) == 4


def test_slice_interpolates_init_to_now(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "line"}, 50)
    s = client.get(
        f"/api/sessions/{sid}/slice", params={"points": 5, "alpha_min": 0, "alpha_max": 1}
    ).json()
    traj = client.get(f"/api/sessions/{sid}/trajectory", params={"fields": "loss"}).json()[
        "columns"
    ]["loss"]
    assert s["alpha"] == [0, 0.25, 0.5, 0.75, 1]
    assert s["loss"][0] == pytest.approx(traj[0], rel=1e-12) and s["loss"][-1] == pytest.approx(
        traj[-1], rel=1e-12
    )


def test_backprop_view(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "vanishing"}, 5)
    b = client.get(f"/api/sessions/{sid}/backprop", params={"step": 5, "samples": 4}).json()
    assert b["step"] == 5 and b["n"] == 32 and len(b["layers"]) == 7
    assert len(b["layers"][0]["delta"]) == 4
    info = client.get(f"/api/sessions/{sid}").json()
    assert (
        [layer["name"] for layer in b["layers"]]
        == info["layers"]
        == [f"layer{i}" for i in range(1, 8)]
    )
    deltas = [layer["mean_abs_delta"] for layer in b["layers"]]
    assert deltas[0] < deltas[-2] / 10  # the signal fades toward the input
    rosen = _stepped(client, {"preset": "rosenbrock"}, 2)
    assert client.get(f"/api/sessions/{rosen}/backprop").status_code == 422


def test_backprop_error_is_the_chapters_and_its_rows_add_up(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "pass-fail"}, 1)
    b = client.get(f"/api/sessions/{sid}/backprop", params={"step": 1}).json()
    loop = chapter_loop(1)[0]
    assert b["pairing"] == {
        "output": "sigmoid",
        "loss": "bce",
        "rule": "dL/dz = pred - y",
        "why": b["pairing"]["why"],
        "scale": 0.25,
    }
    np.testing.assert_allclose(np.array(b["residual"])[:, 0], loop.error, rtol=1e-12)
    np.testing.assert_allclose(np.array(b["error"])[:, 0] / 0.25, loop.error, rtol=1e-12)
    out = b["layers"][-1]
    assert out["delta"] == b["error"] and len(out["passed_down"]) == 4
    np.testing.assert_allclose(out["grad_w"], [[g] for g in loop.grad[:2]], rtol=1e-12)
    assert out["grad_b"][0] == pytest.approx(loop.grad[2], rel=1e-12)
    mse = _stepped(
        client, {"preset": "pass-fail", "loss": "mse", "model": {"output": "sigmoid"}}, 1
    )
    pairing = client.get(f"/api/sessions/{mse}/backprop").json()["pairing"]
    assert pairing["rule"] == "dL/dz = 2 (pred - y) pred (1 - pred)"
    assert "vanishes" in pairing["why"]


def test_backprop_rows_of_the_whole_batch_reproduce_the_gradient(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "moons-mlp"}, 9)
    b = client.get(f"/api/sessions/{sid}/backprop", params={"step": 9, "samples": 32}).json()
    assert b["n"] == 32 and len(b["error"]) == 32
    grads = client.get(
        f"/api/sessions/{sid}/trajectory", params={"fields": "grad", "start": 9, "stop": 10}
    ).json()["columns"]["grad"][0]
    flat = []
    for layer in b["layers"]:
        inputs, delta = np.array(layer["inputs"]), np.array(layer["delta"])
        per_sample = np.einsum("ni,nj->nij", inputs, delta)  # each sample's share of dL/dW
        np.testing.assert_allclose(per_sample.sum(axis=0), layer["grad_w"], rtol=1e-10)
        np.testing.assert_allclose(delta.sum(axis=0), layer["grad_b"], rtol=1e-10, atol=1e-17)
        np.testing.assert_allclose(layer["delta_mean"], delta.mean(axis=0), rtol=1e-12)
        assert np.array(layer["passed_down"]).shape == inputs.shape
        flat += [*np.ravel(layer["grad_w"]), *layer["grad_b"]]
    np.testing.assert_allclose(flat, grads, rtol=1e-10, atol=1e-17)
    for upper, lower in zip(b["layers"][1:], b["layers"][:-1], strict=True):
        assert upper["passed_down"] == lower["dloss_da"]


def test_last_update_arrows_and_overlay_frames(client: TestClient) -> None:
    sid = _stepped(client, {"preset": "rosenbrock", "optimizer": {"momentum": 0.9}}, 30)
    plain = _stepped(client, {"preset": "rosenbrock", "optimizer": {"momentum": 0.0}}, 30)
    s = client.post(
        f"/api/sessions/{sid}/surface", json={"resolution": 5, "overlay": [plain]}
    ).json()
    up = s["last_update"]
    assert up["step"] == 30
    assert up["from"] == [s["path"]["a"][-2], s["path"]["b"][-2]]
    assert np.linalg.norm(np.subtract(up["descent"], up["taken"])) > 1e-6  # momentum bends it
    # The overlaid run has drawn no surface of its own: its frames use the main run's plane.
    with client.websocket_connect(f"/api/sessions/{plain}/stream") as ws:
        ws.receive_json()
        ws.send_json({"type": "step", "steps": 3})
        msg = ws.receive_json()
        while msg["type"] != "steps":
            msg = ws.receive_json()
        assert msg["eval"]["plane"]["last_update"]["step"] == 33
    flat = client.post(f"/api/sessions/{plain}/surface", json={"resolution": 5}).json()[
        "last_update"
    ]
    np.testing.assert_allclose(flat["descent"], flat["taken"], rtol=1e-9)  # plain SGD: same arrow


def test_default_plane_of_an_all_zero_start_is_axes(client: TestClient) -> None:
    sid = client.post(
        "/api/sessions", json={"preset": "moons-mlp", "model": {"init": "zeros"}}
    ).json()["id"]
    r = client.post(f"/api/sessions/{sid}/surface", json={"resolution": 5})
    assert r.status_code == 200 and r.json()["mode"] == "axes"
