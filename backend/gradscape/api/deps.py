"""Dependencies: the registry, the settings and the run named in the path."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from gradscape.api.registry import Entry, Registry
from gradscape.api.settings import Settings
from gradscape.service.work import Work

T = TypeVar("T")
#: How often a long call checks whether its client is still there.
DISCONNECT_POLL_SECONDS = 0.1


def get_registry(request: Request) -> Registry:
    """The app's registry of runs."""
    registry: Registry = request.app.state.registry
    return registry


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


async def get_entry(session_id: SessionId, registry: RegistryDep) -> Entry:
    """The session named by ``{session_id}`` (404 when unknown)."""
    return await registry.get(session_id)


EntryDep = Annotated[Entry, Depends(get_entry)]


def reject_unknown_query(request: Request) -> None:
    """422 for query parameters the operation does not declare (a typo is not ignored)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = _query_names(route.dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", unknown[0]),
                    "msg": f"unknown query parameter; known: {', '.join(sorted(known)) or 'none'}",
                    "type": "extra_forbidden",
                }
            ]
        )


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def cancelled_on_disconnect(request: Request, work: Work, call: Awaitable[T]) -> T:
    """Await ``call``; if the client goes away meanwhile, cancel its ``work`` (the
    compute stops at its next turn, ~50 ms, keeping what it made)."""

    async def watch() -> None:
        while not await request.is_disconnected():
            await asyncio.sleep(DISCONNECT_POLL_SECONDS)
        work.cancel()

    watcher = asyncio.create_task(watch())
    try:
        return await call
    finally:
        watcher.cancel()
