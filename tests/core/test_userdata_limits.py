"""User data limits: counts are checked before anything else and every check is linear.

Times are gated as a ratio to a valid parse measured in the same run, never in seconds:
refusing a CSV may cost no more than accepting a valid 64-feature CSV of the same size
(the reader must still split the refused row into cells), and rows past ``max_samples``
may cost at most ``SLACK`` parses of a valid CSV of ``max_samples`` rows.
"""

from __future__ import annotations

import contextlib
import csv
import math
import time
from typing import Any

import numpy as np
import pytest

from gradscape.core.data import DataLimits, make_dataset

LIMITS = DataLimits()  # max_samples=10_000, max_features=64, max_csv_bytes=2_000_000
SLACK = 50
WIDE = 100_000


def _table(columns: int, rows: int, cell: str = "1.5") -> str:
    """A valid CSV: ``columns - 1`` features and a 0/1 target, ``rows`` data rows."""
    header = ",".join([*(f"x{j}" for j in range(1, columns)), "y"])
    row = ",".join([cell] * (columns - 1) + ["0"])
    return header + "\n" + (row + "\n") * rows


def _best(spec: dict[str, Any], match: str | None = None, limits: DataLimits = LIMITS) -> float:
    """Best of three wall times of ``make_dataset(spec)``; refused with ``match`` if given."""
    best = math.inf
    for _ in range(3):
        expect = pytest.raises(ValueError, match=match) if match else contextlib.nullcontext()
        start = time.perf_counter()
        with expect:
            make_dataset(spec, limits=limits)
        best = min(best, time.perf_counter() - start)
    return best


