"""Liveness."""

from __future__ import annotations

from fastapi import APIRouter

from gradscape import __version__

router = APIRouter(prefix="/api", tags=["health"])


@router.get("/health")
async def health() -> dict[str, str]:
    """The server is up (answers from the event loop, never waits on training work)."""
    return {"status": "ok", "version": __version__}
