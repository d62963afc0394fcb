"""A published limit is the enforced limit: OpenAPI, the catalog and the refusals agree.

The app runs with settings far from the defaults, so a bound copied into a schema
(instead of read from the settings) shows up as a disagreement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gradscape.api.schemas import SETTING_BOUNDS, SETTING_QUERY_BOUNDS
from tests.api.conftest import make_client

SETTINGS = {
    "max_samples": 30,
    "max_hidden_layers": 2,
    "max_width": 5,
    "max_params": 60,
    "max_steps_per_call": 40,
    "max_resolution": 21,
    "max_trajectory_steps": 200,
    "max_events": 3,
    "max_body_bytes": 50_000,
}
MOONS = {"name": "moons", "n_samples": 30}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with make_client(**SETTINGS) as c:
        yield c


def _branch(schema: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in schema.get("anyOf", [schema]) if b.get("type") != "null")


@pytest.mark.parametrize(("model", "path", "keyword", "setting"), SETTING_BOUNDS)
def test_openapi_publishes_the_setting(
    client: TestClient, model: str, path: str, keyword: str, setting: str
) -> None:
    doc = client.get("/openapi.json").json()
    name, _, items = path.partition(".")
    prop = _branch(doc["components"]["schemas"][model]["properties"][name])
    if items:
        prop = prop["items"]
    catalog = client.get("/api/catalog").json()["limits"]
    assert prop[keyword] == catalog[setting] == SETTINGS[setting]


@pytest.mark.parametrize(("route", "method", "param", "keyword", "setting"), SETTING_QUERY_BOUNDS)
def test_openapi_publishes_query_settings(
    client: TestClient, route: str, method: str, param: str, keyword: str, setting: str
) -> None:
    params = client.get("/openapi.json").json()["paths"][route][method]["parameters"]
    schema = next(p["schema"] for p in params if p["name"] == param)
    assert schema[keyword] == SETTINGS[setting]


def _sid(client: TestClient, config: dict[str, Any]) -> str:
    resp = client.post("/api/sessions", json=config)
    assert resp.status_code == 201, resp.text
    return str(resp.json()["id"])


def _export(client: TestClient, step: int, events: int) -> dict[str, Any]:
    sid = _sid(client, {"data": {"name": "line", "n_samples": 20}, "model": {}, "loss": "mse"})
    client.post(f"/api/sessions/{sid}/step", json={"steps": 5})
    data: dict[str, Any] = client.get(f"/api/sessions/{sid}/export").json()
    return data | {"step": step, "events": [[1, {"lr": 0.2}]] * events}


Probe = Callable[[TestClient, int], Any]
PROBES: dict[str, tuple[str, Probe]] = {
    "DataSpec.n_samples": (
        "n_samples",
        lambda c, v: c.post(
            "/api/sessions", json={"data": {"name": "moons", "n_samples": v}, "model": {}}
        ),
    ),
    "DataSpec.X": (
        "X",
        lambda c, v: c.post(
            "/api/sessions",
            json={"data": {"X": [[i] for i in range(v)], "y": [0.5] * v}, "loss": "mse"},
        ),
    ),
    "ModelSpec.hidden": (
        "hidden",
        lambda c, v: c.post("/api/sessions", json={"data": MOONS, "model": {"hidden": [2] * v}}),
    ),
    "ModelSpec.hidden.items": (
        "hidden",
        lambda c, v: c.post("/api/sessions", json={"data": MOONS, "model": {"hidden": [v]}}),
    ),
    "SessionConfig.batch_size": (
        "batch_size",
        lambda c, v: c.post("/api/sessions", json={"data": MOONS, "model": {}, "batch_size": v}),
    ),
    "LiveChange.batch_size": (
        "batch_size",
        lambda c, v: c.patch(
            f"/api/sessions/{_sid(c, {'data': MOONS, 'model': {}})}", json={"batch_size": v}
        ),
    ),
    "StepRequest.steps": (
        "steps",
        lambda c, v: c.post(f"/api/sessions/{_sid(c, {})}/step", json={"steps": v}),
    ),
    "SurfaceRequest.resolution": (
        "resolution",
        lambda c, v: c.post(f"/api/sessions/{_sid(c, {})}/surface", json={"resolution": v}),
    ),
    "ImportRequest.step": (
        "step",
        lambda c, v: c.post("/api/sessions/import", json=_export(c, v, 0)),
    ),
    "ImportRequest.events": (
        "events",
        lambda c, v: c.post("/api/sessions/import", json=_export(c, 10, v)),
    ),
    "query.resolution": (
        "resolution",
        lambda c, v: c.get(f"/api/sessions/{_sid(c, {})}/data", params={"resolution": v}),
    ),
}
LIMIT_OF = {f"{m}.{p}": s for m, p, _, s in SETTING_BOUNDS} | {"query.resolution": "max_resolution"}


@pytest.mark.parametrize("key", sorted(PROBES))
def test_the_published_bound_is_the_enforced_bound(client: TestClient, key: str) -> None:
    word, probe = PROBES[key]
    limit = SETTINGS[LIMIT_OF[key]]
    ok = probe(client, limit)
    assert ok.status_code in (200, 201), (key, ok.text)
    over = probe(client, limit + 1)
    assert over.status_code == 422, (key, over.text)
    assert word in over.text and str(limit) in over.text, (key, over.text)


def test_every_setting_bound_has_a_probe_or_a_reason() -> None:
    # The CSV text and init_params bounds are enforced by the body-size limit and by the
    # model's own parameter count (init_params must have exactly P numbers, P <= max_params).
    unprobed = {"DataSpec.y", "DataSpec.csv", "CsvUpload.csv", "SessionConfig.init_params"}
    assert set(LIMIT_OF) == set(PROBES) | unprobed
