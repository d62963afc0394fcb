"""The browser's view of /docs (every operation, offline) and of the page's compressed assets."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest

from tests.e2e.helpers import api_get, open_app

pytestmark = pytest.mark.e2e

METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
# Swagger UI has drawn operations, or given up with its error box.
DOCS_SETTLED = """() => document.querySelector('#swagger-ui .opblock')
  || document.querySelector('#swagger-ui .errors-wrapper')
  || /Unable to render/.test(document.body.innerText)"""
RENDERED = """() => [...document.querySelectorAll('#swagger-ui .opblock')].map((b) => [
  b.querySelector('.opblock-summary-method').textContent.trim().toLowerCase(),
  b.querySelector('.opblock-summary-path').getAttribute('data-path'),
])"""


def offline(context: Any) -> list[str]:
    """Abort every request that leaves loopback; returns the list of those aborted."""
    aborted: list[str] = []

    def route(r: Any) -> None:
        host = urllib.parse.urlsplit(r.request.url).hostname
        if host in ("127.0.0.1", "localhost", "::1"):
            r.continue_()
        else:
            aborted.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return aborted


def test_docs_render_every_operation_offline(context: Any, page: Any, server: str) -> None:
    aborted = offline(context)
    spec = api_get(server, "/openapi.json")
    expected = sorted([m, p] for p, ops in spec["paths"].items() for m in ops if m in METHODS)
    assert spec["openapi"].startswith("3.1") and len(expected) >= 18
    page.goto(f"{server}/docs")
    page.wait_for_function(DOCS_SETTLED, timeout=30_000)
    assert "Unable to render" not in page.inner_text("body")
    # every operation has one tag, so Swagger UI draws each exactly once
    page.wait_for_function(f"() => ({RENDERED})().length >= {len(expected)}", timeout=30_000)
    assert sorted(page.evaluate(RENDERED)) == expected
    assert aborted == []  # nothing was even tried off the machine


def test_the_page_arrives_compressed_and_draws_offline(
    context: Any, page: Any, server: str
) -> None:
    aborted = offline(context)
    seen: dict[str, dict[str, str]] = {}
    page.on("response", lambda r: seen.__setitem__(urllib.parse.urlsplit(r.url).path, r.headers))
    open_app(page, server)
    for path in ("/", "/main.js", "/api.js", "/style.css", "/vendor/plotly.min.js"):
        headers = seen[path]
        assert headers.get("content-encoding") in ("br", "gzip"), (path, headers)
        assert headers["etag"] and headers["vary"] == "Accept-Encoding", (path, headers)
        assert headers["cache-control"] == "no-cache", (path, headers)
    # the Link header names exactly the modules the browser's own loader fetched (their
    # order, the entries' first, is tests/api/test_preload.py's)
    links = [p.split(">")[0].lstrip(" <") for p in seen["/"]["link"].split(",")]
    loaded = [p for p in seen if p.endswith(".js") and not p.startswith("/vendor/")]
    assert sorted(links) == sorted(loaded)
    assert aborted == []


# Every fetch the page makes: its path, and whether plotly.js was on the page yet.
FETCHES = """(() => {
  window.__fetches = [];
  const fetch0 = window.fetch;
  window.fetch = (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input.url, location.href);
    const method = (init && init.method) || 'GET';
    window.__fetches.push([method, url.pathname,
      Boolean(document.querySelector('script[src*="plotly"]'))]);
    return fetch0(input, init);
  };
})();"""


def test_first_load_asks_each_view_once_before_plotly_runs(
    context: Any, page: Any, server: str
) -> None:
    """Measured before: /surface twice, /data and /backprop two or three times on one load;
    plotly.js (a second or two of parsing) ran before the page asked for anything."""
    context.add_init_script(FETCHES)
    open_app(page, server)
    page.evaluate("() => window.gradscape.app.main.filling")  # the history fill, if any
    page.wait_for_load_state("networkidle")
    fetches = page.evaluate("window.__fetches")
    sid = page.evaluate("window.gradscape.app.main.id")
    asked = [(m, p.removeprefix(f"/api/sessions/{sid}")) for m, p, _ in fetches]
    for view in ("/surface", "/data", "/backprop"):
        assert sum(p == view for _, p in asked) == 1, (view, asked)
    # the first run's requests left before plotly.js was even added to the page
    first = {p: before for _, p, before in reversed(fetches)}
    for path in ("/api/catalog", "/api/sessions", f"/api/sessions/{sid}/surface"):
        assert first[path] is False, (path, fetches)


# Two widgets marked dirty in one frame: the landscape's priority draws first.
DRAW_ORDER = """async () => {
  const { invalidate } = await import('/scheduler.js');
  const order = [];
  invalidate('test-chart', () => order.push('chart'));
  invalidate('test-surface', () => order.push('surface'), { priority: 0 });
  await new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok)));
  return order;
}"""


def test_the_landscape_draws_before_the_charts(page: Any, server: str) -> None:
    open_app(page, server)
    assert page.evaluate(DRAW_ORDER) == ["surface", "chart"]
