"""A registry memory budget: idle runs wait in the database and come back exactly."""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import make_client

CONFIG = {"preset": "moons-mlp"}


def _one_run_bytes(tmp_path: Path) -> int:
    with make_client(db=str(tmp_path / "probe.db")) as c:
        sid = c.post("/api/sessions", json=CONFIG).json()["id"]
        c.post(f"/api/sessions/{sid}/step", json={"steps": 300})
        return int(c.app.state.registry.memory())  # type: ignore[attr-defined]


def test_idle_runs_move_to_the_database_and_come_back_bit_for_bit(tmp_path: Path) -> None:
    per_run = _one_run_bytes(tmp_path)
    budget = int(2.5 * per_run)
    with make_client(db=str(tmp_path / "s.db"), memory_bytes=budget) as c:
        registry = c.app.state.registry  # type: ignore[attr-defined]
        seen = {}
        for _ in range(6):
            sid = c.post("/api/sessions", json=CONFIG).json()["id"]
            c.post(f"/api/sessions/{sid}/step", json={"steps": 300})
            seen[sid] = c.get(f"/api/sessions/{sid}").json()
            assert registry.memory() <= budget + per_run  # at most the one just added over
        assert len(registry._entries) < 6  # some wait in the database
        for sid, before in seen.items():
            after = c.get(f"/api/sessions/{sid}").json()
            assert after["params"] == before["params"] and after["step"] == 300
            assert registry.memory() <= budget + per_run
        assert c.get("/api/catalog").json()["limits"]["memory_bytes"] == budget


def test_without_a_disk_creates_over_the_budget_are_503(tmp_path: Path) -> None:
    per_run = _one_run_bytes(tmp_path)
    with make_client(memory_bytes=int(1.5 * per_run)) as c:
        codes = []
        for _ in range(4):
            resp = c.post("/api/sessions", json=CONFIG)
            codes.append(resp.status_code)
            if resp.status_code == 201:
                c.post(f"/api/sessions/{resp.json()['id']}/step", json={"steps": 300})
        assert codes[0] == 201 and codes[-1] == 503
        assert "memory_bytes=" in resp.json()["detail"]
