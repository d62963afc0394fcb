"""Export a session (JSON or CSV) and import one back bit for bit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from gradscape.api import views
from gradscape.api.deps import EntryDep, SettingsDep, StoreDep
from gradscape.api.errors import PayloadTooLargeError
from gradscape.api.exporting import EXPORT_FIELDS, export_csv, export_json
from gradscape.api.jsonsafe import dumps
from gradscape.api.schemas import ImportRequest, SessionInfo

router = APIRouter(prefix="/api/sessions", tags=["exports"])


@router.get(
    "/{session_id}/export",
    responses={
        200: {"content": {"text/csv": {}}, "description": "JSON (default) or CSV"},
        404: {},
        413: {},
    },
)
async def export_session(
    entry: EntryDep,
    store: StoreDep,
    settings: SettingsDep,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    every: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
) -> Response:
    """Format version, config, event log and trajectory (``every`` thins the rows)."""
    s = entry.session
    rows = len(range(0, s.step_count + 1, every or 1))
    if rows * (s.model.n_params + len(EXPORT_FIELDS)) > settings.max_response_floats:
        raise PayloadTooLargeError(
            f"{rows} rows x {s.model.n_params} parameters is over "
            f"max_response_floats={settings.max_response_floats}; use every=k"
        )
    async with entry.lock:
        if format == "csv":
            text = await store.run(export_csv, s, every)
            return PlainTextResponse(
                text,
                media_type="text/csv",
                headers={
                    "Content-Disposition": f'attachment; filename="gradscape-{entry.id[:8]}.csv"'
                },
            )
        data = await store.run(lambda: dumps(export_json(s, every)))
    return Response(data, media_type="application/json")


@router.post("/import", status_code=201, response_model=SessionInfo, responses={422: {}, 429: {}})
async def import_session(body: ImportRequest, store: StoreDep) -> dict[str, Any]:
    """Recreate a session from an export: the same config and events replay to the same step."""
    events = [(int(k), dict(c)) for k, c in body.events]
    entry = await store.restore(body.config, events, body.step, body.status or "active")
    return await store.run(views.info, entry)
