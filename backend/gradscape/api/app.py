"""``create_app(settings)``: the routers, the page, bundled plotly.js and offline API docs."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from threadpoolctl import threadpool_limits

from gradscape import __version__
from gradscape.api import errors, static
from gradscape.api.deps import reject_unknown_query
from gradscape.api.guard import Guard
from gradscape.api.limits import BodySizeLimit
from gradscape.api.registry import Registry
from gradscape.api.routes import (
    catalog,
    code,
    datasets,
    exports,
    health,
    landscape,
    sessions,
    stream,
)
from gradscape.api.schemas import publish_bounds
from gradscape.api.settings import Settings

FRONTEND = Path(__file__).resolve().parents[3] / "frontend"
DESCRIPTION = (
    "Train small models step by step with a NumPy core and watch gradient descent: "
    "sessions, live changes, loss surfaces, curvature and the chain rule of any step. "
    "Every float is finite or null. WebSocket at `/api/sessions/{id}/stream`."
)


async def _expire_forever(registry: Registry) -> None:
    while True:
        await asyncio.sleep(60)
        await registry.expire_idle()


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gradscape service with these settings (defaults: ``Settings.from_env()``)."""
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Training threads run many short NumPy calls holding the GIL in between; a short
        # switch interval lets the event loop (health, sockets) in every millisecond.
        sys.setswitchinterval(0.001)
        # Sessions run side by side on the worker threads; a BLAS that also spreads each
        # matrix product over every core makes them fight (x16 slower for the big model).
        blas = threadpool_limits(settings.blas_threads, user_api="blas")
        registry = Registry(settings)
        app.state.registry = registry
        expiry = asyncio.create_task(_expire_forever(registry))
        try:
            yield
        finally:
            expiry.cancel()
            await registry.close()
            blas.restore_original_limits()

    app = FastAPI(
        title="gradscape",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        responses={
            400: {"description": "The body is not parseable (not JSON, not UTF-8)"},
            413: {"description": "The request body is over max_body_bytes"},
            422: {"description": "Invalid input; the field is named in detail[].loc"},
        },
    )
    app.state.settings = settings
    errors.install(app)
    for module in (health, catalog, sessions, exports, code, datasets, landscape):
        app.include_router(module.router, dependencies=[Depends(reject_unknown_query)])
    app.include_router(stream.router)
    static.mount(app, Path(settings.frontend) if settings.frontend else FRONTEND)
    _publish_limits(app, settings)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Guard, settings=settings)  # outermost: a foreign Host meets nothing else
    return app


def _publish_limits(app: FastAPI, settings: Settings) -> None:
    """OpenAPI shows this server's setting-valued bounds (the ones the service enforces)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = publish_bounds(build(), settings.model_dump())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
