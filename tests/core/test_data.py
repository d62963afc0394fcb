"""Datasets: generator geometry, determinism, user data parsing, split, standardisation, errors."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradscape.core.data import (
    DATASETS,
    TASKS,
    DataLimits,
    Dataset,
    dataset_specs,
    make_dataset,
)
from gradscape.core.types import FloatArray

RANDOM = [name for name in DATASETS if name != "pass-fail"]
CLASSIFIERS = ["xor", "circles", "moons", "blobs", "spiral"]


def _rows(X: FloatArray, y: FloatArray) -> FloatArray:
    """``[X | y]`` sorted lexicographically, to compare datasets as sets of rows."""
    table = np.column_stack([X, y])
    return table[np.lexsort(table.T[::-1])]


# ---------------------------------------------------------------------------- generators


def test_pass_fail_is_the_chapters_data() -> None:
    ds = make_dataset({"name": "pass-fail"})
    np.testing.assert_array_equal(ds.X, [[5.0, 7.0], [3.0, 4.0], [8.0, 6.0], [2.0, 3.0]])
    np.testing.assert_array_equal(ds.y, [1.0, 0.0, 1.0, 0.0])
    assert (ds.task, ds.n_classes) == ("binary", 2)
    assert ds.feature_names == ("study", "sleep")
    assert ds.target_name == "pass"
    assert ds.X_val is None
    assert ds.mean is None


def test_pass_fail_accepts_and_ignores_n_samples_and_noise() -> None:
    ds = make_dataset({"name": "pass-fail", "n_samples": 500, "noise": 3.0, "seed": 9})
    np.testing.assert_array_equal(ds.X, make_dataset({"name": "pass-fail"}).X)


@pytest.mark.parametrize("name", list(DATASETS))
def test_shapes_and_dtypes(name: str) -> None:
    ds = make_dataset({"name": name, "n_samples": 37})
    n = 4 if name == "pass-fail" else 37
    d = 1 if name in ("line", "sine") else 2
    assert ds.X.shape == (n, d)
    assert ds.y.shape == (n,)
    assert ds.X.dtype == np.float64
    assert ds.y.dtype == np.float64
    assert ds.X.flags.c_contiguous
    assert ds.y.flags.c_contiguous
    assert (ds.n_samples, ds.n_features) == (n, d)
    assert len(ds.feature_names) == d
    assert ds.task == DATASETS[name].task


@pytest.mark.parametrize("name", RANDOM)
def test_same_seed_same_data_and_different_seed_different(name: str) -> None:
    a = make_dataset({"name": name, "seed": 3})
    b = make_dataset({"name": name, "seed": 3})
    c = make_dataset({"name": name, "seed": 4})
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


def test_seed_keyword_is_the_default_data_seed() -> None:
    by_keyword = make_dataset({"name": "moons"}, seed=7)
    by_spec = make_dataset({"name": "moons", "seed": 7}, seed=0)
    np.testing.assert_array_equal(by_keyword.X, by_spec.X)
    assert not np.array_equal(by_keyword.X, make_dataset({"name": "moons"}).X)


@pytest.mark.parametrize(("name", "k"), [("xor", 2), ("circles", 2), ("moons", 2)])
@pytest.mark.parametrize("n", [1, 7, 200, 201])
def test_binary_classes_are_balanced(name: str, k: int, n: int) -> None:
    ds = make_dataset({"name": name, "n_samples": n})
    counts = np.bincount(ds.y.astype(int), minlength=k)
    assert counts.sum() == n
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", ["blobs", "spiral"])
@pytest.mark.parametrize("k", [2, 3, 7, 10])
def test_multiclass_classes_are_balanced(name: str, k: int) -> None:
    ds = make_dataset({"name": name, "classes": k, "n_samples": 101})
    counts = np.bincount(ds.y.astype(int), minlength=k)
    assert len(counts) == k
    assert counts.max() - counts.min() <= 1
    assert ds.n_classes == k
    assert ds.task == ("binary" if k == 2 else "multiclass")


def test_circles_without_noise_lie_on_their_circles() -> None:
    ds = make_dataset({"name": "circles", "n_samples": 101, "noise": 0.0, "factor": 0.3})
    radius = np.hypot(ds.X[:, 0], ds.X[:, 1])
    np.testing.assert_allclose(radius[ds.y == 0], 1.0, rtol=1e-12)
    np.testing.assert_allclose(radius[ds.y == 1], 0.3, rtol=1e-12)
    assert (ds.y == 0).sum() == 50


def _sklearn_circles(n: int, factor: float) -> tuple[FloatArray, FloatArray]:
    """sklearn's ``make_circles(n, shuffle=False, noise=None, factor)``, as a reference."""
    n_out, n_in = n // 2, n - n // 2
    linspace_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    linspace_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    outer_x, outer_y = np.cos(linspace_out), np.sin(linspace_out)
    inner_x, inner_y = np.cos(linspace_in) * factor, np.sin(linspace_in) * factor
    X = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    return X, np.hstack([np.zeros(n_out), np.ones(n_in)])


def test_circles_without_noise_match_sklearn() -> None:
    ds = make_dataset({"name": "circles", "n_samples": 33, "noise": 0.0, "factor": 0.7})
    np.testing.assert_allclose(_rows(ds.X, ds.y), _rows(*_sklearn_circles(33, 0.7)), atol=1e-15)


