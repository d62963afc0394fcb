"""Training sessions: create, inspect, change live, step, reset, rewind, look back."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from gradscape.api import views
from gradscape.api.deps import EntryDep, SettingsDep, StoreDep
from gradscape.api.errors import PayloadTooLargeError
from gradscape.api.jsonsafe import dumps
from gradscape.api.schemas import (
    LiveChange,
    RewindRequest,
    SessionConfig,
    SessionInfo,
    StepRequest,
    StepResult,
)
from gradscape.api.store import ConflictError, Entry, SessionStore
from gradscape.core.records import ALL_FIELDS

router = APIRouter(prefix="/api/sessions", tags=["sessions"])

#: Evaluate the full-data loss for at most this many records of one step call (the rest: null).
MAX_EVALUATED = 1000
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No session with that id"},
    409: {"description": "The session's state does not allow it (diverged, at its step limit)"},
    413: {"description": "The response would exceed a size limit"},
    422: {"description": "Invalid input; the field is named"},
}


async def _info(store: SessionStore, entry: Entry) -> dict[str, Any]:
    return await store.run(views.info, entry)


async def changed(store: SessionStore, entry: Entry) -> dict[str, Any]:
    """Persist, tell open sockets, and return the new info."""
    await store.persist(entry)
    state = await _info(store, entry)
    entry.notify({"type": "state", **state})
    return state


@router.post("", status_code=201, response_model=SessionInfo, responses={422: ERRORS[422], 429: {}})
async def create_session(
    store: StoreDep, config: Annotated[SessionConfig | None, Body()] = None
) -> dict[str, Any]:
    """Create a session from a preset name and/or a full config (an empty body is pass-fail)."""
    entry = await store.create(None if config is None else config.to_core())
    return await _info(store, entry)


@router.get("/{session_id}", response_model=SessionInfo, responses={404: ERRORS[404]})
async def get_session(entry: EntryDep, store: StoreDep) -> dict[str, Any]:
    """A session's state: step, status, loss, config, settings in force, parameters."""
    return await _info(store, entry)


@router.delete("/{session_id}", status_code=204, responses={404: ERRORS[404]})
async def delete_session(entry: EntryDep, store: StoreDep) -> Response:
    """Delete a session (its sockets are told and closed)."""
    await store.delete(entry.id)
    return Response(status_code=204)


@router.patch(
    "/{session_id}", response_model=SessionInfo, responses={404: ERRORS[404], 422: ERRORS[422]}
)
async def change_session(entry: EntryDep, store: StoreDep, change: LiveChange) -> dict[str, Any]:
    """Change lr, batch size, optimizer hyperparameters or the optimizer live (next step on)."""
    async with entry.lock:
        await store.run(lambda: entry.session.set(**change.to_core()))
    return await changed(store, entry)


def _steps_for(entry: Entry, body: StepRequest) -> int:
    if body.steps is not None and body.epochs is not None:
        raise ValueError("steps: give steps or epochs, not both")
    if body.epochs is None:
        return body.steps or 1
    s = entry.session
    n = s.n_samples
    size = s.settings["batch_size"]
    per_epoch = 1 if n is None or size is None else math.ceil(n / size)
    return body.epochs * per_epoch


def _check_step(entry: Entry, n: int, fields: list[str], settings: SettingsDep) -> None:
    if n > settings.max_steps_per_call:
        raise ValueError(f"steps: {n} is over max_steps_per_call={settings.max_steps_per_call}")
    wide = sum(f in ("params", "grad") for f in fields) * entry.session.model.n_params
    if n * (wide + len(fields)) > settings.max_response_floats:
        raise PayloadTooLargeError(
            f"{n} steps x {wide} parameters is over "
            f"max_response_floats={settings.max_response_floats}; "
            "ask for fewer steps, or fetch params with GET .../trajectory?every=k"
        )
    if entry.session.status == "diverged":
        raise ConflictError("the session diverged; rewind or reset it before stepping")
    if entry.session.step_count + n > settings.max_trajectory_steps:
        raise ConflictError(
            f"the session would pass max_trajectory_steps={settings.max_trajectory_steps}"
        )


