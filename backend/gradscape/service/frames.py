"""Compact WebSocket frames: columns, decimated rows, constants only when they change.

A frame covers every step since the last one sent; when a reader falls behind, the
next frame covers more steps with the same number of rows (memory never grows with a
slow reader: nothing is queued). ``cut`` copies what a frame needs under the session's
lock; ``build`` and ``encode`` make the frame from that copy outside it, once for every
viewer.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from gradscape.core.history import SCALARS
from gradscape.landscape import Plane
from gradscape.service.decimate import spaced
from gradscape.service.jsonsafe import floats
from gradscape.service.live import LiveRun
from gradscape.service.surfaces import last_update
from gradscape.service.views import reason

ROWS = 240  # scalar rows per frame
POINTS = 48  # evaluated rows (full-data loss, layer norms, plane coordinates)
PARAMS_INLINE = 1000  # send the current parameters when P is at most this


@dataclass(frozen=True)
class Cut:
    """Steps ``since+1 .. to`` copied out of a run (under its lock); frames are built from
    it anywhere, later, while the run trains on."""

    since: int
    to: int
    cols: dict[str, np.ndarray]  # per-step columns (copies), one row per step
    pick: np.ndarray  # rows whose full-data loss was evaluated, at most POINTS of them
    status: str
    reason: str | None
    params: np.ndarray | None  # theta_T when P <= PARAMS_INLINE
    held_out: bool  # the data has a validation split
    plane: Plane | None
    xy: dict[int, np.ndarray]  # plane coordinates of picked steps whose parameters are kept
    last_update: dict[str, Any] | None

    @property
    def rows(self) -> int:
        """Steps it holds."""
        return self.to - self.since


def cut(run: LiveRun, since: int, points: int = POINTS) -> Cut:
    """Copy what a frame of steps ``since+1 .. T`` needs (call with the session's lock held)."""
    s = run.session
    T = s.step_count
    s.evaluate([T])
    cols = s.recorded(since + 1, T + 1, [*SCALARS, "layer_grad_norms"])
    loss = cols["loss"]
    done = np.flatnonzero(np.isfinite(loss) | np.isinf(loss))
    pick = done[spaced(len(done), points)]
    plane, xy, update = run.plane, {}, None
    if plane is not None and len(pick):
        wanted = set(cols["step"][pick].tolist())
        known = {k: t for k, t in run.recent if k in wanted}
        known[T] = s.params
        have = [k for k in cols["step"][pick].tolist() if k in known]
        if have:
            coords = plane.coordinates(np.array([known[k] for k in have]))
            xy = dict(zip(have, coords, strict=True))
            update = last_update(s, plane)
    ds = s.dataset
    return Cut(
        since=since,
        to=T,
        cols=cols,
        pick=pick,
        status=run.status,
        reason=reason(run),
        params=s.params.copy() if s.model.n_params <= PARAMS_INLINE else None,
        held_out=ds is not None and ds.X_val is not None,
        plane=plane,
        xy=xy,
        last_update=update,
    )


def join(cuts: Sequence[Cut]) -> Cut:
    """Consecutive cuts as one (each ``since`` is the ``to`` before it)."""
    if len(cuts) == 1:
        return cuts[0]
    for a, b in itertools.pairwise(cuts):
        if a.to != b.since:
            raise ValueError(f"cuts are not consecutive: {a.to} then {b.since}")
    last = cuts[-1]
    offsets = np.cumsum([0, *(len(c.cols["step"]) for c in cuts[:-1])])
    cols = {k: np.concatenate([c.cols[k] for c in cuts]) for k in last.cols}
    pick = np.concatenate([c.pick + o for c, o in zip(cuts, offsets, strict=True)])
    xy = {k: v for c in cuts if c.plane is last.plane for k, v in c.xy.items()}
    return replace(last, since=cuts[0].since, cols=cols, pick=pick, xy=xy)


def build(c: Cut, rows: int = ROWS, points: int = POINTS) -> dict[str, Any]:
    """The ``steps`` frame of a cut: at most ``rows`` rows and ``points`` evaluated rows."""
    cols = c.cols
    idx = spaced(len(cols["step"]), rows)
    frame: dict[str, Any] = {
        "type": "steps",
        "from": c.since + 1,
        "to": c.to,
        "status": c.status,
        "reason": c.reason,
        "step": cols["step"][idx].tolist(),
    }
    for name in ("epoch", "batch_loss", "grad_norm"):
        frame[name] = floats(cols[name][idx])
    for name in ("lr", "batch_size"):
        col = cols[name]
        varies = len(col) > 1 and not np.array_equal(
            col, np.full_like(col, col[-1]), equal_nan=True
        )
        frame[name] = floats(col[idx]) if varies else floats(col[-1:])[0]
    frame["eval"] = _eval_rows(c, points)
    if c.params is not None:
        frame["params"] = floats(c.params)
    return frame


def _eval_rows(c: Cut, points: int) -> dict[str, Any]:
    cols = c.cols
    steps = cols["step"]
    pick = c.pick[spaced(len(c.pick), points)]
    out: dict[str, Any] = {
        "step": steps[pick].tolist(),
        "loss": floats(cols["loss"][pick]),
        "accuracy": floats(cols["accuracy"][pick]),
        "layer_grad_norms": floats(cols["layer_grad_norms"][pick]),
    }
    if c.held_out:  # held-out data: plotted beside the training loss
        out["val_loss"] = floats(cols["val_loss"][pick])
        out["val_accuracy"] = floats(cols["val_accuracy"][pick])
    have = [k for k in steps[pick].tolist() if k in c.xy]
    if have:
        out["plane"] = {
            "step": have,
            "xy": floats(np.array([c.xy[k] for k in have])),
            "last_update": c.last_update,
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
    for key in ("step", "loss", "accuracy", "layer_grad_norms", "val_loss", "val_accuracy"):
        col = ev.get(key)
        if col:
            ev[key] = col[::2] if len(col) % 2 == 1 else [*col[:-1:2], col[-1]]
    if len(str(ev["layer_grad_norms"])) > 20_000:  # very deep nets: keep the losses
        ev.pop("layer_grad_norms")
    out["eval"] = ev
    return out
