"""User data: inline arrays and CSV text parsed into float64 arrays, with task inference."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, SupportsFloat

import numpy as np

from gradscape.core.tasks import TASKS, DataLimits
from gradscape.core.types import FloatArray

MAX_CLASSES = 20
INLINE_KEYS = frozenset({"X", "y", "feature_names", "target_name", "task"})
CSV_KEYS = frozenset({"csv", "target", "task"})


@dataclass(frozen=True, eq=False)
class RawData:
    """Parsed, unsplit and unstandardised data: ``X`` ``(n, d)``, ``y`` ``(n,)``."""

    X: FloatArray
    y: FloatArray
    task: str
    n_classes: int | None
    feature_names: tuple[str, ...]
    target_name: str


def _cut(text: str) -> str:
    """``text`` cut to 40 characters, so a huge cell or name cannot swell an error message."""
    return text if len(text) <= 40 else text[:37] + "..."


def _short(value: object) -> str:
    """``repr(value)`` cut to 40 characters for an error message."""
    return _cut(repr(value))


def describe(value: object) -> str:
    """A short description of a bad value for an error message."""
    return f"{type(value).__name__} {_short(value)}"


def _first_repeat(names: Sequence[str]) -> tuple[int, int] | None:
    """Indices ``(i, j)``, ``i < j``, of the first name equal to an earlier one; one pass."""
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        i = seen.setdefault(name, j)
        if i != j:
            return i, j
    return None


def infer_task(y: FloatArray, requested: object, field: str) -> tuple[str, int | None]:
    """Task and class count: 0/1 -> binary, all of 0..k-1 (k <= 20) -> multiclass, else regression.

    A stated ``requested`` task overrides the guess when the labels allow it.
    """
    if requested is not None and requested not in TASKS:
        raise ValueError(f"data.task must be one of {', '.join(TASKS)}; got {describe(requested)}")
    labels = np.unique(y)
    integral = bool(np.all(labels == np.round(labels))) and labels[0] >= 0.0
    top = int(labels[-1]) if integral and labels[-1] < MAX_CLASSES else None
    if requested == "regression":
        return "regression", None
    if requested == "binary" and top is not None and top <= 1:
        return "binary", 2
    if requested == "multiclass" and top is not None:
        return "multiclass", max(top + 1, 2)
    if requested is not None:
        raise ValueError(
            f"data.task is {requested!r} but {field} is not class labels "
            f"({'0 and 1' if requested == 'binary' else f'integers 0..{MAX_CLASSES - 1}'})"
        )
    if top is not None and top <= 1:
        return "binary", 2
    # Guess multiclass only when every class 0..k-1 occurs: [1, 3, 5] is more likely a count.
    if top is not None and len(labels) == top + 1:
        return "multiclass", top + 1
    return "regression", None


def as_float(value: SupportsFloat, name: str) -> float:
    """``float(value)``, or a ValueError naming ``name`` for an int past float64's range
    (JSON's ints have any size; ``float()`` raises OverflowError for them)."""
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} is too large for float64") from None


