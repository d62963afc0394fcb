"""Dependencies: the store, the settings and the session named in the path."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from gradscape.api.settings import Settings
from gradscape.api.store import Entry, SessionStore


def get_store(request: Request) -> SessionStore:
    """The app's session store."""
    store: SessionStore = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


StoreDep = Annotated[SessionStore, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


async def get_entry(session_id: SessionId, store: StoreDep) -> Entry:
    """The session named by ``{session_id}`` (404 when unknown)."""
    return await store.get(session_id)


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