def _sklearn_moons(n: int) -> tuple[FloatArray, FloatArray]:
    """sklearn's ``make_moons(n, shuffle=False, noise=None)``, transcribed as a reference."""
    n_out, n_in = n // 2, n - n // 2
    outer_x = np.cos(np.linspace(0, np.pi, n_out))
    outer_y = np.sin(np.linspace(0, np.pi, n_out))
    inner_x = 1 - np.cos(np.linspace(0, np.pi, n_in))
    inner_y = 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5
    X = np.vstack([np.append(outer_x, inner_x), np.append(outer_y, inner_y)]).T
    return X, np.hstack([np.zeros(n_out), np.ones(n_in)])


def test_moons_without_noise_match_sklearn_and_lie_on_half_circles() -> None:
    ds = make_dataset({"name": "moons", "n_samples": 41, "noise": 0.0})
    np.testing.assert_allclose(_rows(ds.X, ds.y), _rows(*_sklearn_moons(41)), atol=1e-15)
    upper, lower = ds.X[ds.y == 0], ds.X[ds.y == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0, rtol=1e-12)
    assert upper[:, 1].min() >= 0.0
    assert lower[:, 1].max() <= 0.5


def test_moons_are_shuffled() -> None:
    y = make_dataset({"name": "moons", "n_samples": 100}).y
    assert not np.array_equal(y, np.sort(y))


def test_xor_without_noise_sits_on_the_corners() -> None:
    ds = make_dataset({"name": "xor", "n_samples": 40, "noise": 0.0})
    assert set(np.abs(ds.X).ravel()) == {1.0}
    np.testing.assert_array_equal(ds.y, (ds.X[:, 0] * ds.X[:, 1] < 0).astype(float))
    assert len(np.unique(ds.X, axis=0)) == 4


def test_blobs_without_noise_sit_on_distinct_centres() -> None:
    ds = make_dataset({"name": "blobs", "classes": 5, "n_samples": 50, "noise": 0.0})
    np.testing.assert_allclose(np.hypot(ds.X[:, 0], ds.X[:, 1]), 3.0, rtol=1e-12)
    centres = {tuple(np.round(row, 9)): label for row, label in zip(ds.X, ds.y, strict=True)}
    assert len(centres) == 5
    assert set(centres.values()) == {0.0, 1.0, 2.0, 3.0, 4.0}


def test_spiral_without_noise_is_the_cs231n_spiral() -> None:
    ds = make_dataset({"name": "spiral", "classes": 3, "n_samples": 30, "noise": 0.0})
    for j in range(3):
        arm = ds.X[ds.y == j]
        r = np.hypot(arm[:, 0], arm[:, 1])
        order = np.argsort(r)
        np.testing.assert_allclose(r[order], np.linspace(0, 1, 10), atol=1e-12)
        r, arm = r[order][1:], arm[order][1:]  # the angle is undefined at r = 0
        t = np.linspace(4.0 * j, 4.0 * (j + 1), 10)[1:]
        np.testing.assert_allclose(arm, np.column_stack([r * np.sin(t), r * np.cos(t)]), atol=1e-12)


def test_line_without_noise_is_exact() -> None:
    ds = make_dataset({"name": "line", "noise": 0.0, "slope": -3.0, "intercept": 0.5})
    x = ds.X[:, 0]
    np.testing.assert_allclose(ds.y, -3.0 * x + 0.5, rtol=1e-12)
    assert x.min() >= -1.0
    assert x.max() <= 1.0
    assert (ds.task, ds.n_classes, ds.feature_names) == ("regression", None, ("x",))


def test_line_defaults_are_slope_2_intercept_1() -> None:
    ds = make_dataset({"name": "line", "noise": 0.0})
    np.testing.assert_allclose(ds.y, 2.0 * ds.X[:, 0] + 1.0, rtol=1e-12)


def test_sine_without_noise_is_exact() -> None:
    ds = make_dataset({"name": "sine", "noise": 0.0, "n_samples": 500})
    x = ds.X[:, 0]
    np.testing.assert_allclose(ds.y, np.sin(x), rtol=1e-12)
    assert x.min() >= -np.pi
    assert x.max() <= np.pi
    assert x.min() < -3.0
    assert x.max() > 3.0


@pytest.mark.parametrize("name", ["line", "sine", "xor", "circles", "moons", "blobs"])
def test_noise_is_gaussian_with_std_noise(name: str) -> None:
    # The same seed draws the same normals, so noisy minus clean is exactly noise * N(0, 1).
    clean = make_dataset({"name": name, "noise": 0.0, "n_samples": 2000})
    noisy = make_dataset({"name": name, "noise": 0.5, "n_samples": 2000})
    if DATASETS[name].task == "regression":
        np.testing.assert_array_equal(noisy.X, clean.X)
        residual = noisy.y - clean.y
    else:
        np.testing.assert_array_equal(noisy.y, clean.y)
        residual = (noisy.X - clean.X).ravel()
    assert abs(np.mean(residual)) < 0.05
    assert abs(np.std(residual) - 0.5) < 0.03


# ----------------------------------------------------------------------------- catalog