def _number(value: object, field: str, index: int) -> float:
    """One inline value as a finite float, or a ValueError naming ``field[index]``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field}[{index}] must be a number, got {describe(value)}")
    number = as_float(value, f"{field}[{index}]")
    if not math.isfinite(number):
        raise ValueError(f"{field}[{index}] must be finite, got {value!r}")
    return number


def _numbers(values: Sequence[Any], field: str) -> FloatArray:
    """A list of inline numbers as a float64 vector."""
    return np.array([_number(v, field, j) for j, v in enumerate(values)], dtype=np.float64)


def _length(value: object, field: str) -> int:
    """How many items a list, tuple or NumPy array holds, read before touching any item."""
    if isinstance(value, list | tuple) or (isinstance(value, np.ndarray) and value.ndim > 0):
        return len(value)
    raise ValueError(f"{field} must be a list, got {describe(value)}")


def _as_list(value: Any) -> list[Any]:
    """A value ``_length`` accepted, as a list one level deep (an array's rows stay arrays)."""
    if isinstance(value, np.ndarray):
        return value.tolist() if value.ndim == 1 else list(value)
    return list(value)


def _check_counts(spec: Mapping[str, Any], limits: DataLimits) -> None:
    """Row counts of ``data.X`` and ``data.y``, checked before any value is read."""
    n = _length(spec["X"], "data.X")
    if n == 0:
        raise ValueError("data.X must have at least one row")
    if n > limits.max_samples:
        raise ValueError(f"data.X has {n} rows; the limit is max_samples={limits.max_samples}")
    n_y = _length(spec["y"], "data.y")
    if n_y != n:
        raise ValueError(f"data.y has {n_y} values but data.X has {n} rows")


def _inline_features(rows: list[Any], limits: DataLimits) -> FloatArray:
    """``data.X`` as ``(n, d)``; a flat list is one feature; each row's length before its values."""
    if not any(isinstance(row, list | tuple | np.ndarray) for row in rows):
        return _numbers(rows, "data.X")[:, None]
    d = _length(rows[0], "data.X[0]")
    if not 1 <= d <= limits.max_features:
        raise ValueError(
            f"data.X rows have {d} values; need 1 to max_features={limits.max_features}"
        )
    out = np.empty((len(rows), d), dtype=np.float64)
    for i, row in enumerate(rows):
        length = _length(row, f"data.X[{i}]")
        if length != d:
            raise ValueError(
                f"data.X[{i}] has {length} values but data.X[0] has {d}; "
                "rows must all be the same length"
            )
        out[i] = _numbers(_as_list(row), f"data.X[{i}]")
    return out


def _names(value: object, field: str, count: int) -> tuple[str, ...]:
    """``count`` distinct, non-empty names from a list of strings."""
    length = _length(value, field)
    if length != count:
        raise ValueError(f"{field} has {length} names but there are {count} features")
    names = _as_list(value)
    for j, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{field}[{j}] must be a non-empty string, got {describe(name)}")
    repeat = _first_repeat(names)
    if repeat is not None:
        i, j = repeat
        raise ValueError(
            f"{field} must not repeat a name; {_short(names[j])} is at [{i}] and [{j}]"
        )
    return tuple(names)


def parse_inline(spec: Mapping[str, Any], limits: DataLimits) -> RawData:
    """Inline ``{"X": [[...]], "y": [...]}`` data, checked and converted to float64."""
    if "X" not in spec or "y" not in spec:
        raise ValueError("data: inline data needs both 'X' and 'y'")
    _check_counts(spec, limits)
    X = _inline_features(_as_list(spec["X"]), limits)
    y_list = _as_list(spec["y"])
    if any(isinstance(v, list | tuple | np.ndarray) for v in y_list):
        raise ValueError("data.y must be a flat (1-D) list of numbers")
    y = _numbers(y_list, "data.y")
    default_names = [f"x{j + 1}" for j in range(X.shape[1])]
    names = _names(spec.get("feature_names", default_names), "data.feature_names", X.shape[1])
    target = spec.get("target_name", "y")
    if not isinstance(target, str) or not target.strip():
        raise ValueError(f"data.target_name must be a non-empty string, got {describe(target)}")
    task, n_classes = infer_task(y, spec.get("task"), "data.y")
    return RawData(X, y, task, n_classes, names, target)


def _is_number(text: str) -> bool:
    """Whether a CSV cell parses as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def _header(cells: list[str], line: int, limits: DataLimits) -> list[str]:
    """Column names from the header row: the count first, then numbers, blanks and repeats."""
    if len(cells) - 1 > limits.max_features:
        raise ValueError(
            f"data.csv line {line}: {len(cells) - 1} feature columns; "
            f"the limit is max_features={limits.max_features}"
        )
    if len(cells) < 2:
        raise ValueError(f"data.csv line {line}: need at least one feature column and a target")
    names = [cell.strip() for cell in cells]
    if all(_is_number(name) for name in names):
        raise ValueError(
            f"data.csv line {line}: looks like numbers, not column names; "
            "the first row must be a header"
        )
    if "" in names:
        raise ValueError(f"data.csv line {line}: column {names.index('') + 1} has an empty name")
    repeat = _first_repeat(names)
    if repeat is not None:
        i, j = repeat
        raise ValueError(
            f"data.csv line {line}: duplicate column name {_short(names[j])} "
            f"(columns {i + 1} and {j + 1})"
        )
    return names


def _csv_error(exc: csv.Error, line: int) -> ValueError:
    """The reader's error in the house words; ``line`` is where the failing row starts."""
    message = str(exc)
    if message.startswith("field larger than field limit"):
        message = f"a cell is longer than {csv.field_size_limit()} characters"
    return ValueError(f"data.csv line {line}: {message}")


def _read_rows(text: str, limits: DataLimits) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and ``(line number, cells)`` for each data row; blank lines skipped."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")), skipinitialspace=True)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    done = 0  # the last line of the last row read: a row that fails starts after it
    try:
        for cells in reader:
            done = reader.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if header is None:
                header = _header(cells, reader.line_num, limits)
            elif len(rows) >= limits.max_samples:
                raise ValueError(
                    f"data.csv line {reader.line_num}: more than {limits.max_samples} data "
                    f"rows; the limit is max_samples={limits.max_samples}"
                )
            elif len(cells) != len(header):
                raise ValueError(
                    f"data.csv line {reader.line_num}: expected {len(header)} cells "
                    f"(one per header column), got {len(cells)}"
                )
            else:
                rows.append((reader.line_num, cells))
    except csv.Error as exc:
        raise _csv_error(exc, done + 1) from None
    if header is None:
        raise ValueError("data.csv is empty; a header row is required")
    if not rows:
        raise ValueError("data.csv has a header but no data rows")
    return header, rows


