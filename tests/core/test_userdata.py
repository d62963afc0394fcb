"""Inline user data given as NumPy arrays: what counts as a list, and how rows are read."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from gradscape.core.data import DataLimits, make_dataset


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        # A 0-d array holds one number, not a list of rows (len() of it is a TypeError).
        ({"X": np.array(5), "y": [0]}, "data.X must be a list, got ndarray array(5)"),
        ({"X": [[1]], "y": np.array(0.5)}, "data.y must be a list, got ndarray array(0.5)"),
        # A 3-D array's rows are 2-D arrays: each item of a row is an array, not a number.
        ({"X": np.zeros((2, 1, 1)), "y": [0, 1]},
         "data.X[0][0] must be a number, got ndarray array([0.])"),
        # A 2-D array of names: its first item is the array ['a'], not the string 'a'.
        ({"X": [[1]], "y": [0], "feature_names": np.array([["a"]])},
         "data.feature_names[0] must be a non-empty string, got ndarray array(['a'], "
         "dtype='<U1')"),
    ],
)  # fmt: skip
def test_numpy_arrays_are_lists_of_their_rows_and_a_0_d_array_is_not_a_list(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset(spec)


@pytest.mark.parametrize(
    ("y", "task", "n_classes"),
    [
        ([1, 1], "binary", 2),  # all ones are still 0/1 labels
        ([0, 1], "binary", 2),
        ([0, 0], "multiclass", 2),  # a stated multiclass task has at least two classes
        ([0, 3], "multiclass", 4),  # classes 0..3, even those that never occur
    ],
)
def test_a_stated_task_is_taken_when_the_labels_allow_it(
    y: list[int], task: str, n_classes: int
) -> None:
    ds = make_dataset({"X": [1, 2], "y": y, "task": task})
    assert (ds.task, ds.n_classes) == (task, n_classes)


def test_an_unknown_task_is_refused_with_the_known_ones() -> None:
    message = "data.task must be one of regression, binary, multiclass; got str 'ranking'"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset({"X": [1, 2], "y": [0, 1], "task": "ranking"})


@pytest.mark.parametrize(
    ("length", "shown"),
    [(40, "b" * 40), (41, "b" * 37 + "...")],
)
def test_a_name_is_shown_whole_up_to_40_characters_then_cut_to_37_and_dots(
    length: int, shown: str
) -> None:
    message = f"data.target: column 'z' is not in the CSV header; columns: a, {shown}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset({"csv": "a," + "b" * length + "\n1,0\n", "target": "z"})


def test_a_target_name_is_matched_without_its_surrounding_spaces() -> None:
    ds = make_dataset({"csv": "a,b,y\n1,2,0\n3,4,1\n", "target": " b "})
    assert (ds.target_name, ds.feature_names) == ("b", ("a", "y"))
    np.testing.assert_array_equal(ds.y, [2.0, 4.0])
    np.testing.assert_array_equal(ds.X, [[1.0, 0.0], [3.0, 1.0]])


def test_the_csv_size_limit_counts_utf8_bytes_not_characters() -> None:
    text = "\u00e9,y\n1,0\n"  # 8 characters, 9 bytes: the e-acute is two bytes in UTF-8
    assert make_dataset({"csv": text}, limits=DataLimits(max_csv_bytes=9)).feature_names == (
        "\u00e9",
    )
    message = "data.csv is 9 bytes; the limit is max_csv_bytes=8"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset({"csv": text}, limits=DataLimits(max_csv_bytes=8))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"csv": "a,y\n1,0\n", "target": 2}, "data.target must be a column name, got int 2"),
        ({"csv": [[1, 2]]}, "data.csv must be CSV text (a string), got list [[1, 2]]"),
    ],
)
def test_a_target_or_csv_of_the_wrong_type_is_refused_in_full(
    spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset(spec)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"csv": ""}, "data.csv is empty; a header row is required"),
        ({"csv": "a,b,label\n"}, "data.csv has a header but no data rows"),
        ({"csv": "1,2,0\n3,4,1\n"},
         "data.csv line 1: looks like numbers, not column names; the first row must be a header"),
        # a stated task the target column cannot hold names that column, as the CSV calls it
        ({"csv": "a,y\n1,0.5\n2,1\n", "task": "binary"},
         "data.task is 'binary' but data.csv column 'y' is not class labels (0 and 1)"),
        ({"csv": "a,count\n1,0\n2,25\n", "task": "multiclass"},
         "data.task is 'multiclass' but data.csv column 'count' is not class labels "
         "(integers 0..19)"),
    ],
)  # fmt: skip
def test_csv_refusals_by_their_whole_message(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        make_dataset(spec)
