"""Liveness."""

from __future__ import annotations

from fastapi import APIRouter

from gradscape import __version__
from gradscape.api.schemas import Health

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health", response_model=Health)
async def health() -> dict[str, str]:
    """The server is up (answers from the event loop, never waits on training work)."""
    return {"status": "ok", "version": __version__}