def test_dataset_specs_describe_every_generator() -> None:
    specs = dataset_specs()
    assert set(specs) == set(DATASETS)
    for name, spec in specs.items():
        assert spec["task"] in TASKS
        assert spec["description"].endswith(".")
        assert spec["description"].count(". ") == 0
        for key, opt in spec["options"].items():
            assert opt["type"] in ("int", "float"), key
            assert opt["min"] <= opt["default"], (name, key)
            assert opt["max"] is None or opt["default"] <= opt["max"], (name, key)
    assert specs["pass-fail"]["options"] == {}
    assert specs["blobs"]["options"]["classes"]["default"] == 3
    assert specs["circles"]["options"]["factor"]["max"] < 1.0


@pytest.mark.parametrize("name", RANDOM)
def test_catalog_defaults_are_the_real_defaults(name: str) -> None:
    defaults = {k: o["default"] for k, o in dataset_specs()[name]["options"].items()}
    explicit = make_dataset({"name": name, **defaults})
    implicit = make_dataset({"name": name})
    np.testing.assert_array_equal(explicit.X, implicit.X)


def test_dataset_specs_follow_the_limits() -> None:
    specs = dataset_specs(DataLimits(max_samples=50))
    assert specs["moons"]["options"]["n_samples"] == {
        "default": 50,
        "min": 1,
        "max": 50,
        "type": "int",
    }


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_valid_generator_options_give_finite_arrays(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(RANDOM))
    spec: dict[str, Any] = {"name": name}
    for key, opt in dataset_specs()[name]["options"].items():
        if key == "n_samples":
            spec[key] = data.draw(st.integers(1, 300))
        elif opt["type"] == "int":
            spec[key] = data.draw(st.integers(opt["min"], opt["max"] or 2**63 - 1))
        else:
            spec[key] = data.draw(st.floats(opt["min"], opt["max"]))
    ds = make_dataset(spec)
    assert ds.X.shape == (spec["n_samples"], 1 if name in ("line", "sine") else 2)
    assert ds.y.shape == (spec["n_samples"],)
    assert np.isfinite(ds.X).all()
    assert np.isfinite(ds.y).all()
    if ds.n_classes is not None:
        assert set(np.unique(ds.y)) <= set(range(ds.n_classes))


# ------------------------------------------------------------------------------ inline


def test_inline_data() -> None:
    ds = make_dataset(
        {"X": [[1, 2.5], [3, 4]], "y": [0.5, 1.5], "feature_names": ["a", "b"], "target_name": "t"}
    )
    np.testing.assert_array_equal(ds.X, [[1.0, 2.5], [3.0, 4.0]])
    assert ds.X.dtype == np.float64
    assert ds.X.flags.c_contiguous
    assert (ds.feature_names, ds.target_name, ds.task) == (("a", "b"), "t", "regression")


def test_inline_flat_x_is_one_feature_with_default_names() -> None:
    ds = make_dataset({"X": [1, 2, 3], "y": [2, 4, 6]})
    assert ds.X.shape == (3, 1)
    assert (ds.feature_names, ds.target_name) == (("x1",), "y")


def test_inline_accepts_numpy_arrays() -> None:
    ds = make_dataset({"X": np.arange(6.0).reshape(3, 2), "y": np.array([0, 1, 1])})
    assert ds.X.shape == (3, 2)
    assert ds.task == "binary"


@pytest.mark.parametrize(
    ("y", "task", "n_classes"),
    [
        ([0, 1, 1, 0], "binary", 2),
        ([0.0, 0.0, 0.0, 0.0], "binary", 2),
        ([0, 2, 1, 2], "multiclass", 3),
        ([0, 2, 2, 0], "regression", None),
        ([1, 3, 5, 5], "regression", None),
        (list(range(20)), "multiclass", 20),
        (list(range(21)), "regression", None),
        ([1, 2, 3, -1], "regression", None),
        ([0, 1, 0.5, 1], "regression", None),
    ],
)
def test_inline_task_inference(y: list[float], task: str, n_classes: int | None) -> None:
    ds = make_dataset({"X": list(range(len(y))), "y": y})
    assert (ds.task, ds.n_classes) == (task, n_classes)


