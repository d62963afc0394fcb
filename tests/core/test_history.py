"""A trajectory's per-step scalars: float64 columns, NaN until known, grown an eighth at a time."""

from __future__ import annotations

import numpy as np

from gradscape.core.history import SCALARS, History


def _appended(h: History, count: int) -> None:
    """Steps 0..count-1 with recognisable values; step k's layer norms are (k, 2k), none at 0."""
    for k in range(len(h), len(h) + count):
        layers = None if k == 0 else np.array([k, 2.0 * k])
        h.append(k / 4, 10.0 + k, 20.0 + k, layers, 0.1 * k, 8.0)


def test_a_fresh_history_holds_1024_nan_steps_of_every_column() -> None:
    """9 scalar columns and 2 layer columns of 1024 float64s: 11 * 1024 * 8 = 90,112 bytes."""
    assert len(SCALARS) == 9
    h = History(2)
    assert len(h) == 0 and h.nbytes() == 90_112
    assert h.column("loss").shape == (0,) and h.column("layer_grad_norms").shape == (0, 2)
    h.append(0.0, 1.0, 2.0, None, 0.1, 8.0)
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        got = h.column(name)
        assert got.dtype == np.float64 and np.isnan(got).all(), name
    assert h.column("layer_grad_norms").dtype == np.float64
    assert np.isnan(h.column("layer_grad_norms")).all()


def test_appended_steps_are_read_back_per_column_across_growth() -> None:
    """From a capacity of 8, the ninth step grows every column to 8 * 9 // 8 + 1 = 10:
    (9 + 2) columns * 10 * 8 bytes = 880."""
    h = History(2, capacity=8)
    _appended(h, 8)
    assert h.nbytes() == 11 * 8 * 8
    _appended(h, 1)
    assert len(h) == 9 and h.nbytes() == 880
    ks = np.arange(9.0)
    np.testing.assert_array_equal(h.column("epoch"), ks / 4)
    np.testing.assert_array_equal(h.column("batch_loss"), 10 + ks)
    np.testing.assert_array_equal(h.column("grad_norm"), 20 + ks)
    np.testing.assert_array_equal(h.column("lr"), 0.1 * ks)
    np.testing.assert_array_equal(h.column("batch_size"), np.full(9, 8.0))
    layers = h.column("layer_grad_norms")
    assert np.isnan(layers[0]).all()
    np.testing.assert_array_equal(layers[1:], np.stack([ks[1:], 2 * ks[1:]], axis=1))
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        got = h.column(name)
        assert got.dtype == np.float64 and np.isnan(got).all(), name
    assert not h.column("epoch").flags.writeable


def test_filled_values_are_cached_at_their_steps() -> None:
    h = History(2, capacity=8)
    _appended(h, 4)
    h.fill_one("loss", 2, 0.5)
    h.fill("accuracy", np.array([1, 3]), np.array([0.25, 0.75]))
    np.testing.assert_array_equal(h.column("loss"), [np.nan, np.nan, 0.5, np.nan])
    np.testing.assert_array_equal(h.column("accuracy"), [np.nan, 0.25, np.nan, 0.75])


def test_truncating_forgets_later_steps_and_their_evaluations() -> None:
    h = History(2, capacity=8)
    _appended(h, 5)
    h.fill("loss", np.arange(5), np.arange(5.0))
    h.truncate(9)  # past the end: nothing changes
    assert len(h) == 5
    h.truncate(3)
    assert len(h) == 3
    np.testing.assert_array_equal(h.column("loss"), [0.0, 1.0, 2.0])
    h.append(7.0, 1.0, 2.0, None, 0.5, 4.0)  # a new step 3: nothing of the old one left
    assert np.isnan(h.column("loss")[3]) and np.isnan(h.column("layer_grad_norms")[3]).all()
    np.testing.assert_array_equal(h.column("epoch"), [0.0, 0.25, 0.5, 7.0])


def test_loading_replaces_the_contents_and_grows_only_as_needed() -> None:
    """8 saved steps fit a capacity of 8 (880 bytes would mean it grew); 20 need growth
    8 -> 10 -> 12 -> 14 -> 16 -> 19 -> 22: 11 columns * 22 * 8 bytes = 1936."""
    h = History(2, capacity=8)
    cols = {name: np.arange(8.0) + i for i, name in enumerate(SCALARS)}
    h.load(cols, np.ones((8, 2)))
    assert len(h) == 8 and h.nbytes() == 11 * 8 * 8
    for i, name in enumerate(SCALARS):
        np.testing.assert_array_equal(h.column(name), np.arange(8.0) + i)
    np.testing.assert_array_equal(h.column("layer_grad_norms"), np.ones((8, 2)))
    big = History(2, capacity=8)
    big.load({"epoch": np.arange(20.0)}, np.zeros((20, 2)))
    assert len(big) == 20 and big.nbytes() == 1936
    np.testing.assert_array_equal(big.column("epoch"), np.arange(20.0))
    assert np.isnan(big.column("loss")).all()
