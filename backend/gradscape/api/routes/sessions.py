"""Training sessions: create, inspect, change live, step, reset, rewind, look back."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response

from gradscape.api.deps import EntryDep, QuotaDep, RegistryDep, cancelled_on_disconnect
from gradscape.api.registry import Entry, Registry
from gradscape.api.schemas import (
    DataView,
    LiveChange,
    RecoveryResult,
    RewindRequest,
    SessionConfig,
    SessionInfo,
    StepRequest,
    StepResult,
    Trajectory,
)
from gradscape.core.records import ALL_FIELDS
from gradscape.service import recovery, views
from gradscape.service.jsonsafe import dumps

router = APIRouter(prefix="/api/sessions", tags=["sessions"])

ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No session with that id"},
    409: {"description": "The session's state does not allow it (diverged, at its step limit)"},
    413: {"description": "The response would exceed a size limit"},
    422: {"description": "Invalid input; the field is named"},
}


async def changed(registry: Registry, entry: Entry) -> dict[str, Any]:
    """Persist, tell open sockets, and return the new info."""
    await registry.persist(entry)
    state = await registry.info(entry)
    entry.notify({"type": "state", **state})
    return state


@router.post("", status_code=201, response_model=SessionInfo, responses={422: ERRORS[422], 429: {}})
async def create_session(
    registry: RegistryDep, quota: QuotaDep, config: Annotated[SessionConfig | None, Body()] = None
) -> dict[str, Any]:
    """Create a session from a preset name and/or a full config (an empty body is pass-fail)."""
    entry = await registry.create(None if config is None else config.to_core(), quota)
    return await registry.info(entry)


@router.get("/{session_id}", response_model=SessionInfo, responses={404: ERRORS[404]})
async def get_session(entry: EntryDep, registry: RegistryDep) -> dict[str, Any]:
    """A session's state: step, status, loss, config, settings in force, parameters."""
    return await registry.info(entry)


@router.delete("/{session_id}", status_code=204, responses={404: ERRORS[404]})
async def delete_session(entry: EntryDep, registry: RegistryDep) -> Response:
    """Delete a session (its sockets are told and closed)."""
    await registry.delete(entry.id)
    return Response(status_code=204)


@router.patch("/{session_id}", response_model=SessionInfo, responses=ERRORS)
async def change_session(
    entry: EntryDep, registry: RegistryDep, change: LiveChange
) -> dict[str, Any]:
    """Change lr, batch size, optimizer hyperparameters or the optimizer live (next step on)."""
    async with entry.lock:
        await registry.light(entry.run.set, change.to_core())
    return await changed(registry, entry)


@router.post("/{session_id}/step", response_model=StepResult, responses=ERRORS)
async def step_session(
    entry: EntryDep,
    registry: RegistryDep,
    request: Request,
    body: Annotated[StepRequest | None, Body()] = None,
) -> dict[str, Any]:
    """Run ``steps`` updates (or ``epochs`` passes) and return their records as columns.

    A call stops at ``max_call_seconds`` with ``truncated: true`` and the steps it made
    (call again to go on); a client that disconnects stops its call within ~50 ms.

    The full-data ``loss``/``accuracy`` are evaluated for every record when ``evaluate``
    is ``all`` and at most 1000 are asked for; otherwise for evenly spaced ones (null elsewhere).
    """
    body = body or StepRequest()
    fields = list(body.fields or views.DEFAULT_FIELDS)
    work = registry.work()

    def compute() -> dict[str, Any]:
        run = entry.run  # read under the lock: a rollback may have replaced it
        n = run.steps_for(body.steps, body.epochs)
        steps = run.step(n, fields=fields, evaluate=body.evaluate, work=work)
        return views.step_records(run.session, steps, fields)

    async with entry.lock:
        records = await cancelled_on_disconnect(request, work, registry.run(compute))
        run = entry.run
        done = {"status": run.status, "reason": run.session.reason, "step": run.session.step_count}
    await registry.persist(entry)
    entry.notify({"type": "steps"})  # sockets show the new steps in their next frame
    return {
        **done,
        "records": records,
        "truncated": work.reason is not None,
        "truncated_reason": work.reason,
    }