def test_inline_task_can_be_stated() -> None:
    spec: dict[str, Any] = {"X": [1, 2, 3], "y": [0, 1, 2]}
    assert make_dataset({**spec, "task": "regression"}).task == "regression"
    assert make_dataset({**spec, "task": "multiclass"}).n_classes == 3
    assert make_dataset({**spec, "y": [0, 2, 2], "task": "multiclass"}).n_classes == 3
    with pytest.raises(ValueError, match=r"data\.task is 'binary' but data\.y"):
        make_dataset({**spec, "task": "binary"})
    with pytest.raises(ValueError, match=r"data\.task must be one of"):
        make_dataset({**spec, "task": "ranking"})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"X": [[1, 2], [3]], "y": [0, 1]},
         "data.X[1] has 1 values but data.X[0] has 2; rows must all be the same length"),
        ({"X": [[1, 2], 3], "y": [0, 1]}, "data.X[1] must be a list, got int 3"),
        ({"X": [3, [1, 2]], "y": [0, 1]}, "data.X[0] must be a list, got int 3"),
        ({"X": [[1, 2], [3, 4]], "y": [0]}, "data.y has 1 values but data.X has 2 rows"),
        ({"X": [[1, 2]], "y": 0}, "data.y must be a list, got int 0"),
        ({"X": [[1, True]], "y": [0]}, "data.X[0][1] must be a number, got bool True"),
        ({"X": [[1, "2"]], "y": [0]}, "data.X[0][1] must be a number, got str '2'"),
        ({"X": [[1, None]], "y": [0]}, "data.X[0][1] must be a number, got NoneType None"),
        ({"X": [[1, math.nan]], "y": [0]}, "data.X[0][1] must be finite, got nan"),
        ({"X": [[1, 2]], "y": [math.inf]}, "data.y[0] must be finite, got inf"),
        ({"X": [10**400], "y": [0]}, "data.X[0] is too large for float64"),
        ({"X": [[1]], "y": [False]}, "data.y[0] must be a number, got bool False"),
        ({"X": [[1]], "y": [[0]]}, "data.y must be a flat (1-D) list of numbers"),
        ({"X": [], "y": []}, "data.X must have at least one row"),
        ({"X": [[]], "y": [0]}, "data.X rows have 0 values; need 1 to max_features=64"),
        ({"X": "1,2", "y": [0]}, "data.X must be a list, got str '1,2'"),
        ({"X": [[1]]}, "data: inline data needs both 'X' and 'y'"),
        ({"y": [1]}, "data: inline data needs both 'X' and 'y'"),
        ({"X": [[1]], "y": [0], "feature_names": ["a", "b"]},
         "data.feature_names has 2 names but there are 1 features"),
        ({"X": [[1]], "y": [0], "feature_names": "a"},
         "data.feature_names must be a list, got str 'a'"),
        ({"X": [[1, 2]], "y": [0], "feature_names": ["a", "a"]},
         "data.feature_names must not repeat a name; 'a' is at [0] and [1]"),
        ({"X": [[1]], "y": [0], "feature_names": [3]},
         "data.feature_names[0] must be a non-empty string, got int 3"),
        ({"X": [[1]], "y": [0], "target_name": ""},
         "data.target_name must be a non-empty string, got str ''"),
        ({"X": [[1]], "y": [0], "target": "y"},
         "data: unknown option 'target' for inline data; allowed: X, feature_names, seed, "
         "standardize, target_name, task, validation_split, y"),
    ],
)  # fmt: skip
def test_inline_errors(spec: dict[str, Any], message: str) -> None:
    """Each refusal's whole message (the API shows it as is): the field, the value, the rule."""
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset(spec)


def test_inline_limits() -> None:
    limits = DataLimits(max_samples=3, max_features=2)
    make_dataset({"X": [[1, 2]] * 3, "y": [0, 1, 0]}, limits=limits)
    with pytest.raises(ValueError, match=r"data\.X has 4 rows; the limit is max_samples=3"):
        make_dataset({"X": [[1, 2]] * 4, "y": [0, 1, 0, 1]}, limits=limits)
    with pytest.raises(ValueError, match=r"data\.X rows have 3 values; .*max_features=2"):
        make_dataset({"X": [[1, 2, 3]], "y": [0]}, limits=limits)


# --------------------------------------------------------------------------------- CSV

CSV = "a,b,label\n1,2,0\n3,4,1\n5,6,1\n"


def test_csv_target_defaults_to_the_last_column() -> None:
    ds = make_dataset({"csv": CSV})
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(ds.y, [0, 1, 1])
    assert (ds.feature_names, ds.target_name, ds.task) == (("a", "b"), "label", "binary")
    assert ds.X.flags.c_contiguous
    assert ds.X.dtype == np.float64


def test_csv_named_target_column() -> None:
    ds = make_dataset({"csv": CSV, "target": "a"})
    np.testing.assert_array_equal(ds.X, [[2, 0], [4, 1], [6, 1]])
    np.testing.assert_array_equal(ds.y, [1, 3, 5])
    assert (ds.feature_names, ds.task) == (("b", "label"), "regression")


