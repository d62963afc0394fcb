"""Everything that leaves the server is finite or null: JSON has no NaN."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from gradscape.core.records import finite_or_none


def floats(a: np.ndarray) -> list[Any]:
    """A float array as nested lists with NaN/Inf replaced by None (fast when all finite)."""
    arr = np.asarray(a, dtype=np.float64)
    if np.isfinite(arr).all():
        out: list[Any] = arr.tolist()
        return out
    obj = arr.astype(object)
    obj[~np.isfinite(arr)] = None
    cleaned: list[Any] = obj.tolist()
    return cleaned


def clean(value: Any) -> Any:
    """Recursively make ``value`` JSON-safe: arrays to lists, non-finite floats to None."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "iub":
            return value.tolist()
        return floats(value)
    if isinstance(value, float | np.floating):
        return finite_or_none(float(value))
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def clean_dict(value: dict[str, Any]) -> dict[str, Any]:
    """``clean`` for a dict, typed as one."""
    out: dict[str, Any] = clean(value)
    return out


def dumps(value: Any) -> bytes:
    """Compact JSON bytes (run it in a worker thread for big payloads: it holds the GIL)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()