@router.post("/{session_id}/step", response_model=StepResult, responses=ERRORS)
async def step_session(
    entry: EntryDep,
    store: StoreDep,
    settings: SettingsDep,
    body: Annotated[StepRequest | None, Body()] = None,
) -> dict[str, Any]:
    """Run ``steps`` updates (or ``epochs`` passes) and return their records as columns.

    The full-data ``loss``/``accuracy`` are evaluated for every record when ``evaluate``
    is ``all`` and at most 1000 are asked for; otherwise for evenly spaced ones (null elsewhere).
    """
    body = body or StepRequest()
    n = _steps_for(entry, body)
    fields = list(body.fields or views.DEFAULT_FIELDS)
    async with entry.lock:
        _check_step(entry, n, fields, settings)
        evaluate: str | int = body.evaluate
        if evaluate == "all" and n > MAX_EVALUATED:
            evaluate = math.ceil(n / MAX_EVALUATED)

        def work() -> dict[str, Any]:
            steps = entry.session.step(n, evaluate=evaluate)
            return views.step_records(entry.session, steps, fields)

        records = await store.run(work)
    state = await changed(store, entry)
    return {
        "status": state["status"],
        "reason": state["reason"],
        "step": state["step"],
        "records": records,
    }


@router.post("/{session_id}/reset", response_model=SessionInfo, responses={404: ERRORS[404]})
async def reset_session(entry: EntryDep, store: StoreDep) -> dict[str, Any]:
    """Back to the initial parameters, keeping the settings now in force."""
    async with entry.lock:
        entry.playing = False
        await store.run(entry.session.reset)
    return await changed(store, entry)


@router.post(
    "/{session_id}/rewind",
    response_model=SessionInfo,
    responses={404: ERRORS[404], 422: ERRORS[422]},
)
async def rewind_session(entry: EntryDep, store: StoreDep, body: RewindRequest) -> dict[str, Any]:
    """Go back to an earlier step; later steps and events are dropped."""
    async with entry.lock:
        entry.playing = False
        await store.run(entry.session.rewind, body.step)
    return await changed(store, entry)


def parse_fields(fields: str | None, default: tuple[str, ...]) -> list[str]:
    """``"loss,params"`` -> ``["loss", "params"]``, with a 422 for unknown names."""
    if not fields:
        return list(default)
    names = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = [f for f in names if f not in ALL_FIELDS]
    if unknown:
        raise ValueError(f"fields: unknown field {unknown[0]!r}; known: {', '.join(ALL_FIELDS)}")
    return names


@router.get("/{session_id}/trajectory", responses=ERRORS, response_model=dict[str, Any])
async def get_trajectory(
    entry: EntryDep,
    store: StoreDep,
    settings: SettingsDep,
    start: Annotated[int | None, Query(ge=-10_000_000, le=10_000_000)] = None,
    stop: Annotated[int | None, Query(ge=-10_000_000, le=10_000_000)] = None,
    every: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
    fields: Annotated[str | None, Query(max_length=500, description="comma-separated")] = None,
) -> Response:
    """The trajectory as columns over ``steps[start:stop:every]`` (Python slice semantics)."""
    names = parse_fields(fields, views.DEFAULT_FIELDS)
    count = len(range(entry.session.step_count + 1)[slice(start, stop, every)])
    wide = sum(f in ("params", "grad") for f in names) * entry.session.model.n_params
    if count * (wide + len(names)) > settings.max_response_floats:
        raise PayloadTooLargeError(
            f"{count} rows is over max_response_floats={settings.max_response_floats}; use every=k"
        )

    def work() -> bytes:
        cols = views.trajectory(entry.session, start, stop, every, names)
        return dumps({"step_count": entry.session.step_count, "columns": cols})

    async with entry.lock:
        return Response(await store.run(work), media_type="application/json")


@router.get("/{session_id}/data", responses={404: ERRORS[404]})
async def get_data(
    entry: EntryDep, store: StoreDep, resolution: Annotated[int, Query(ge=2, le=201)] = 60
) -> dict[str, Any]:
    """The training data and the model's current predictions (decision boundary or curve)."""
    async with entry.lock:
        return await store.run(views.data_view, entry.session, resolution)