def test_csv_tolerates_bom_quotes_spaces_crlf_and_blank_lines() -> None:
    text = '\ufeff "a" , b,y\r\n\r\n"1.5", 2 ,0\r\n  \r\n-3e2,4,1\r\n'
    ds = make_dataset({"csv": text})
    np.testing.assert_array_equal(ds.X, [[1.5, 2.0], [-300.0, 4.0]])
    assert ds.feature_names == ("a", "b")
    assert ds.task == "binary"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"data\.csv is empty; a header row is required"),
        ("\n\n", r"data\.csv is empty"),
        ("a,b,label\n", r"data\.csv has a header but no data rows"),
        ("a,b,label\n1,2,0\n3,4\n", r"data\.csv line 3: expected 3 cells .*got 2"),
        ("a,b,label\n1,2,0\n\n3,4,1,5\n", r"data\.csv line 4: expected 3 cells .*got 4"),
        ("a,b,label\n1,2,0\n3,4,1\n5,abc,0\n", r"line 4, column 'b': could not parse 'abc'"),
        ("a,b,label\n1,,0\n", r"line 2, column 'b': could not parse '' as a number"),
        ("a,b,label\n1,nan,0\n", r"line 2, column 'b': 'nan' is not a finite number"),
        ("a,b,label\n1,2,-inf\n", r"line 2, column 'label': '-inf' is not a finite number"),
        ("a,b,label\n1,2,1e999\n", r"line 2, column 'label': '1e999' is not a finite number"),
        ("1,2,0\n3,4,1\n", r"data\.csv line 1: looks like numbers, not column names"),
        ("a,a,label\n1,2,0\n", r"data\.csv line 1: duplicate column name 'a'"),
        ("a,label,label\n1,2,0\n", r"data\.csv line 1: duplicate column name 'label'"),
        ("a,,label\n1,2,0\n", r"data\.csv line 1: column 2 has an empty name"),
        ("label\n1\n", r"data\.csv line 1: need at least one feature column"),
    ],
)  # fmt: skip
def test_csv_errors(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_dataset({"csv": text})


def test_csv_missing_or_bad_target() -> None:
    with pytest.raises(ValueError, match=r"data\.target: column 'lbl' is not in the CSV header"):
        make_dataset({"csv": CSV, "target": "lbl"})
    with pytest.raises(ValueError, match=r"data\.target must be a column name"):
        make_dataset({"csv": CSV, "target": 2})
    with pytest.raises(ValueError, match=r"data\.csv must be CSV text"):
        make_dataset({"csv": [[1, 2]]})
    with pytest.raises(ValueError, match=r"unknown option 'X'|exactly one of"):
        make_dataset({"csv": CSV, "X": [[1]]})


def test_csv_limits() -> None:
    limits = DataLimits(max_samples=2, max_features=1, max_csv_bytes=40)
    make_dataset({"csv": "a,y\n1,0\n2,1\n"}, limits=limits)
    with pytest.raises(ValueError, match=r"data\.csv line 4: more than 2 data rows.*max_samples=2"):
        make_dataset({"csv": "a,y\n1,0\n2,1\n3,0\n"}, limits=limits)
    with pytest.raises(ValueError, match=r"line 1: 2 feature columns; the limit is max_features=1"):
        make_dataset({"csv": "a,b,y\n1,2,0\n"}, limits=limits)
    with pytest.raises(ValueError, match=r"data\.csv is 44 bytes; the limit is max_csv_bytes=40"):
        make_dataset({"csv": "a,y\n" + "1,0\n" * 10}, limits=limits)


# ------------------------------------------------------------ split and standardisation


def test_validation_split_sizes_are_disjoint_and_cover_the_data() -> None:
    whole = make_dataset({"name": "moons", "n_samples": 200})
    ds = make_dataset({"name": "moons", "n_samples": 200, "validation_split": 0.25})
    assert ds.X_val is not None
    assert ds.y_val is not None
    assert (ds.n_samples, len(ds.y_val)) == (150, 50)
    assert ds.X_val.dtype == np.float64
    assert ds.X_val.flags.c_contiguous
    train = {tuple(row) for row in ds.X}
    val = {tuple(row) for row in ds.X_val}
    assert not train & val
    both = _rows(np.vstack([ds.X, ds.X_val]), np.concatenate([ds.y, ds.y_val]))
    np.testing.assert_array_equal(both, _rows(whole.X, whole.y))


def test_validation_split_is_seeded() -> None:
    spec = {"X": list(range(20)), "y": list(range(20)), "validation_split": 0.3}
    a, b = make_dataset(spec, seed=1), make_dataset(spec, seed=1)
    c = make_dataset(spec, seed=2)
    assert a.y_val is not None
    assert c.y_val is not None
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.y_val, c.y_val)
    assert len(a.y_val) == 6


@pytest.mark.parametrize(
    ("n", "fraction", "n_val"),
    [(2, 0.9, 1), (10, 0.01, 1), (10, 0.9, 9), (10, 0.25, 3), (7, 0.5, 4)],
)
def test_validation_split_keeps_a_training_row(n: int, fraction: float, n_val: int) -> None:
    ds = make_dataset({"X": list(range(n)), "y": [0] * n, "validation_split": fraction})
    assert ds.y_val is not None
    assert (ds.n_samples, len(ds.y_val)) == (n - n_val, n_val)


def test_validation_split_of_one_sample_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"data\.validation_split needs at least 2 samples"):
        make_dataset({"X": [1], "y": [0], "validation_split": 0.5})


