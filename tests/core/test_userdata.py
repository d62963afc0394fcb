"""Inline user data given as NumPy arrays: what counts as a list, and how rows are read."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from gradscape.core.data import make_dataset


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
