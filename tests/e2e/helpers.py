"""Helpers for driving the page: open it, read the app's state, call the API."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from typing import Any

READY = """() => {
  const g = window.gradscape;
  return Boolean(g && g.app.main && g.app.landscape.surface
    && document.querySelector('#plot-surface canvas')
    && document.querySelector('#plot-contour .main-svg'));
}"""


def open_app(page: Any, base: str, hash_: str = "", timeout: float = 60_000) -> None:
    """Load the page (optionally with a hash) and wait until the surface is drawn."""
    page.goto(f"{base}/{hash_}")
    page.wait_for_function(READY, timeout=timeout)


def hash_for(config: dict[str, Any], **view: Any) -> str:
    """A URL hash that starts this config (and view settings)."""
    q = {"config": json.dumps(config), **{k: str(v) for k, v in view.items()}}
    return "#" + urllib.parse.urlencode(q)


def app(page: Any, expr: str) -> Any:
    """Evaluate a JS expression with ``app`` bound to the page's App."""
    return page.evaluate(f"() => {{ const app = window.gradscape.app; return {expr}; }}")


def wait_app(page: Any, cond: str, timeout: float = 30_000) -> None:
    """Wait until a JS condition over ``app`` holds."""
    js = "() => { const app = window.gradscape && window.gradscape.app; "
    page.wait_for_function(js + f"return Boolean(app && ({cond})); }}", timeout=timeout)


def step_until_diverged(page: Any, tries: int = 20) -> None:
    """Press x10 until the main run diverges (each press waits for its steps)."""
    for _ in range(tries):
        if app(page, "app.main.status") == "diverged":
            return
        page.click("button[name=step10]")
        wait_app(page, "app.main.step % 10 === 0 || app.main.status === 'diverged'")
    wait_app(page, "app.main.status === 'diverged'")


def api_get(base: str, path: str) -> Any:
    with urllib.request.urlopen(f"{base}{path}", timeout=30) as r:
        return json.load(r)


def session(page: Any, base: str) -> Any:
    """The main session as the server sees it."""
    return api_get(base, f"/api/sessions/{app(page, 'app.main.id')}")


def set_number(page: Any, selector: str, value: Any) -> None:
    """Type a value into a number box and commit it (change fires on blur)."""
    page.fill(selector, str(value))
    page.locator(selector).dispatch_event("change")


BLUISH_PIXELS = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const bmp = await createImageBitmap(new Blob([bytes], {type: 'image/png'}));
  const c = document.createElement('canvas');
  c.width = bmp.width; c.height = bmp.height;
  const ctx = c.getContext('2d');
  ctx.drawImage(bmp, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let blue = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 2] - d[i] > 40) blue++;
  return blue / (c.width * c.height);
}"""


def surface_pixel_share(page: Any) -> float:
    """Share of the 3-D plot's on-screen pixels in the surface's blue colour scale."""
    import base64

    png = page.locator("#plot-surface").screenshot()
    return float(page.evaluate(BLUISH_PIXELS, base64.b64encode(png).decode()))
