"""One error shape for every failure: 422 names the field and where it was (query, path
or body), never a bare 500 for bad input, and never an internal exception's text.

A ``ValueError`` raised by gradscape's own code is a refusal worded for the client; one
raised inside a library (numpy, sqlite, json...) is a bug: it is logged and answered
``500 {"detail": "internal error"}``, as is anything else unexpected.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from gradscape.service.errors import (
    ConflictError,
    PayloadTooLargeError,
    SessionNotFoundError,
    StorageError,
    TooManySessionsError,
)
from gradscape.service.jsonsafe import clean

_FIELD = re.compile(r"^([A-Za-z_][\w.\[\]]*)")
PACKAGE = Path(__file__).resolve().parents[1]
#: Methods a 405's ``Allow`` is worked out from (HEAD goes with GET: ``api.guard``).
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
INTERNAL = "internal error"
log = logging.getLogger("gradscape")


def declared_params(dependant: Dependant) -> dict[str, str]:
    """The query and path parameters an operation declares: name -> ``query`` / ``path``."""
    out = {p.alias: "path" for p in dependant.path_params}
    out |= {p.alias: "query" for p in dependant.query_params}
    for sub in dependant.dependencies:
        out |= declared_params(sub)
    return out


def field_of(message: str, params: dict[str, str] | None = None) -> list[str]:
    """The field a core error message starts with, as an OpenAPI-style ``loc``: under
    ``query`` or ``path`` when the operation has a parameter of that name, else ``body``."""
    match = _FIELD.match(message)
    if not match:
        return ["body"]
    parts = re.split(r"[.\[\]]+", match.group(1).strip(".[]"))
    return [(params or {}).get(parts[0], "body"), *parts]


def raised_here(exc: BaseException) -> bool:
    """Whether the innermost frame that raised ``exc`` is gradscape's own code."""
    tb = exc.__traceback__
    if tb is None:
        return True  # made, not raised: nothing internal in it
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(PACKAGE)


def public_message(exc: Exception) -> str:
    """The words a client may see for a refusal: its own, or ``internal error`` (logged)."""
    if isinstance(exc, ValueError) and not raised_here(exc):
        log.error("internal error", exc_info=exc)
        return INTERNAL
    return str(exc)


def _detail(status: int, message: str, loc: list[str] | None = None) -> JSONResponse:
    item: dict[str, object] = {"msg": message, "type": "value_error"}
    if loc is not None:
        item["loc"] = loc
    return JSONResponse({"detail": [item] if status == 422 else message}, status_code=status)


def install(app: FastAPI) -> None:
    """Map the service's exceptions to status codes."""

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # The default handler echoes the input, which may be NaN (not JSON): keep it clean.
        errors = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
            | ({"input": clean(e["input"])} if _small(e.get("input")) else {})
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code != 405:
            return await http_exception_handler(request, exc)
        methods = allowed_methods(request)
        methods |= {"HEAD"} if "GET" in methods else set()
        headers = {"Allow": ", ".join(sorted(methods))}
        return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers=headers)

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError) -> JSONResponse:
        message = public_message(exc)
        if message == INTERNAL:
            return JSONResponse({"detail": INTERNAL}, status_code=500)
        route = request.scope.get("route")
        params = declared_params(route.dependant) if isinstance(route, APIRoute) else {}
        return _detail(422, message, field_of(message, params))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error", exc_info=exc)
        return JSONResponse({"detail": INTERNAL}, status_code=500)

    @app.exception_handler(SessionNotFoundError)
    async def not_found(request: Request, exc: SessionNotFoundError) -> JSONResponse:
        return _detail(404, "no session with that id")

    @app.exception_handler(TooManySessionsError)
    async def too_many(request: Request, exc: TooManySessionsError) -> JSONResponse:
        return _detail(429, str(exc))

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, exc: ConflictError) -> JSONResponse:
        return _detail(409, str(exc))

    @app.exception_handler(StorageError)
    async def unavailable(request: Request, exc: StorageError) -> JSONResponse:
        return _detail(503, str(exc))

    @app.exception_handler(PayloadTooLargeError)
    async def too_large(request: Request, exc: PayloadTooLargeError) -> JSONResponse:
        return _detail(413, str(exc))


def allowed_methods(request: Request) -> set[str]:
    """The methods of the resource at this path: the documented path it names (the most
    specific, so ``/api/sessions/import`` is not ``/api/sessions/{session_id}``), else
    whatever some route takes here (the page's files)."""
    path = request.scope["path"]
    paths = request.app.openapi()["paths"]
    named = [t for t in paths if _template(t).fullmatch(path)]
    if named:
        ops = paths[min(named, key=lambda t: t.count("{"))]
        return {m.upper() for m in ops if m.upper() in METHODS}
    probes = ({**request.scope, "method": m} for m in METHODS)
    return {
        p["method"]
        for p in probes
        if any(r.matches(p)[0] == Match.FULL for r in request.app.router.routes)
    }


def _template(path: str) -> re.Pattern[str]:
    """``/api/sessions/{session_id}`` -> a pattern its concrete paths match."""
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)))


def _small(value: object) -> bool:
    return isinstance(value, int | float | str | bool) and len(str(value)) < 200
