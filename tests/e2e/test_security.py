"""Issue 13 in a real browser: the token link's cookie flow, and Export of a long run.

The token tests run their own ``gradscape serve`` with ``GRADSCAPE_TOKEN`` set; the
export test uses the shared server.
"""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.helpers import app, hash_for, open_app, wait_app
from tests.system.server import Server

TOKEN = "e2e-class-token-0123456789abcdef"


@pytest.fixture(scope="module")
def guarded() -> Iterator[str]:
    """A server that needs ``TOKEN`` (the per-client quota off: every test's page creates)."""
    env = {"GRADSCAPE_TOKEN": TOKEN, "GRADSCAPE_MAX_SESSIONS_PER_CLIENT": "0"}
    srv = Server(":memory:", env=env).start()
    try:
        yield srv.url
    finally:
        srv.stop()


def _post(base: str, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(
        f"{base}{path}", json.dumps(body).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


def test_the_token_link_sets_an_httponly_cookie_and_leaves_the_address_bar(
    page: Any, guarded: str
) -> None:
    open_app(page, guarded, "?token=" + TOKEN + hash_for({"preset": "line"}))
    assert "token" not in page.url and TOKEN not in page.url
    assert "config=" in page.url  # the run's settings stayed in the hash
    cookie = next(c for c in page.context.cookies() if c["name"] == "gradscape_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert TOKEN not in page.evaluate("() => document.cookie")
    sid = app(page, "app.main.id")
    page.click("button[name=step10]")
    wait_app(page, "app.main.step === 10")  # REST and the socket both carried the cookie
    info = json.loads(
        urllib.request.urlopen(
            urllib.request.Request(
                f"{guarded}/api/sessions/{sid}", headers={"authorization": f"Bearer {TOKEN}"}
            ),
            timeout=30,
        ).read()
    )
    assert info["step"] == 10 and info["config"]["preset"] == "line"
    page.reload()  # the cookie outlives the link
    wait_app(page, "app.main && app.main.id")
    page.click("button[name=tab-export]")
    with page.expect_download() as dl:
        page.click("a[name=export-json]")
    assert json.loads(Path(dl.value.path()).read_text())["format_version"] == 1


def test_without_the_token_the_page_says_what_it_needs(browser: Any, guarded: str) -> None:
    ctx = browser.new_context()
    try:
        pg = ctx.new_page()
        pg.goto(guarded + "/")
        pg.wait_for_function("() => !document.querySelector('#toast').hidden", timeout=30_000)
        assert "token" in pg.locator("#toast").inner_text()
        status = pg.evaluate("async () => (await fetch('/api/catalog')).status")
        assert status == 401
        wrong = pg.goto(guarded + "/?token=" + "x" * 32)
        assert wrong is not None and wrong.status == 401
        assert not [c for c in ctx.cookies() if c["name"] == "gradscape_token"]
    finally:
        ctx.close()


def test_export_of_a_ten_thousand_step_moons_run_downloads_valid_files(
    page: Any, server: str
) -> None:
    open_app(page, server, hash_for({"preset": "moons-mlp"}))
    sid = app(page, "app.main.id")
    step = 0
    for _ in range(10):  # a call stops at max_call_seconds; call again to go on
        left = {"steps": 10_000 - step, "evaluate": "none"}
        step = _post(server, f"/api/sessions/{sid}/step", left)["step"]
        if step == 10_000:
            break
    assert step == 10_000
    wait_app(page, "app.main.step === 10000", timeout=60_000)
    page.click("button[name=tab-export]")
    with page.expect_download(timeout=120_000) as dl:
        page.click("a[name=export-json]")
    data = json.loads(Path(dl.value.path()).read_text())
    every = data["every"]
    assert data["step"] == 10_000 and every >= 2 and "max_response_floats" in data["note"]
    steps = data["trajectory"]["step"]
    assert steps == list(range(0, 10_001, every))
    assert len(data["trajectory"]["params"]) == len(steps)
    assert len(data["trajectory"]["params"][0]) == len(data["param_names"])
    with page.expect_download(timeout=120_000) as dl:
        page.click("a[name=export-csv]")
    rows = list(csv.reader(io.StringIO(Path(dl.value.path()).read_text())))
    assert rows[0][:3] == ["step", "epoch", "loss"] and len(rows) == len(steps) + 1
    assert [int(r[0]) for r in rows[1:]] == steps
    rebuild = {k: v for k, v in data.items() if k != "trajectory"}  # over max_body_bytes
    again = _post(server, "/api/sessions/import", rebuild)  # still rebuilds every step
    assert again["step"] == 10_000 and again["params"] == info_params(server, sid)


def info_params(base: str, sid: str) -> Any:
    with urllib.request.urlopen(f"{base}/api/sessions/{sid}", timeout=30) as r:
        return json.load(r)["params"]