def test_standardize_uses_training_statistics() -> None:
    base = {"name": "blobs", "n_samples": 300, "validation_split": 0.2}
    raw = make_dataset(base)
    ds = make_dataset({**base, "standardize": True})
    assert ds.mean is not None
    assert ds.std is not None
    assert ds.X_val is not None
    np.testing.assert_allclose(ds.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.X.std(axis=0), 1.0, rtol=1e-12)
    np.testing.assert_allclose(ds.mean, raw.X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(ds.std, raw.X.std(axis=0), rtol=1e-12)
    assert raw.X_val is not None
    np.testing.assert_allclose(ds.X_val, (raw.X_val - ds.mean) / ds.std, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ds.y, raw.y)


def test_standardize_constant_column_and_huge_values() -> None:
    X = [[5.0, 1e300, -1e308], [5.0, -1e300, 1e308], [5.0, 3e299, 0.0]]
    ds = make_dataset({"X": X, "y": [0, 1, 0], "standardize": True})
    assert ds.std is not None
    assert ds.mean is not None
    assert ds.std[0] == 1.0
    assert ds.mean[0] == 5.0
    np.testing.assert_array_equal(ds.X[:, 0], 0.0)
    assert np.isfinite(ds.X).all()
    np.testing.assert_allclose(ds.X[:, 1:].std(axis=0), 1.0, rtol=1e-12)


def test_not_standardized_by_default() -> None:
    ds = make_dataset({"csv": CSV})
    assert ds.mean is None
    assert ds.std is None


# ------------------------------------------------------------------ options and forms


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"name": "moons", "n_samples": 0}, r"data\.n_samples must be between 1 and 10000, got 0"),
        ({"name": "moons", "n_samples": 10_001}, r"data\.n_samples must be between 1 and 10000"),
        ({"name": "moons", "n_samples": "200"}, r"data\.n_samples must be an integer, got str"),
        ({"name": "moons", "n_samples": 20.0}, r"data\.n_samples must be an integer, got float"),
        ({"name": "moons", "n_samples": True}, r"data\.n_samples must be an integer, got bool"),
        ({"name": "moons", "noise": -0.1}, r"data\.noise must be between 0 and 10, got -0\.1"),
        ({"name": "moons", "noise": 10.5}, r"data\.noise must be between 0 and 10"),
        ({"name": "moons", "noise": math.nan}, r"data\.noise must be finite"),
        ({"name": "moons", "noise": None}, r"data\.noise must be a number, got NoneType"),
        ({"name": "moons", "seed": -1}, r"data\.seed must be at least 0, got -1"),
        ({"name": "blobs", "classes": 1}, r"data\.classes must be between 2 and 10, got 1"),
        ({"name": "spiral", "classes": 11}, r"data\.classes must be between 2 and 10"),
        ({"name": "circles", "factor": 1.0}, r"data\.factor must be between 0 and 0\.99"),
        ({"name": "line", "slope": 11}, r"data\.slope must be between -10 and 10"),
        ({"name": "moons", "classes": 3}, r"data: unknown option 'classes' for dataset 'moons'"),
        ({"name": "pass-fail", "factor": 0.5}, r"unknown option 'factor' for dataset 'pass-fail'"),
        ({"name": "pass-fail", "n_samples": 0}, r"data\.n_samples must be between 1 and"),
        ({"name": "moon"}, r"data\.name: unknown dataset 'moon' \(did you mean 'moons'\?\)"),
        ({"name": 3}, r"data\.name must be a string, got int 3"),
        ({"name": "moons", "standardize": "yes"}, r"data\.standardize must be true or false"),
        ({"name": "moons", "validation_split": 0.95}, r"validation_split must be .* 0\.9, got"),
        ({"name": "moons", "validation_split": -0.1}, r"data\.validation_split must be between"),
        ({}, r"data must have exactly one of 'name'.*got keys: none"),
        ({"name": "moons", "csv": CSV}, r"data must have exactly one of .*got keys: name, csv"),
        ({"names": "moons"}, r"data must have exactly one of"),
    ],
)  # fmt: skip
def test_option_and_form_errors(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_dataset(spec)


def test_limits_apply_to_generators() -> None:
    with pytest.raises(ValueError, match=r"data\.n_samples must be between 1 and 50, got 51"):
        make_dataset({"name": "moons", "n_samples": 51}, limits=DataLimits(max_samples=50))


def test_bad_spec_or_seed_argument() -> None:
    with pytest.raises(ValueError, match=r"data must be an object, got list"):
        make_dataset([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer"):
        make_dataset({"name": "moons"}, seed=-1)


def test_spec_is_not_modified() -> None:
    spec: dict[str, Any] = {"name": "blobs", "classes": 4, "validation_split": 0.1}
    make_dataset(spec)
    assert spec == {"name": "blobs", "classes": 4, "validation_split": 0.1}


def test_dataset_checks_its_shapes() -> None:
    X, y = np.zeros((3, 2)), np.zeros(3)
    with pytest.raises(ValueError, match="do not match"):
        Dataset(X, np.zeros(4), "binary", 2, ("a", "b"), "y")
    with pytest.raises(ValueError, match="task 'binary' with n_classes None"):
        Dataset(X, y, "binary", None, ("a", "b"), "y")
    with pytest.raises(ValueError, match="X_val and y_val"):
        Dataset(X, y, "regression", None, ("a", "b"), "y", X_val=X)


def _zscore(column: np.ndarray) -> np.ndarray:
    """The reference z-score, on the column brought to order 1 first (it is scale-free)."""
    c = column / np.max(np.abs(column))
    return (c - c.mean()) / c.std()


def test_standardize_scales_each_column_by_its_own_size() -> None:
    """Columns 1e308 and 1e-300 wide side by side: each is z-scored on its own scale (one
    scale for all would underflow the small column to zeros)."""
    rng = np.random.default_rng(5)
    X = np.c_[rng.uniform(-1, 1, 9) * 1e308, rng.uniform(-1, 1, 9) * 1e-300, rng.normal(size=9)]
    ds = make_dataset({"X": X.tolist(), "y": [0, 1] * 4 + [0], "standardize": True})
    for j in range(3):
        np.testing.assert_allclose(ds.X[:, j], _zscore(X[:, j]), rtol=1e-12, atol=1e-12)
    assert ds.std is not None and ds.mean is not None
    np.testing.assert_allclose(ds.std[1] / 1e-300, (X[:, 1] / 1e-300).std(), rtol=1e-12)


def test_a_held_out_row_too_far_out_to_standardise_is_a_value_error() -> None:
    # one training row (a constant column: mean itself, std 1) and one held out 2e308 away
    spec = {"X": [[1e308], [-1e308]], "y": [0, 1], "validation_split": 0.5, "standardize": True}
    with pytest.raises(
        ValueError, match=r"^data\.standardize: feature values too large to standardise$"
    ):
        make_dataset(spec)


def test_standardize_a_single_row_centres_it_with_std_one() -> None:
    ds = make_dataset({"X": [[3.0, -4.0]], "y": [1], "standardize": True})
    np.testing.assert_array_equal(ds.X, [[0.0, 0.0]])
    assert ds.mean is not None and ds.std is not None
    np.testing.assert_array_equal(ds.mean, [3.0, -4.0])
    np.testing.assert_array_equal(ds.std, [1.0, 1.0])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"X": [[1], [2]], "y": [0, 2], "task": "binary"},
         "data.task is 'binary' but data.y is not class labels (0 and 1)"),
        ({"X": [[1], [2]], "y": [0.5, 2], "task": "multiclass"},
         "data.task is 'multiclass' but data.y is not class labels (integers 0..19)"),
        ({"csv": "a" * 50 + ",b\n1,2\n", "target": "z"},
         "data.target: column 'z' is not in the CSV header; columns: "
         f"{'a' * 37}..., b"),
    ],
)  # fmt: skip
def test_refusals_name_the_rule_and_cut_long_names(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset(spec)


def test_an_integer_bound_of_a_million_is_written_out_in_full() -> None:
    # "%g" would write 1000000 as "1e+06"; integer bounds are printed as integers.
    with pytest.raises(ValueError, match=r"^data\.n_samples must be between 1 and 1000000, got 0$"):
        make_dataset({"name": "moons", "n_samples": 0}, limits=DataLimits(max_samples=1_000_000))


def test_a_constant_column_is_centred_on_its_own_value_exactly() -> None:
    # 0.1 + 0.1 + 0.1 is 0.30000000000000004 in float64, so the column's computed mean is
    # 0.10000000000000002: a constant column takes its value itself as the mean, z = 0.
    ds = make_dataset({"X": [[0.1, 1.0], [0.1, 2.0], [0.1, 4.0]], "y": [0, 1, 0],
                       "standardize": True})  # fmt: skip
    assert ds.mean is not None and ds.std is not None
    assert ds.mean[0] == 0.1
    assert ds.std[0] == 1.0
    np.testing.assert_array_equal(ds.X[:, 0], [0.0, 0.0, 0.0])


def _line_reference(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    """The docstring's line: x ~ U[-1, 1] first, then y = 2x + 1 + 0.5 N(0, 1)."""
    x = rng.uniform(-1.0, 1.0, size=n)
    return x[:, None], 2.0 * x + 1.0 + 0.5 * rng.standard_normal(n)


def _sine_reference(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    """x ~ U[-pi, pi] first, then y = sin(x) + 0.5 N(0, 1)."""
    x = rng.uniform(-np.pi, np.pi, size=n)
    return x[:, None], np.sin(x) + 0.5 * rng.standard_normal(n)


def _spiral_reference(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    """CS231n's spiral, 3 arms of n // 3 (+1 for the first n % 3): angle 4j..4(j+1) plus
    0.5 N(0, 1), one normal per point, drawn arm by arm."""
    parts, labels = [], []
    for j in range(3):
        m = n // 3 + (j < n % 3)
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(4.0 * j, 4.0 * (j + 1), m) + 0.5 * rng.standard_normal(m)
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        labels.append(np.full(m, float(j)))
    return np.vstack(parts), np.concatenate(labels)


def _xor_reference(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    """Corners (1, 1), (1, -1), (-1, -1), (-1, 1) in turn, label 1 where the signs differ,
    plus 0.5 N(0, 1) added to every coordinate (drawn before the shuffle)."""
    corners = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])
    k = np.arange(n) % 4
    return corners[k] + 0.5 * rng.standard_normal((n, 2)), (k % 2).astype(np.float64)


def _moons_reference(rng: np.random.Generator, n: int) -> tuple[FloatArray, FloatArray]:
    """sklearn's moons in its order: n // 2 points (cos t, sin t), then the rest
    (1 - cos t, 0.5 - sin t), t evenly from 0 to pi; then 0.5 N(0, 1) on every coordinate,
    point by point in that order (drawn before the shuffle)."""
    n_out = n // 2
    t_out, t_in = np.linspace(0.0, np.pi, n_out), np.linspace(0.0, np.pi, n - n_out)
    X = np.vstack([np.column_stack([np.cos(t_out), np.sin(t_out)]),
                   np.column_stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)])])  # fmt: skip
    y = np.repeat([0.0, 1.0], [n_out, n - n_out])
    return X + 0.5 * rng.standard_normal((n, 2)), y


