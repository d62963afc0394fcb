"""An app on an in-memory database, and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from gradscape.api.app import create_app
from gradscape.api.settings import Settings


def make_client(**overrides: object) -> TestClient:
    """A TestClient (use as a context manager) for an app with these settings.

    TestClient's requests carry ``Host: testserver``, so that host is allowed here."""
    settings = {"db": ":memory:", "allowed_hosts": ("testserver",), **overrides}
    return TestClient(create_app(Settings(**settings)))  # type: ignore[arg-type]


@pytest.fixture
def client() -> Iterator[TestClient]:
    with make_client() as c:
        yield c


@pytest.fixture
def line_id(client: TestClient) -> str:
    r = client.post("/api/sessions", json={"preset": "line"})
    assert r.status_code == 201
    return str(r.json()["id"])
