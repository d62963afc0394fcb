"""Loss surfaces, 1-D slices, curvature (the 2 / lambda edge) and the chain rule of one step."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from gradscape.api.deps import AccessDep, EntryDep, RegistryDep, cancelled_on_disconnect, find
from gradscape.api.schemas import (
    BackpropResult,
    CurvatureResult,
    SliceResult,
    SurfaceRequest,
    SurfaceResult,
    UpdateResult,
)
from gradscape.service import surfaces, updates
from gradscape.service.jsonsafe import dumps

router = APIRouter(prefix="/api/sessions", tags=["landscape"])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No session with that id"},
    422: {"description": "Invalid input; the field is named"},
}
NO_UPDATE: dict[int | str, dict[str, Any]] = {
    409: {"description": "The session has made no update yet (step 0)"}
}


@router.post("/{session_id}/surface", responses={200: {"model": SurfaceResult}, **ERRORS})
async def get_surface(
    entry: EntryDep,
    registry: RegistryDep,
    access: AccessDep,
    body: SurfaceRequest,
    request: Request,
) -> Response:
    """The loss on a G x G grid over a plane (z[row = y][col = x], null where not finite),
    the descent path projected with its true loss, surface height and off-plane distance,
    overlays of other sessions, and the gradient at the current point. A grid that would
    take longer than max_call_seconds is refused (422) naming the resolution that fits."""
    entry.run.check_resolution(body.resolution)
    others = [(await find(registry, access, i)).run for i in body.overlay]
    asked, work = body.model_dump(), registry.work()
    async with entry.lock:
        compute = registry.run(lambda: dumps(surfaces.surface_view(entry.run, asked, others, work)))
        payload = await cancelled_on_disconnect(request, work, compute)
    return Response(payload, media_type="application/json")


@router.get("/{session_id}/slice", response_model=SliceResult, responses=ERRORS)
async def get_slice(
    entry: EntryDep,
    registry: RegistryDep,
    start: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    stop: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
    alpha_min: Annotated[float, Query(ge=-100, le=100)] = -0.5,
    alpha_max: Annotated[float, Query(ge=-100, le=100)] = 1.5,
    points: Annotated[int, Query(ge=2, le=1001)] = 101,
) -> dict[str, Any]:
    """Loss along the line (1 - alpha) theta_start + alpha theta_stop (default init -> now)."""
    async with entry.lock:
        return await registry.run(
            surfaces.slice_view, entry.run, start, stop, alpha_min, alpha_max, points
        )


@router.get("/{session_id}/curvature", response_model=CurvatureResult, responses=ERRORS)
async def get_curvature(
    entry: EntryDep,
    registry: RegistryDep,
    step: Annotated[int | None, Query(ge=0, le=10_000_000)] = None,
    series_every: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
) -> dict[str, Any]:
    """lambda_max (the top Hessian eigenvalue) at a step, lr x lambda_max against 2, and
    optionally lambda_max along the run (at most 30 points)."""
    async with entry.lock:
        return await registry.run(surfaces.curvature_view, entry.run, step, series_every)


@router.get(
    "/{session_id}/backprop",
    response_model=None,
    responses={200: {"model": BackpropResult}, **ERRORS},
)
async def get_backprop(
    entry: EntryDep,
    registry: RegistryDep,
    step: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
    samples: Annotated[int, Query(ge=1, le=64)] = 8,
) -> dict[str, Any]:
    """The chain rule of step k: forward values, local slopes, dL/da and deltas per layer,
    and the gradients they multiply into (the first ``samples`` rows of the batch)."""
    async with entry.lock:
        return await registry.run(surfaces.backprop_view, entry.run, step, samples)


@router.get(
    "/{session_id}/update",
    response_model=None,
    responses={200: {"model": UpdateResult}, **ERRORS, **NO_UPDATE},
)
async def get_update(
    entry: EntryDep,
    registry: RegistryDep,
    step: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=updates.MAX_LIMIT)] = 200,
    match: Annotated[str | None, Query(max_length=updates.MAX_MATCH)] = None,
) -> dict[str, Any]:
    """What the optimizer did at update k (default: the last): per parameter theta_{k-1},
    the gradient, -lr x gradient, the optimizer's state before and after, the step taken and
    theta_k (rows whose name contains ``match``, ``offset``/``limit`` paged), rebuilt on
    copies: the session does not change."""
    async with entry.lock:
        return await registry.run(updates.update_view, entry.run, step, offset, limit, match)