@pytest.mark.parametrize(
    ("name", "reference"),
    [
        ("line", _line_reference),
        ("sine", _sine_reference),
        ("spiral", _spiral_reference),
        ("xor", _xor_reference),
        ("moons", _moons_reference),
    ],
)
def test_noisy_generators_draw_their_noise_from_the_seeded_stream_as_documented(
    name: str, reference: Callable[[np.random.Generator, int], tuple[FloatArray, FloatArray]]
) -> None:
    ds = make_dataset({"name": name, "n_samples": 31, "noise": 0.5, "seed": 11})
    X, y = reference(np.random.default_rng(11), 31)
    np.testing.assert_allclose(_rows(ds.X, ds.y), _rows(X, y), rtol=1e-12, atol=1e-12)


def test_blobs_centres_are_evenly_spaced_on_the_circle_of_radius_3() -> None:
    # classes 4: angles 0, pi/2, pi, 3 pi/2 for labels 0, 1, 2, 3
    ds = make_dataset({"name": "blobs", "classes": 4, "n_samples": 8, "noise": 0.0})
    expected = {0.0: (3.0, 0.0), 1.0: (0.0, 3.0), 2.0: (-3.0, 0.0), 3.0: (0.0, -3.0)}
    for row, label in zip(ds.X, ds.y, strict=True):
        np.testing.assert_allclose(row, expected[label], atol=1e-12)
    assert sorted(ds.y) == [0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]


