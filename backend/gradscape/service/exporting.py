"""Exports: format version, config, event log and trajectory, as JSON or CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from gradscape.core.records import FIELD_GROUPS, RECORD_FIELDS
from gradscape.core.session import TrainingSession
from gradscape.service.jsonsafe import clean_dict

FORMAT_VERSION = 1
#: The record fields an export carries: all but the per-layer and held-out ones, then params.
EXPORT_FIELDS = (
    *(
        f
        for f in RECORD_FIELDS
        if f not in (*FIELD_GROUPS["per_layer"], "val_loss", "val_accuracy")
    ),
    "params",
)


def export_json(
    session: TrainingSession, every: int | None = None, note: str | None = None
) -> dict[str, Any]:
    """Everything needed to recreate the run bit for bit, plus its trajectory as columns
    (every ``every``-th step; ``note`` says why when the rows were thinned)."""
    fields = [f for f in EXPORT_FIELDS if f != "batch_size" or session.n_samples is not None]
    traj: dict[str, Any] = session.trajectory(every=every, fields=fields)
    if "batch_size" in traj:
        traj["batch_size"] = traj["batch_size"].astype(int)
    return clean_dict(
        {
            "format_version": FORMAT_VERSION,
            "config": session.config,
            "events": [[k, c] for k, c in session.events],
            "step": session.step_count,
            "status": session.status,
            "reason": session.reason,
            "param_names": list(session.model.param_names),
            "every": every or 1,
            "note": note,
            "trajectory": traj,
        }
    )


def export_csv(session: TrainingSession, every: int | None = None) -> str:
    """One row per step: the scalars, then one column per parameter."""
    data = export_json(session, every)
    cols = data["trajectory"]
    scalars = [k for k in cols if k != "params"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(scalars + data["param_names"])
    for i in range(len(cols["step"])):
        row = [cols[k][i] for k in scalars] + cols["params"][i]
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()
