"""Dependencies: the registry, the settings, who asks (access, quota) and the run named
in the path."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import HTTPConnection

from gradscape.api.access import Access, Quota
from gradscape.api.errors import declared_params
from gradscape.api.registry import Entry, Registry
from gradscape.api.settings import Settings
from gradscape.service.errors import SessionNotFoundError
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


def get_access(conn: HTTPConnection) -> Access:
    """What this request may reach (``api.guard`` works it out from its token)."""
    access: Access = conn.scope["state"]["access"]
    return access


def get_quota(conn: HTTPConnection) -> Quota:
    """What the sessions this request creates count against: its client's address."""
    settings: Settings = conn.app.state.settings
    return Quota(f"client:{conn.scope['state']['client']}", settings.max_sessions_per_client)


RegistryDep = Annotated[Registry, Depends(get_registry)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
AccessDep = Annotated[Access, Depends(get_access)]
QuotaDep = Annotated[Quota, Depends(get_quota)]
SessionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


async def find(registry: Registry, access: Access, session_id: str) -> Entry:
    """A session this access reaches (REST, overlays and the socket all come here);
    one it does not reach is as unknown as one that does not exist."""
    if not access.allows(session_id):
        raise SessionNotFoundError(session_id)
    return await registry.get(session_id)


async def get_entry(session_id: SessionId, registry: RegistryDep, access: AccessDep) -> Entry:
    """The session named by ``{session_id}`` (404 when unknown)."""
    return await find(registry, access, session_id)


EntryDep = Annotated[Entry, Depends(get_entry)]


def reject_unknown_query(request: Request) -> None:
    """422 for query parameters the operation does not declare (a typo is not ignored)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    params = declared_params(route.dependant)
    known = {name for name, where in params.items() if where == "query"}
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
