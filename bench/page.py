"""First paint: navigation start -> first drawn surface on ``/``, against a bare Plotly page.

    .venv/bin/python bench/page.py [--runs 5]

Starts a real ``gradscape serve`` on loopback and one Chromium (the e2e tests' binary and
flags). A warm-up load of ``/`` records the z grid the page's first surface request got
and the size of its 3-D plot. The bare page (one ``<script src>`` of the server's own
``/vendor/plotly.min.js`` and one ``Plotly.newPlot`` of a ``surface`` trace on that grid,
embedded) is served by a tiny ``http.server`` in a thread on another loopback port, so the
app carries no bench-only route; a script tag needs no CORS. Each load is in a fresh
browser context (cold HTTP cache), the two kinds interleaved. The time is taken inside the
page: an init script checks once per animation frame from the first one, and stamps
``performance.now()`` (ms since navigation start) when the surface is drawn: for ``/``,
its grid arrived and the 3-D plot's WebGL canvas is there (and, printed apart, the e2e
tests' READY, which also waits for the contour plot); for the bare page, ``newPlot``
resolved and its canvas is there.
Prints both medians and their ratio (the target is page <= 1.5x bare), and the median of
the per-pair ratios, steadier on a busy machine; gates nothing.
"""

from __future__ import annotations

import argparse
import http.server
import json
import statistics
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from playwright.sync_api import Browser, sync_playwright
from tests.e2e.conftest import CHROMIUM_ARGS, VIEWPORT, find_chromium
from tests.e2e.helpers import READY
from tests.system.server import Server

# The page's first surface: its grid arrived and Plotly made the 3-D plot's WebGL canvas
# (READY, what the e2e tests wait for, also wants the contour plot drawn).
SURFACE = """() => {
  const g = window.gradscape;
  return Boolean(g && g.app.main && g.app.landscape.surface
    && document.querySelector('#plot-surface canvas'));
}"""
# The bare page's: newPlot's promise resolved and its WebGL canvas in the DOM.
BARE = "() => Boolean(window.plotted && document.querySelector('#plot canvas'))"

# Stamps performance.now() (ms since navigation start) into window.__at[name] in the first
# animation frame where each condition holds.
STAMP = """(() => {
  const ready = %s;
  window.__at = {};
  const tick = () => {
    for (const [name, holds] of Object.entries(ready)) {
      let done = false;
      try { done = !(name in window.__at) && holds(); } catch (e) { done = false; }
      if (done) window.__at[name] = performance.now();
    }
    if (Object.keys(window.__at).length < Object.keys(ready).length) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();"""

BARE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>bare surface</title>
<script src="%(plotly)s"></script></head>
<body style="margin:0">
<div id="plot" style="width:%(width)dpx;height:%(height)dpx"></div>
<script>
const z = %(z)s;
Plotly.newPlot("plot", [{type: "surface", z}], {margin: {l: 0, r: 0, t: 0, b: 0}})
  .then(() => { window.plotted = true; });
</script></body></html>"""


def stamps(browser: Browser, url: str, ready: dict[str, str]) -> dict[str, float]:
    """Milliseconds from navigation start to each condition first holding, in a new context."""
    ctx = browser.new_context(viewport=VIEWPORT)
    try:
        table = "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in ready.items()) + "}"
        ctx.add_init_script(STAMP % table)
        page = ctx.new_page()
        page.goto(url, wait_until="commit")
        done = f"() => window.__at && Object.keys(window.__at).length === {len(ready)}"
        page.wait_for_function(done, timeout=120_000)
        return {k: float(v) for k, v in page.evaluate("window.__at").items()}
    finally:
        ctx.close()


def page_grid(browser: Browser, url: str) -> tuple[list[list[float | None]], dict[str, int]]:
    """The z grid of the page's first surface response and its 3-D plot's size in px."""
    ctx = browser.new_context(viewport=VIEWPORT)
    try:
        page = ctx.new_page()
        with page.expect_response(lambda r: r.url.endswith("/surface")) as got:
            page.goto(url)
        z = got.value.json()["z"]
        page.wait_for_function(READY, timeout=120_000)
        box = page.locator("#plot-surface").bounding_box()
        assert box is not None
        return z, {"width": round(box["width"]), "height": round(box["height"])}
    finally:
        ctx.close()


@contextmanager
def bare_server(html: str) -> Iterator[str]:
    """A loopback HTTP server answering every GET with ``html``; yields its URL."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    chromium = find_chromium()
    if chromium is None:
        sys.exit("no Chromium found (set GRADSCAPE_CHROMIUM)")
    # Every load creates a session from 127.0.0.1: a per-client quota (if any) is off.
    srv = Server(":memory:", env={"GRADSCAPE_MAX_SESSIONS_PER_CLIENT": "0"}).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page_url = srv.url + "/"
            z, size = page_grid(browser, page_url)
            bare_html = BARE_PAGE % {
                "plotly": srv.url + "/vendor/plotly.min.js",
                "z": json.dumps(z),
                **size,
            }
            with bare_server(bare_html) as bare_url:
                stamps(browser, bare_url, {"surface": BARE})  # warm-up, not counted
                runs_bare, runs_page = [], []
                for _ in range(runs):  # interleaved, so a slower minute hits both alike
                    runs_bare.append(stamps(browser, bare_url, {"surface": BARE}))
                    runs_page.append(
                        stamps(browser, page_url, {"surface": SURFACE, "ready": READY})
                    )
            browser.close()
    finally:
        srv.stop()
    bare = median_line("bare page   first surface", [r["surface"] for r in runs_bare])
    first = median_line("/           first surface", [r["surface"] for r in runs_page])
    ready = median_line("/           READY (+contour)", [r["ready"] for r in runs_page])
    print(f"grid {len(z)}x{len(z[0])}, 3-D plot {size['width']}x{size['height']} px")
    print(f"ratio / : bare   first surface {first / bare:.2f}x (target <= 1.5x)")
    print(f"                 READY         {ready / bare:.2f}x")
    # each page load beside the bare load just before it: the machine's load shifts both
    pairs = zip(runs_page, runs_bare, strict=True)
    paired = statistics.median(p["surface"] / b["surface"] for p, b in pairs)
    print(f"median of paired ratios (load i / bare load i) {paired:.2f}x")


def median_line(label: str, values: list[float]) -> float:
    """Print the median of ``values`` (ms) and each of them; return the median."""
    mid = statistics.median(values)
    print(f"{label:<28} median {mid:6.0f} ms  ({' '.join(f'{v:.0f}' for v in values)})")
    return mid


if __name__ == "__main__":
    main()
