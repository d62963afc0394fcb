"""Export a session (JSON or CSV) and import one back bit for bit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from gradscape.api.deps import EntryDep, QuotaDep, RegistryDep
from gradscape.api.schemas import Export, ImportRequest, SessionInfo
from gradscape.service.exporting import EXPORT_FIELDS, export_csv, export_json
from gradscape.service.jsonsafe import dumps

router = APIRouter(prefix="/api/sessions", tags=["exports"])


@router.get(
    "/{session_id}/export",
    responses={
        200: {"model": Export, "content": {"text/csv": {}}, "description": "JSON or CSV"},
        404: {},
        413: {},
    },
)
async def export_session(
    entry: EntryDep,
    registry: RegistryDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    every: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
) -> Response:
    """Format version, config, event log and trajectory: every step when that fits
    max_response_floats, else every k-th (``every`` and ``note`` in the answer; for CSV in
    the X-Gradscape-Every and X-Gradscape-Note headers). ``every`` asks for a spacing."""
    async with entry.lock:
        s = entry.session
        every, note = entry.run.every_to_fit(EXPORT_FIELDS, every)
        if format == "csv":
            text = await registry.run(export_csv, s, every)
            headers = {
                "Content-Disposition": f'attachment; filename="gradscape-{entry.id[:8]}.csv"',
                "X-Gradscape-Every": str(every),
            }
            return PlainTextResponse(
                text,
                media_type="text/csv",
                headers=headers | ({"X-Gradscape-Note": note} if note else {}),
            )
        data = await registry.run(lambda: dumps(export_json(s, every, note)))
    return Response(data, media_type="application/json")


@router.post("/import", status_code=201, response_model=SessionInfo, responses={422: {}, 429: {}})
async def import_session(
    body: ImportRequest, registry: RegistryDep, quota: QuotaDep
) -> dict[str, Any]:
    """Recreate a session from an export: the same config and events replay to the same step.

    Every limit (sessions, steps, events, their steps) is checked before anything is replayed."""
    events = [(k, dict(c)) for k, c in body.events]
    entry = await registry.restore(body.config, events, body.step, body.status, quota)
    return await registry.info(entry)
