"""Compact WebSocket frames: columns, decimated rows, constants only when they change.

A frame covers every step since the last one sent; when a reader falls behind, the
next frame covers more steps with the same number of rows (memory never grows with a
slow reader: nothing is queued, frames are built from the session's history).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from gradscape.core.history import SCALARS
from gradscape.service.decimate import spaced
from gradscape.service.jsonsafe import floats
from gradscape.service.live import LiveRun
from gradscape.service.surfaces import last_update

ROWS = 240  # scalar rows per frame
POINTS = 48  # evaluated rows (full-data loss, layer norms, plane coordinates)
PARAMS_INLINE = 1000  # send the current parameters when P is at most this


def _recent_params(run: LiveRun, steps: np.ndarray) -> dict[int, np.ndarray]:
    wanted = set(steps.tolist())
    known = {k: t for k, t in run.recent if k in wanted}
    known[run.session.step_count] = run.session.params
    return known


def steps_frame(run: LiveRun, since: int, rows: int = ROWS, points: int = POINTS) -> dict[str, Any]:
    """Steps ``since+1 .. T`` as one frame (call with the session's lock held)."""
    s = run.session
    T = s.step_count
    s.evaluate([T])
    cols = s.recorded(since + 1, T + 1, [*SCALARS, "layer_grad_norms"])
    steps = cols["step"]
    idx = spaced(len(steps), rows)
    frame: dict[str, Any] = {
        "type": "steps",
        "from": since + 1,
        "to": T,
        "status": run.status,
        "reason": s.reason,
        "step": steps[idx].tolist(),
    }
    for name in ("epoch", "batch_loss", "grad_norm"):
        frame[name] = floats(cols[name][idx])
    for name in ("lr", "batch_size"):
        col = cols[name]
        varies = len(col) > 1 and not np.array_equal(
            col, np.full_like(col, col[-1]), equal_nan=True
        )
        frame[name] = floats(col[idx]) if varies else floats(col[-1:])[0]
    frame["eval"] = _eval_rows(run, cols, points)
    if s.model.n_params <= PARAMS_INLINE:
        frame["params"] = floats(s.params)
    return frame


def _eval_rows(run: LiveRun, cols: dict[str, np.ndarray], points: int) -> dict[str, Any]:
    steps = cols["step"]
    done = np.flatnonzero(np.isfinite(cols["loss"]) | np.isinf(cols["loss"]))
    pick = done[spaced(len(done), points)]
    out: dict[str, Any] = {
        "step": steps[pick].tolist(),
        "loss": floats(cols["loss"][pick]),
        "accuracy": floats(cols["accuracy"][pick]),
        "layer_grad_norms": floats(cols["layer_grad_norms"][pick]),
    }
    ds = run.session.dataset
    if ds is not None and ds.X_val is not None:  # held-out data: plotted beside the training loss
        out["val_loss"] = floats(cols["val_loss"][pick])
        out["val_accuracy"] = floats(cols["val_accuracy"][pick])
    plane = run.plane
    if plane is not None and len(pick):
        known = _recent_params(run, steps[pick])
        have = [k for k in steps[pick].tolist() if k in known]
        if have:
            coords = plane.coordinates(np.array([known[k] for k in have]))
            out["plane"] = {
                "step": have,
                "xy": floats(coords),
                "last_update": last_update(run.session, plane),
            }
    return out


def encode(frame: dict[str, Any], max_bytes: int) -> str:
    """JSON text within ``max_bytes``: drop parameters, then thin rows, until it fits."""
    text = json.dumps(frame, allow_nan=False, separators=(",", ":"))
    if len(text.encode()) <= max_bytes:
        return text
    frame = dict(frame)
    frame.pop("params", None)
    for _ in range(8):
        text = json.dumps(frame, allow_nan=False, separators=(",", ":"))
        if len(text.encode()) <= max_bytes:
            return text
        frame = _thinned(frame)
    raise ValueError("frame cannot fit the WebSocket message size")


def _thinned(frame: dict[str, Any]) -> dict[str, Any]:
    out = dict(frame)
    for key in ("step", "epoch", "batch_loss", "grad_norm", "lr", "batch_size"):
        if isinstance(out.get(key), list):
            col = out[key]
            out[key] = col[::2] if len(col) % 2 == 1 else [*col[:-1:2], col[-1]]
    ev = dict(out["eval"])
    for key in ("step", "loss", "accuracy", "layer_grad_norms"):
        col = ev.get(key)
        if col:
            ev[key] = col[::2] if len(col) % 2 == 1 else [*col[:-1:2], col[-1]]
    if len(str(ev["layer_grad_norms"])) > 20_000:  # very deep nets: keep the losses
        ev.pop("layer_grad_norms")
    out["eval"] = ev
    return out
