"""Exports: the config, the event log and the trajectory, as JSON columns or CSV rows.

Rosenbrock is worked by hand: f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1) with
SGD (lr 0.001, momentum 0.9). At theta_0: f = 2.2^2 + 100 (1 - 1.44)^2 = 4.84 + 19.36 =
24.2 and grad = (-2 (2.2) - 400 (-1.2)(-0.44), 200 (-0.44)) = (-215.6, -88), so
theta_1 = theta_0 - 0.001 grad = (-0.9844, 1.088) (the first momentum buffer is grad).
"""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from gradscape.core.session import TrainingSession
from gradscape.service.exporting import export_csv, export_json

#: The scalar columns of every export, in the order DESIGN.md lists a record's fields.
SCALARS = ["step", "epoch", "loss", "accuracy", "batch_loss", "grad_norm", "lr"]
TOP_KEYS = [
    "format_version",
    "config",
    "events",
    "step",
    "status",
    "reason",
    "param_names",
    "every",
    "note",
    "trajectory",
]


def _rosenbrock(x: float, y: float) -> float:
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def test_an_analytic_surface_exports_every_column_but_the_batch_size() -> None:
    s = TrainingSession({"preset": "rosenbrock"})
    s.step(1)
    out = export_json(s)
    assert list(out) == TOP_KEYS
    assert out["format_version"] == 1 and out["step"] == 1 and out["events"] == []
    assert out["status"] == "active" and out["reason"] is None
    assert out["every"] == 1 and out["note"] is None  # no every asked: every step
    assert out["param_names"] == ["x", "y"]
    traj = out["trajectory"]
    # no data, so no batches: the batch size column is left out
    assert list(traj) == [
        *("step", "epoch", "loss", "accuracy", "batch_loss", "grad_norm", "lr", "params")
    ]
    assert traj["step"] == [0, 1] and traj["epoch"] == [0.0, 1.0] and traj["lr"] == [0.001] * 2
    assert traj["accuracy"] == [None, None]  # a surface has no accuracy
    np.testing.assert_allclose(traj["params"], [[-1.2, 1.0], [-0.9844, 1.088]], rtol=1e-12)
    assert traj["loss"] == pytest.approx([24.2, _rosenbrock(-0.9844, 1.088)], rel=1e-12)
    assert traj["batch_loss"] == [None, pytest.approx(24.2, rel=1e-12)]
    assert traj["grad_norm"] == [None, pytest.approx(np.hypot(215.6, 88.0), rel=1e-12)]


def test_a_run_on_data_exports_its_batch_sizes_as_integers() -> None:
    s = TrainingSession({"preset": "line"})  # 50 rows, full batch
    s.step(2)
    out = export_json(s, every=2, note="thinned")
    assert list(out) == TOP_KEYS
    assert out["every"] == 2 and out["note"] == "thinned" and out["step"] == 2
    traj = out["trajectory"]
    assert list(traj) == [*SCALARS, "batch_size", "params"]
    assert traj["step"] == [0, 2]
    assert traj["batch_size"] == [50, 50]
    assert [type(v) for v in traj["batch_size"]] == [int, int]  # 50, not 50.0


def test_a_diverged_run_exports_its_status_and_reason() -> None:
    s = TrainingSession({"preset": "line", "optimizer": {"lr": 1e6}})
    while s.status != "diverged":
        s.step(20)
    out = export_json(s)
    # the step that made the loss non-finite is dropped: the export stops one before it
    assert out["status"] == "diverged"
    assert out["reason"] == f"loss became non-finite at step {out['step'] + 1}"


def test_csv_has_one_row_per_step_with_empty_cells_for_missing_values() -> None:
    s = TrainingSession({"preset": "rosenbrock"})
    s.step(1)
    text = export_csv(s)
    assert text.splitlines()[0] == "step,epoch,loss,accuracy,batch_loss,grad_norm,lr,x,y"
    head, first, second = list(csv.reader(io.StringIO(text)))
    assert len(head) == len(first) == len(second) == 9
    # step 0 has no update yet: no batch loss, no gradient norm; a surface has no accuracy
    assert [*first[:2], *first[3:]] == ["0", "0.0", "", "", "", "0.001", "-1.2", "1.0"]
    assert float(first[2]) == pytest.approx(24.2, rel=1e-12)
    assert [*second[:2], second[3], second[6]] == ["1", "1.0", "", "0.001"]
    assert float(second[4]) == pytest.approx(24.2, rel=1e-12)
    assert float(second[5]) == pytest.approx(np.hypot(215.6, 88.0), rel=1e-12)
    assert [float(v) for v in second[7:]] == pytest.approx([-0.9844, 1.088], rel=1e-12)


def test_csv_of_a_run_on_data_writes_whole_batch_sizes() -> None:
    s = TrainingSession({"preset": "line"})
    s.step(1)
    rows = list(csv.reader(io.StringIO(export_csv(s))))
    assert rows[0] == [*SCALARS, "batch_size", "w_x", "bias"]
    assert [r[7] for r in rows[1:]] == ["50", "50"]