@pytest.mark.parametrize(
    ("spec", "seed", "message"),
    [
        ({"name": "zzzz"}, 0,
         "data.name: unknown dataset 'zzzz'; known: pass-fail, line, sine, xor, circles, moons, "
         "blobs, spiral"),
        ({"name": "moons", "csv": "a"}, 0,
         "data must have exactly one of 'name' (a built-in dataset), 'X' and 'y' (inline arrays) "
         "or 'csv' (CSV text); got keys: name, csv"),
        ({"name": "moons"}, True, "seed must be a non-negative integer, got bool True"),
    ],
)  # fmt: skip
def test_refusals_of_the_name_the_form_and_the_seed_in_full(
    spec: dict[str, Any], seed: int, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset(spec, seed=seed)


@pytest.mark.parametrize(
    ("X", "y", "task", "n_classes", "names", "message"),
    [
        (np.zeros((0, 2)), np.zeros(0), "binary", 2, ("a", "b"),
         "Dataset: X (0, 2), y (0,) do not match"),  # no rows
        (np.zeros((3, 0)), np.zeros(3), "binary", 2, (),
         "Dataset: X (3, 0), y (3,) do not match"),  # no features
        (np.zeros(3), np.zeros(3), "binary", 2, ("a",),
         "Dataset: X (3,), y (3,) do not match"),  # X not a table
        (np.zeros((3, 2)), np.zeros(3), "binary", 2, ("a",),
         "Dataset: X (3, 2), y (3,) do not match"),  # one name for two features
        (np.zeros((3, 2)), np.zeros(3), "ranking", 2, ("a", "b"),
         "Dataset: task 'ranking' with n_classes 2"),
        (np.zeros((3, 2)), np.zeros(3), "regression", 2, ("a", "b"),
         "Dataset: task 'regression' with n_classes 2"),
    ],
)  # fmt: skip
def test_a_dataset_refuses_shapes_names_and_tasks_that_disagree(
    X: FloatArray, y: FloatArray, task: str, n_classes: int, names: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        Dataset(X, y, task, n_classes, names, "y")


def test_a_held_out_y_without_its_x_is_refused() -> None:
    y = np.zeros(3)
    with pytest.raises(ValueError, match=r"^Dataset: X_val and y_val must be given together$"):
        Dataset(np.zeros((3, 2)), y, "regression", None, ("a", "b"), "y", y_val=y)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"name": "moons", "n_samples": "200"}, "data.n_samples must be an integer, got str '200'"),
        ({"name": "moons", "noise": None}, "data.noise must be a number, got NoneType None"),
        ({"name": "moons", "noise": math.nan}, "data.noise must be finite, got nan"),
        ({"name": "moons", "noise": 10.0001}, "data.noise must be between 0 and 10, got 10.0001"),
        ({"name": "moons", "seed": -1}, "data.seed must be at least 0, got -1"),
        ({"name": "moons", "standardize": "yes"},
         "data.standardize must be true or false, got str 'yes'"),
        ({"name": "moons", "validation_split": 0.95},
         "data.validation_split must be between 0 and 0.9, got 0.95"),
        ({"X": [1], "y": [0], "validation_split": 0.5},
         "data.validation_split needs at least 2 samples, got 1"),
    ],
)  # fmt: skip
def test_option_refusals_in_full(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset(spec)


def test_options_on_their_bounds_are_accepted_and_200_samples_is_the_default() -> None:
    assert make_dataset({"name": "moons"}).n_samples == 200
    assert make_dataset({"name": "moons", "noise": 10, "n_samples": 3}).n_samples == 3
    ds = make_dataset({"name": "moons", "n_samples": 10, "validation_split": 0.9})
    assert ds.y_val is not None and (ds.n_samples, len(ds.y_val)) == (1, 9)
    assert make_dataset({"name": "circles", "factor": 0.99, "n_samples": 4}).n_samples == 4


def test_a_data_seed_beyond_float_precision_is_used_exactly() -> None:
    # 2**53 + 1 has no float64 of its own (it would round to 2**53): an integer option is
    # kept as the integer given, so the two seeds draw different data.
    near = make_dataset({"name": "moons", "n_samples": 5, "seed": 2**53 + 1})
    far = make_dataset({"name": "moons", "n_samples": 5, "seed": 2**53})
    assert float(2**53 + 1) == float(2**53)
    assert not np.array_equal(near.X, far.X)


def test_a_float_option_that_is_not_a_number_is_named_with_its_value() -> None:
    message = "data.noise must be a number, got str '0.1'"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset({"name": "moons", "noise": "0.1"})


def test_an_unknown_option_for_csv_data_is_refused_with_the_csv_options() -> None:
    # target_name is an inline option: CSV names its target column with ``target``.
    message = (
        "data: unknown option 'target_name' for CSV data; allowed: csv, seed, standardize, "
        "target, task, validation_split"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset({"csv": "a,y\n1,0\n", "target_name": "y"})
