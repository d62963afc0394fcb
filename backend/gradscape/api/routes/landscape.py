"""Loss surfaces, slices, curvature and the chain rule of one step (filled by the landscape)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/api/sessions", tags=["landscape"])
