"""What a client sees of a run: info, step records and trajectories as JSON-safe columns.

Plain functions over a ``LiveRun`` (or its session); the transport calls them in worker threads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from gradscape.core.nn import MLP
from gradscape.core.records import ARRAY_FIELDS, RECORD_FIELDS, Steps
from gradscape.core.session import TrainingSession
from gradscape.service.jsonsafe import clean, floats
from gradscape.service.live import LiveRun

DEFAULT_FIELDS = RECORD_FIELDS


def info(run: LiveRun) -> dict[str, Any]:
    """The run's public state (``SessionInfo``), evaluating the current loss if needed."""
    s = run.session
    now = s.trajectory(start=-1, fields=["epoch", "loss", "accuracy"])
    ds = s.dataset
    return {
        "id": run.id,
        "status": run.status,
        "reason": reason(run),
        "unread": unread(run),
        "step": s.step_count,
        "epoch": float(now["epoch"][0]),
        "loss": clean(float(now["loss"][0])),
        "accuracy": clean(float(now["accuracy"][0])),
        "config": clean(s.config),
        "settings": clean(s.settings),
        "events": clean([[k, c] for k, c in s.events]),
        "n_params": s.model.n_params,
        "param_names": list(s.model.param_names),
        "layers": [name for name, _ in s.model.layer_slices],
        "n_samples": s.n_samples,
        "n_features": None if ds is None else ds.n_features,
        "task": None if ds is None else ds.task,
        "params": floats(s.params),
    }


def reason(run: LiveRun) -> str | None:
    """Why the run stopped: its divergence, or why it paused itself (no viewer read it)."""
    if run.session.reason is not None:
        return run.session.reason
    return run.paused_because if run.status == "paused" else None


def unread(run: LiveRun) -> bool:
    """Play paused itself because no viewer read its frames."""
    return run.paused_because is not None and run.status == "paused"


def columns(cols: dict[str, np.ndarray], fields: Sequence[str]) -> dict[str, list[Any]]:
    """Chosen columns as JSON-safe lists (NaN, meaning not evaluated or not applicable, -> null)."""
    out: dict[str, list[Any]] = {}
    for name in fields:
        col = cols[name]
        if name in ("step",):
            out[name] = col.astype(np.int64).tolist()
        elif name == "batch_size":
            out[name] = [None if math.isnan(v) else int(v) for v in col.tolist()]
        else:
            out[name] = floats(col)
    return out


def step_records(
    session: TrainingSession, steps: Steps, fields: Sequence[str]
) -> dict[str, list[Any]]:
    """Columns for the steps just made; ``params``/``grad`` rows as lists when asked for."""
    scalar = [f for f in fields if f not in ARRAY_FIELDS]
    cols = {name: steps.column(name) for name in scalar}
    out = columns(cols, scalar)
    ks = steps.column("step")
    if "params" in fields:
        out["params"] = floats(session.params_at(ks)) if len(ks) else []
    if "grad" in fields:
        out["grad"] = floats(session.grads_at(ks)) if len(ks) else []
    return out


def trajectory(
    session: TrainingSession,
    start: int | None,
    stop: int | None,
    every: int | None,
    fields: Sequence[str],
) -> dict[str, list[Any]]:
    """``GET .../trajectory``: columns sliced like Python."""
    traj = session.trajectory(start, stop, every, fields)
    scalar = [f for f in fields if f not in ARRAY_FIELDS]
    out = columns(traj, scalar)
    for name in ARRAY_FIELDS:
        if name in fields:
            out[name] = floats(traj[name])
    return out


def data_view(session: TrainingSession, resolution: int, step: int | None = None) -> dict[str, Any]:
    """The training points and the model's predictions on a grid (or a curve for 1
    feature), at ``step`` (default: the latest; an earlier one is rebuilt)."""
    if step is not None and not 0 <= step <= session.step_count:
        raise ValueError(f"step: {step} is outside the run's steps 0..{session.step_count}")
    ds = session.dataset
    model = session.model
    if ds is None or not isinstance(model, MLP):
        return {"kind": "surface", "X": [], "y": []}
    theta = session.params if step is None else session.params_at([step])[0]
    out: dict[str, Any] = {
        "feature_names": list(ds.feature_names),
        "target_name": ds.target_name,
        "task": ds.task,
        "X": floats(ds.X),
        "y": floats(ds.y),
    }
    lo, hi = ds.X.min(axis=0), ds.X.max(axis=0)
    pad = 0.1 * np.maximum(hi - lo, 1e-9)
    if ds.n_features == 1:
        xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
        out |= {
            "kind": "curve",
            "grid_x": floats(xs),
            "prediction": floats(model.predict(theta, xs[:, None])[:, 0]),
        }
    elif ds.n_features == 2:
        xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
        ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
        gx, gy = np.meshgrid(xs, ys)
        pred = model.predict(theta, np.column_stack([gx.ravel(), gy.ravel()]))
        value = pred[:, 0] if pred.shape[1] == 1 else np.argmax(pred, axis=1).astype(float)
        out |= {
            "kind": "boundary",
            "grid_x": floats(xs),
            "grid_y": floats(ys),
            "prediction": floats(value.reshape(gx.shape)),
        }
    else:
        out["kind"] = "table"
    return out
