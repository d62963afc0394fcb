"""Code to take away: the session's config as standalone NumPy, PyTorch or Keras."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from gradscape.api.deps import EntryDep, RegistryDep
from gradscape.api.schemas import CodeResult, LanguageName
from gradscape.service.code import MAX_EPOCHS, code

router = APIRouter(prefix="/api/sessions", tags=["code"])


@router.get(
    "/{session_id}/code",
    response_model=CodeResult,
    responses={
        404: {"description": "No session with that id"},
        413: {"description": "The data is too big to embed (over max_response_floats numbers)"},
        422: {"description": "Unknown language or epochs out of range; Keras for a surface"},
    },
)
async def get_code(
    entry: EntryDep,
    registry: RegistryDep,
    language: Annotated[LanguageName, Query()] = "numpy",
    epochs: Annotated[
        int | None,
        Query(ge=1, le=MAX_EPOCHS, description="default: the epochs completed so far, at least 1"),
    ] = None,
) -> dict[str, Any]:
    """Python that trains the session's config from its theta_0 on its data: NumPy (the
    chapter's loop) and PyTorch retrace the server's steps, Keras shows compile / fit."""
    async with entry.lock:
        return await registry.run(code, entry.run, language, epochs)