@router.post("/{session_id}/reset", response_model=SessionInfo, responses={404: ERRORS[404]})
async def reset_session(entry: EntryDep, registry: RegistryDep) -> dict[str, Any]:
    """Back to the initial parameters, keeping the settings now in force."""
    async with entry.lock:
        await registry.light(entry.run.reset)
    return await changed(registry, entry)


@router.post(
    "/{session_id}/rewind",
    response_model=SessionInfo,
    responses={404: ERRORS[404], 422: ERRORS[422]},
)
async def rewind_session(
    entry: EntryDep, registry: RegistryDep, body: RewindRequest
) -> dict[str, Any]:
    """Go back to an earlier step; later steps and events are dropped."""
    async with entry.lock:
        await registry.run(entry.run.rewind, body.step)
    return await changed(registry, entry)


@router.get(
    "/{session_id}/recovery",
    response_model=RecoveryResult,
    responses={404: ERRORS[404], 409: {"description": "The session has not diverged"}},
)
async def get_recovery(entry: EntryDep, registry: RegistryDep) -> dict[str, Any]:
    """For a diverged run: the step to rewind to (the last before the loss began to climb),
    the cause (learning_rate or exploding_gradients) and the fix with its number (an lr
    below 2 / lambda_max, or a clip_norm), ready to send as a live change after the rewind."""
    async with entry.lock:
        return await registry.run(recovery.recovery, entry.run)


def parse_fields(fields: str | None, default: tuple[str, ...]) -> list[str]:
    """``"loss,params"`` -> ``["loss", "params"]``, with a 422 for unknown names."""
    if not fields:
        return list(default)
    names = [f.strip() for f in fields.split(",") if f.strip()]
    unknown = [f for f in names if f not in ALL_FIELDS]
    if unknown:
        raise ValueError(f"fields: unknown field {unknown[0]!r}; known: {', '.join(ALL_FIELDS)}")
    return names


@router.get("/{session_id}/trajectory", responses={200: {"model": Trajectory}, **ERRORS})
async def get_trajectory(
    entry: EntryDep,
    registry: RegistryDep,
    start: Annotated[int | None, Query(ge=-10_000_000, le=10_000_000)] = None,
    stop: Annotated[int | None, Query(ge=-10_000_000, le=10_000_000)] = None,
    every: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
    fields: Annotated[str | None, Query(max_length=500, description="comma-separated")] = None,
) -> Response:
    """The trajectory as columns over ``steps[start:stop:every]`` (Python slice semantics)."""
    names = parse_fields(fields, views.DEFAULT_FIELDS)
    count = len(range(entry.session.step_count + 1)[slice(start, stop, every)])
    entry.run.check_rows(count, names, "use every=k")

    def work() -> bytes:
        cols = views.trajectory(entry.session, start, stop, every, names)
        return dumps({"step_count": entry.session.step_count, "columns": cols})

    async with entry.lock:
        return Response(await registry.light(work), media_type="application/json")


@router.get(
    "/{session_id}/data",
    response_model=None,
    responses={200: {"model": DataView}, 404: ERRORS[404], 422: ERRORS[422]},
)
async def get_data(
    entry: EntryDep,
    registry: RegistryDep,
    resolution: Annotated[int, Query(ge=2)] = 60,
    step: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
) -> dict[str, Any]:
    """The training data and the model's predictions (decision boundary or curve) at
    ``step`` (default: now; an earlier step is rebuilt from the nearest checkpoint)."""
    entry.run.check_resolution(resolution)
    async with entry.lock:
        return await registry.run(views.data_view, entry.session, resolution, step)
