"""The page's files, plotly.js and the offline API docs: compressed once, tagged, revalidated.

Every text file is compressed at most once per process and encoding (lazily, on the first
request that asks for it) and the bytes are shared by every app in the process; a changed
file (mtime or size) is read and compressed again. Identity bodies stream from disk.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

import brotli
import plotly
from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from gradscape.api import preload

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
SWAGGER = Path(str(files("fastapi_swagger") / "resources"))  # Swagger UI 5 (reads OpenAPI 3.1)
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
#: Longer page paths are 404 at once (the page's own are a few dozen characters).
MAX_PAGE_PATH = 256
#: Revalidate every time: a new page (or plotly) is picked up at once, an unchanged file
#: costs one 304. The vendor URL has no version in it, so a long max-age could pair a new
#: page with an old plotly.js for as long as the max-age.
REVALIDATE = "no-cache"
TEXT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".svg": "image/svg+xml",
    ".txt": "text/plain; charset=utf-8",
}


# gzip 6 is zlib's default (level 9 saves 0.2% of plotly.js for twice the time); brotli 5
# is ~12% smaller than gzip on plotly.js in about a second (quality 11 would take a minute).
def _brotli(data: bytes) -> bytes:
    return bytes(brotli.compress(data, quality=5))


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


ENCODERS: dict[str, Callable[[bytes], bytes]] = {"br": _brotli, "gzip": _gzip}
PREFERENCE = ("br", "gzip")  # on equal q-values, the smaller one


@dataclass
class _Asset:
    """One file as it was at ``stat``: its content tag and the encoded bodies made so far."""

    path: Path
    stat: tuple[int, int]  # (mtime_ns, size)
    tag: str  # sha256 of the bytes, 16 hex digits
    bodies: dict[str, bytes | None] = field(default_factory=dict)  # None: not smaller
    lock: threading.Lock = field(default_factory=threading.Lock)


_assets: dict[Path, _Asset] = {}
_assets_lock = threading.Lock()


def _tag(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _asset(path: Path) -> _Asset:
    """The cached record of ``path``, read again if the file changed since."""
    st = path.stat()
    key = (st.st_mtime_ns, st.st_size)
    with _assets_lock:
        found = _assets.get(path)
    if found is not None and found.stat == key:
        return found
    asset = _Asset(path=path, stat=key, tag=_tag(path.read_bytes()))
    with _assets_lock:
        _assets[path] = asset
    return asset


def _encoded(asset: _Asset, encoding: str) -> bytes | None:
    """``asset`` in ``encoding`` (made once), or None where that is not smaller."""
    with asset.lock:
        if encoding not in asset.bodies:
            # read again rather than hold the identity bytes (4.8 MB for plotly.js)
            data = asset.path.read_bytes()
            if _tag(data) != asset.tag:  # changed since: identity now, re-read next time
                return None
            body = ENCODERS[encoding](data)
            asset.bodies[encoding] = body if len(body) < len(data) else None
        return asset.bodies[encoding]


def accepted(header: str) -> list[str]:
    """The encodings of ``ENCODERS`` an ``Accept-Encoding`` value allows, best first."""
    q: dict[str, float] = {}
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        q[name.strip().lower()] = weight
    star = q.get("*", 0.0)
    ranked = [(q.get(e, star), -k, e) for k, e in enumerate(PREFERENCE)]
    return [e for weight, _, e in sorted(ranked, reverse=True) if weight > 0]


def _matches(if_none_match: str, etag: str) -> bool:
    """``If-None-Match`` names ``etag`` (weak comparison) or is ``*``."""
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in (t.removeprefix("W/") for t in tags)


async def serve_file(request: Request, path: Path, extra: dict[str, str] | None = None) -> Response:
    """``path`` as this request accepts it: gzip/br or identity, an ETag, 304 when unchanged."""
    text_type = TEXT_TYPES.get(path.suffix.lower())
    if text_type is None:  # images and the like: already compressed, Starlette's own ETag
        return FileResponse(path, headers={"Cache-Control": REVALIDATE, **(extra or {})})
    asset = await run_in_threadpool(_asset, path)
    encoding, body = "identity", None
    for candidate in accepted(request.headers.get("accept-encoding", "")):
        body = await run_in_threadpool(_encoded, asset, candidate)
        if body is not None:
            encoding = candidate
            break
    etag = f'"{asset.tag}"' if body is None else f'"{asset.tag}-{encoding}"'
    headers = {
        "ETag": etag,
        "Cache-Control": REVALIDATE,
        "Vary": "Accept-Encoding",
        **(extra or {}),
    }
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    if body is None:
        return FileResponse(path, media_type=text_type, headers=headers)
    return Response(body, media_type=text_type, headers={**headers, "Content-Encoding": encoding})


def mount(app: FastAPI, frontend: Path) -> None:
    """Routes for ``/docs``, its Swagger UI files, ``/vendor/plotly.min.js`` and the page."""

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="gradscape API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
            # no badge fetched from the online validator: the docs stay offline
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/static/swagger/{name}", include_in_schema=False)
    async def swagger(request: Request, name: str) -> Response:
        if name not in SWAGGER_FILES:
            raise HTTPException(status_code=404, detail="not found")
        return await serve_file(request, SWAGGER / name)

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    async def plotly_js(request: Request) -> Response:
        return await serve_file(request, PLOTLY_JS)

    register_url_convertor("page", PagePath())

    @app.get("/{path:page}", include_in_schema=False)
    async def page(request: Request, path: str) -> Response:
        """The page's files (``/`` is ``index.html``); anything under ``/api`` is not a page."""
        root = frontend.resolve()
        try:  # a path too long for the file system, or with a NUL in it, is no file
            target = (root / (path or "index.html")).resolve()
            found = len(path) <= MAX_PAGE_PATH and root in target.parents and target.is_file()
        except (OSError, ValueError):
            found = False
        if not found:
            raise HTTPException(status_code=404, detail="not found")
        if target.suffix != ".html":
            return await serve_file(request, target)
        link = await run_in_threadpool(preload.link_header, root, target)
        return await serve_file(request, target, {"Link": link} if link else None)


class PagePath(Convertor[str]):
    """Any path except ``api`` and below, so the page never shadows an API route's 405."""

    regex = r"(?!api(?:/|$)).*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value
