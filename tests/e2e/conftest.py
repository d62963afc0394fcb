"""End-to-end fixtures: a real ``gradscape serve`` subprocess and one Chromium per session.

Without a browser the e2e tests skip with a message, unless ``GRADSCAPE_E2E=required``,
where they fail. ``GRADSCAPE_CHROMIUM`` points at another Chromium build.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.system.server import Server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
REQUIRED = os.environ.get("GRADSCAPE_E2E") == "required"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end tests in a real browser against a real gradscape server"
    )


def unavailable(reason: str) -> None:
    """Skip (or fail, when GRADSCAPE_E2E=required) every test that needs the browser."""
    if REQUIRED:
        pytest.fail(f"GRADSCAPE_E2E=required but {reason}", pytrace=False)
    pytest.skip(f"e2e skipped: {reason} (install chromium, or set GRADSCAPE_CHROMIUM)")


def find_chromium() -> str | None:
    """GRADSCAPE_CHROMIUM, else /usr/bin/chromium, else a chromium-like binary on PATH."""
    configured = os.environ.get("GRADSCAPE_CHROMIUM")
    if configured:
        return configured if os.path.exists(configured) else None
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def server() -> Iterator[str]:
    """The base URL of a real ``gradscape serve --db :memory:`` on a free loopback port."""
    external = os.environ.get("GRADSCAPE_E2E_URL")
    if external:  # a server you started yourself (debugging)
        yield external.rstrip("/")
        return
    # Every test's page creates sessions from 127.0.0.1: the per-client quota is off.
    srv = Server(":memory:", env={"GRADSCAPE_MAX_SESSIONS_PER_CLIENT": "0"}).start()
    try:
        yield srv.url
    finally:
        srv.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole session (software WebGL via SwiftShader)."""
    path = find_chromium()
    if path is None:
        unavailable("no Chromium found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        except Exception as exc:  # any launch failure means "no browser"
            unavailable(f"Chromium at {path} would not start: {exc}")
        yield b
        b.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh context per test: empty localStorage, so each test gets its own session."""
    ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any, server: str) -> Iterator[Any]:
    """A page that records console errors and uncaught exceptions; the test fails on any."""
    pg = context.new_page()
    errors: list[str] = []
    pg.on(
        "console",
        lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
    )
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    failed: list[str] = []  # which requests the logged "Failed to load resource" lines were

    def on_response(r: Any) -> None:
        if r.status >= 400:
            failed.append(f"{r.status} {r.request.method} {r.url}")

    pg.on("response", on_response)
    pg.errors = errors
    yield pg
    assert errors == [], "the page logged errors:\n" + "\n".join(errors + failed)
