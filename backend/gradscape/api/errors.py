"""One error shape for every failure: 422 names the field, never a bare 500 for bad input."""

from __future__ import annotations

import re

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from gradscape.service.errors import (
    ConflictError,
    PayloadTooLargeError,
    SessionNotFoundError,
    StorageError,
    TooManySessionsError,
)
from gradscape.service.jsonsafe import clean

_FIELD = re.compile(r"^([A-Za-z_][\w.\[\]]*)")


def field_of(message: str) -> list[str]:
    """The field a core error message starts with, as an OpenAPI-style ``loc``."""
    match = _FIELD.match(message)
    if not match:
        return ["body"]
    return ["body", *re.split(r"[.\[\]]+", match.group(1).strip(".[]"))]


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
        # Starlette names only the first matching route's methods; list them all.
        methods: set[str] = set()
        for route in request.app.router.routes:
            if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
                methods |= route.methods or set()
        headers = {"Allow": ", ".join(sorted(methods))}
        return JSONResponse({"detail": "Method Not Allowed"}, status_code=405, headers=headers)

    @app.exception_handler(ValueError)
    async def bad_value(request: Request, exc: ValueError) -> JSONResponse:
        return _detail(422, str(exc), field_of(str(exc)))

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


def _small(value: object) -> bool:
    return isinstance(value, int | float | str | bool) and len(str(value)) < 200