def _same_size(text: str) -> float:
    """Best time to accept a valid CSV of ``max_features`` features, as long as ``text``."""
    columns = LIMITS.max_features + 1
    row = len(_table(columns, 1)) - len(_table(columns, 0))
    return _best({"csv": _table(columns, -(-len(text) // row))})


# ---------------------------------------------------------------------------- counts first


@pytest.mark.timing
@pytest.mark.parametrize(
    "names",
    [
        [f"column{j}" for j in range(WIDE)],  # distinct: the repeat check was quadratic
        [str(j) for j in range(WIDE)],  # numbers: would be "looks like numbers"
        ["a"] * WIDE,  # one name: would be "duplicate column name"
    ],
    ids=["distinct", "numbers", "repeated"],
)
def test_a_header_of_100k_columns_is_refused_by_its_count_first(names: list[str]) -> None:
    text = ",".join(names) + "\n" + "1,0\n" * 2
    assert len(text) < LIMITS.max_csv_bytes  # reaches the parser, not the byte limit
    match = r"^data\.csv line 1: 99999 feature columns; the limit is max_features=64$"
    refusal = _best({"csv": text}, match)
    assert refusal <= _same_size(text)


@pytest.mark.timing
def test_a_row_of_100k_cells_is_refused_by_its_count_first() -> None:
    text = "a,b,y\n1,2,0\n" + ",".join(["junk"] * WIDE) + "\n"
    match = r"^data\.csv line 3: expected 3 cells \(one per header column\), got 100000$"
    refusal = _best({"csv": text}, match)
    assert refusal <= _same_size(text)


@pytest.mark.timing
def test_rows_past_max_samples_are_refused_without_reading_the_rest() -> None:
    limits = DataLimits(max_samples=100)
    # Junk in the first row and past the limit: the count comes before any cell is parsed.
    text = "a,y\njunk,0\n" + "1,0\n" * 99 + "junk,x\n" * 250_000
    assert len(text) < limits.max_csv_bytes
    match = r"^data\.csv line 102: more than 100 data rows; the limit is max_samples=100$"
    refusal = _best({"csv": text}, match, limits)
    assert refusal <= SLACK * _best({"csv": _table(2, 100)}, limits=limits)


@pytest.mark.timing
def test_a_huge_cell_is_a_clear_value_error_not_a_csv_error() -> None:
    limit = csv.field_size_limit()
    cell = "9" * 1_000_000
    match = rf"^data\.csv line 3: a cell is longer than {limit} characters"
    text = "a,y\n1,0\n" + cell + ",0\n"
    refusal = _best({"csv": text}, match)
    assert refusal <= _same_size(text)
    with pytest.raises(ValueError, match=r"^data\.csv line 1: a cell is longer than"):
        make_dataset({"csv": "a," + cell + "\n1,0\n"})
    with pytest.raises(ValueError, match=r"^data\.csv line 1: a cell is longer than"):
        make_dataset({"csv": 'a,"y\n' + "\n" * (limit + 1) + '"\n1,0\n'})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a,b,a,y\n1,2,3,0\n", r"^data\.csv line 1: duplicate column name 'a' \(columns 1 and 3\)"),
        ("a,b,y,b\n1,2,3,0\n", r"^data\.csv line 1: duplicate column name 'b' \(columns 2 and 4\)"),
        ("a,a,b,b,y\n1,2,3,4,0\n", r"duplicate column name 'a' \(columns 1 and 2\)$"),
        ("a, a ,y\n1,2,0\n", r"duplicate column name 'a' \(columns 1 and 2\)$"),
    ],
)  # fmt: skip
def test_the_first_duplicate_column_is_named_with_both_columns(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_dataset({"csv": text})


LONG = "z" * 100_000  # under the reader's field limit, so it reaches the checks


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"csv": "a,y\n" + LONG + ",0\n"}, r"^data\.csv line 2, column 'a': could not parse 'zzz"),
        ({"csv": "a,y\n" + "9" * 100_000 + ",0\n"}, r"^data\.csv line 2, column 'a': '999"),
        ({"csv": LONG + "," + LONG + ",y\n1,2,0\n"}, r"^data\.csv line 1: duplicate column name"),
        ({"csv": LONG + ",y\n1,0\n", "target": LONG + "!"}, r"^data\.target: column 'zzz"),
        ({"csv": "a," + LONG + "\n1,0.5\n", "task": "binary"}, r"^data\.task is 'binary' but"),
        ({"X": [[1, 2]], "y": [0], "feature_names": [LONG, LONG]}, r"^data\.feature_names must"),
    ],
    ids=["not-a-number", "not-finite", "duplicate", "target", "task", "feature-names"],
)  # fmt: skip
def test_messages_cut_long_cells_and_names(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        make_dataset(spec)
    assert len(str(info.value)) < 200


# ------------------------------------------------------------------------------- inline


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ({"X": ["junk"] * 10_001, "y": [0]}, r"^data\.X has 10001 rows; the limit is max_samples"),
        ({"X": [[1]], "y": ["junk"] * WIDE}, r"^data\.y has 100000 values but data\.X has 1 rows$"),
        ({"X": [["junk"]] * 2, "y": [0]}, r"^data\.y has 1 values but data\.X has 2 rows$"),
        ({"X": [["junk"] * WIDE], "y": [0]}, r"^data\.X rows have 100000 values; need 1 to"),
        ({"X": [[1], ["junk"] * WIDE], "y": [0, 1]}, r"^data\.X\[1\] has 100000 values but"),
        ({"X": np.zeros((10_001, 2)), "y": np.zeros(10_001)}, r"^data\.X has 10001 rows"),
        ({"X": np.zeros((2, WIDE)), "y": np.zeros(2)}, r"^data\.X rows have 100000 values"),
        ({"X": np.zeros((2, 2)), "y": np.zeros((2, 1))}, r"^data\.y must be a flat \(1-D\)"),
        (
            {"X": [[1]], "y": [0], "feature_names": [3] * WIDE},
            r"^data\.feature_names has 100000 names but there are 1 features$",
        ),
    ],
)  # fmt: skip
def test_inline_counts_come_before_the_values(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_dataset(spec)


def test_inline_duplicate_feature_name_is_named_with_both_places() -> None:
    spec = {"X": [[1, 2, 3]], "y": [0], "feature_names": ["a", "b", "a"]}
    with pytest.raises(ValueError, match=r"repeat a name; 'a' is at \[0\] and \[2\]$"):
        make_dataset(spec)
