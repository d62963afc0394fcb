"""Step records: built from columns (NaN means "not there"), frozen, and JSON-safe."""

from __future__ import annotations

import math

import numpy as np

from gradscape.core.records import ALL_FIELDS, StepRecord, Steps, finite_or_none

NAN = math.nan


def _columns(with_arrays: bool) -> dict[str, np.ndarray]:
    """Two steps of a two-layer run: step 0 (no update yet, nothing evaluated but its loss)
    and step 1 (a mini-batch of 8, every value known)."""
    cols = {
        "step": np.array([0, 1]),
        "epoch": np.array([0.0, 0.25]),
        "loss": np.array([0.75, 0.5]),
        "accuracy": np.array([NAN, 0.875]),
        "batch_loss": np.array([NAN, 0.625]),
        "grad_norm": np.array([NAN, 5.0]),
        "layer_grad_norms": np.array([[NAN, NAN], [3.0, 4.0]]),
        "lr": np.array([0.1, 0.05]),
        "batch_size": np.array([NAN, 8.0]),
        "val_loss": np.array([NAN, 0.25]),
        "val_accuracy": np.array([NAN, 1.0]),
    }
    if with_arrays:
        cols["params"] = np.array([[1.0, 2.0, 3.0], [0.5, 1.5, 2.5]])
        cols["grad"] = np.array([[NAN, NAN, NAN], [5.0, 5.0, 5.0]])
    return cols


def test_a_record_reads_every_field_of_its_step_and_none_where_nan() -> None:
    steps = Steps(_columns(with_arrays=True))
    first, second = steps[0], steps[1]
    assert first == StepRecord(
        step=0,
        epoch=0.0,
        loss=0.75,
        accuracy=None,
        batch_loss=None,
        grad_norm=None,
        layer_grad_norms=None,
        lr=0.1,
        batch_size=None,
        val_loss=None,
        val_accuracy=None,
        params=first.params,
        grad=first.grad,
    )
    for name, want in {
        "step": 1,
        "epoch": 0.25,
        "loss": 0.5,
        "accuracy": 0.875,
        "batch_loss": 0.625,
        "grad_norm": 5.0,
        "layer_grad_norms": (3.0, 4.0),
        "lr": 0.05,
        "batch_size": 8,
        "val_loss": 0.25,
        "val_accuracy": 1.0,
    }.items():
        got = getattr(second, name)
        assert got == want and type(got) is type(want), (name, got)
    np.testing.assert_array_equal(first.params, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(second.params, [0.5, 1.5, 2.5])
    np.testing.assert_array_equal(second.grad, [5.0, 5.0, 5.0])
    assert np.isnan(first.grad).all()


def test_a_record_has_no_arrays_when_the_columns_have_none() -> None:
    record = Steps(_columns(with_arrays=False))[1]
    assert record.params is None and record.grad is None


def test_a_slice_is_the_same_records_of_fewer_steps_and_iteration_reads_them_all() -> None:
    steps = Steps(_columns(with_arrays=False))
    assert len(steps) == 2 and list(steps) == [steps[0], steps[1]]
    tail = steps[1:]
    assert isinstance(tail, Steps) and len(tail) == 1 and tail[0] == steps[1]
    np.testing.assert_array_equal(tail.column("lr"), [0.05])


def test_the_columns_are_read_only_copies_and_nothing_was_captured_by_default() -> None:
    cols = _columns(with_arrays=False)
    steps = Steps(cols)
    cols["lr"][1] = 9.0  # the caller's array stays its own, and writable
    assert steps[1].lr == 0.05 and cols["lr"].flags.writeable
    assert not steps.column("lr").flags.writeable
    assert steps.captured_steps.shape == (0,) and steps.captured_steps.dtype == np.int64
    assert steps.captured_params.shape == (0, 0)
    kept = Steps(cols, np.array([1]), np.array([[0.5, 1.5]]))
    np.testing.assert_array_equal(kept.captured_steps, [1])
    np.testing.assert_array_equal(kept.captured_params, [[0.5, 1.5]])


def test_only_finite_numbers_survive_into_json() -> None:
    assert [finite_or_none(v) for v in (1.5, NAN, math.inf, -math.inf, np.float64(2))] == [
        1.5,
        None,
        None,
        None,
        2.0,
    ]
    assert type(finite_or_none(np.float64(2))) is float


def test_a_record_as_a_dict_has_every_field_in_order_with_none_for_non_finite() -> None:
    record = StepRecord(
        step=3,
        epoch=1.5,
        loss=math.inf,
        accuracy=0.5,
        batch_loss=NAN,
        grad_norm=2.0,
        layer_grad_norms=(1.0, math.inf),
        lr=0.1,
        batch_size=4,
        val_loss=None,
        params=np.array([1.0, NAN]),
        grad=np.array([-math.inf, 0.25]),
    )
    out = record.to_dict()
    assert list(out) == list(ALL_FIELDS)
    assert out == {
        "step": 3,
        "epoch": 1.5,
        "loss": None,
        "accuracy": 0.5,
        "batch_loss": None,
        "grad_norm": 2.0,
        "layer_grad_norms": [1.0, None],
        "lr": 0.1,
        "batch_size": 4,
        "val_loss": None,
        "val_accuracy": None,
        "params": [1.0, None],
        "grad": [None, 0.25],
    }
