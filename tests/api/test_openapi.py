"""OpenAPI shows the shape of every JSON answer (a client can generate types from it)."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_every_json_operation_documents_its_answer(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    missing = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            ok = next((op["responses"][c] for c in ("200", "201") if c in op["responses"]), None)
            if ok is None:  # 204: no body
                continue
            schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
            if not schema or schema == {"type": "object"} or "additionalProperties" in schema:
                missing.append(f"{method.upper()} {path}")
    assert missing == []
