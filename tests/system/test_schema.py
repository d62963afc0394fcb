"""schemathesis against the app's own OpenAPI schema, with all its checks, on a real server.

Bounded: a few examples per operation so the suite stays fast. Operations on one
session get a real session id (so steps, changes and rewinds are exercised, not just
404s). A schema-valid request may still be refused for a cross-field reason the
schema cannot express (a batch size larger than the dataset, nesterov without
momentum, stepping a diverged run): those statuses are declared as expected.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.parameters import ParameterLocation

from gradscape.api.app import create_app
from gradscape.api.settings import Settings
from tests.system.server import Server

CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "404", "409", "413", "422", "429"]
            },
            # schemathesis' own list, and 413: invalid data in a body over max_body_bytes
            # is refused for its size before it is read
            "negative_data_rejection": {
                "expected-statuses": [
                    *("400", "401", "403", "404", "405", "406", "409", "413", "415"),
                    *("422", "428", "429", "5xx"),
                ]
            },
        },
    }
)
# The server's own settings, so the schema publishes exactly the bounds it enforces
# (a small step budget keeps boundary values such as an import of max steps quick).
LIMITS = {"max_steps_per_call": 2000, "max_trajectory_steps": 20_000, "max_sessions": 100_000}
schema = schemathesis.openapi.from_dict(
    create_app(Settings(db=":memory:", **LIMITS)).openapi(),  # type: ignore[arg-type]
    config=CONFIG,
)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    env = {f"GRADSCAPE_{k.upper()}": str(v) for k, v in LIMITS.items()}
    env["GRADSCAPE_MAX_SESSIONS_PER_CLIENT"] = "0"  # every case creates a session
    srv = Server(":memory:", env=env).start()
    yield srv
    srv.stop()


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case, server: Server) -> None:
    negative_path = case.meta is not None and case.meta.is_negative_at(ParameterLocation.PATH)
    if "session_id" in (case.path_parameters or {}) and not negative_path:
        created = httpx.post(server.url + "/api/sessions", json={"preset": "moons-mlp"}, timeout=30)
        assert created.status_code == 201, created.text
        case.path_parameters["session_id"] = created.json()["id"]
    case.call_and_validate(base_url=server.url, timeout=60)