def _cell(cell: str, line: int, column: str) -> float:
    """One CSV cell as a finite float, or a ValueError naming its line and column."""
    try:
        number = float(cell)
    except ValueError:
        raise ValueError(
            f"data.csv line {line}, column {_short(column)}: could not parse {_short(cell)} "
            "as a number"
        ) from None
    if not math.isfinite(number):
        raise ValueError(
            f"data.csv line {line}, column {_short(column)}: {_short(cell.strip())} "
            "is not a finite number"
        )
    return number


def _target_index(header: list[str], target: object) -> int:
    """Index of the target column; the last column when none is named."""
    if target is None:
        return len(header) - 1
    if not isinstance(target, str):
        raise ValueError(f"data.target must be a column name, got {describe(target)}")
    if target.strip() not in header:
        raise ValueError(
            f"data.target: column {_short(target)} is not in the CSV header; "
            f"columns: {', '.join(_cut(name) for name in header)}"
        )
    return header.index(target.strip())


def parse_csv(spec: Mapping[str, Any], limits: DataLimits) -> RawData:
    """CSV text with a header row; every cell numeric; target defaults to the last column."""
    text = spec["csv"]
    if not isinstance(text, str):
        raise ValueError(f"data.csv must be CSV text (a string), got {describe(text)}")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_csv_bytes:
        raise ValueError(
            f"data.csv is {size} bytes; the limit is max_csv_bytes={limits.max_csv_bytes}"
        )
    header, rows = _read_rows(text, limits)
    target = _target_index(header, spec.get("target"))
    table = np.empty((len(rows), len(header)), dtype=np.float64)
    for i, (line, cells) in enumerate(rows):
        table[i] = [_cell(cell, line, header[j]) for j, cell in enumerate(cells)]
    features = [j for j in range(len(header)) if j != target]
    y = table[:, target].copy()
    task, n_classes = infer_task(y, spec.get("task"), f"data.csv column {_short(header[target])}")
    names = tuple(header[j] for j in features)
    return RawData(
        np.ascontiguousarray(table[:, features]), y, task, n_classes, names, header[target]
    )
