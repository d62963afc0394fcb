"""Datasets: seeded built-in generators and user data (inline or CSV), as float64 arrays.

``make_dataset(spec)`` takes the session config's ``data`` object in one of three forms
(a generator ``name`` and its options, inline ``X``/``y``, or ``csv`` text), then applies
the common options ``validation_split`` and ``standardize``. Every bad input is a
``ValueError`` whose message names the field (``data.n_samples``, ``data.csv line 4``).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradscape.core.tasks import DEFAULT_DATA_LIMITS, TASKS, DataLimits
from gradscape.core.types import FloatArray
from gradscape.core.userdata import (
    CSV_KEYS,
    INLINE_KEYS,
    RawData,
    as_float,
    describe,
    parse_csv,
    parse_inline,
)

COMMON_KEYS = frozenset({"seed", "standardize", "validation_split"})
MAX_NOISE = 10.0
MAX_VALIDATION_SPLIT = 0.9
# Own stream for the validation shuffle, so the split does not depend on how many draws
# a generator made.
_SPLIT_STREAM = 1


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training features ``X`` ``(n, d)`` and targets ``y`` ``(n,)``, plus an optional split.

    Class labels are stored in ``y`` as floats ``0.0, 1.0, ...``. ``mean``/``std`` ``(d,)``
    are the training-split statistics already applied to ``X`` and ``X_val`` when
    standardised. Treat the arrays as read-only.
    """

    X: FloatArray
    y: FloatArray
    task: str
    n_classes: int | None
    feature_names: tuple[str, ...]
    target_name: str
    X_val: FloatArray | None = None
    y_val: FloatArray | None = None
    mean: FloatArray | None = None
    std: FloatArray | None = None

    def __post_init__(self) -> None:
        """Check shapes and labels agree."""
        n, d = self.X.shape if self.X.ndim == 2 else (-1, -1)
        if n < 1 or d < 1 or self.y.shape != (n,) or len(self.feature_names) != d:
            raise ValueError(f"Dataset: X {self.X.shape}, y {self.y.shape} do not match")
        if self.task not in TASKS or (self.task == "regression") != (self.n_classes is None):
            raise ValueError(f"Dataset: task {self.task!r} with n_classes {self.n_classes}")
        if (self.X_val is None) != (self.y_val is None):
            raise ValueError("Dataset: X_val and y_val must be given together")

    @property
    def n_samples(self) -> int:
        """Number of training rows n."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features d."""
        return int(self.X.shape[1])


# ---------------------------------------------------------------------------- generators

_Rng = np.random.Generator
_Opts = Mapping[str, Any]
_Pair = tuple[FloatArray, FloatArray]
Generate = Callable[[_Rng, int, float, _Opts], _Pair]


@dataclass(frozen=True)
class Option:
    """One generator option: default, inclusive bounds (``high`` None = unbounded), type."""

    default: int | float
    low: int | float
    high: int | float | None
    type: str  # "int" | "float"

    def as_dict(self) -> dict[str, Any]:
        """The catalog form ``{"default", "min", "max", "type"}``."""
        return {"default": self.default, "min": self.low, "max": self.high, "type": self.type}


@dataclass(frozen=True)
class DatasetInfo:
    """A built-in generator and its catalog entry."""

    task: str
    description: str
    generate: Generate
    feature_names: tuple[str, ...]
    target_name: str
    noise: float | None  # default noise; None for a fixed dataset that takes no options
    extra: Mapping[str, Option]  # options beyond n_samples, noise and seed


def _shuffled(rng: _Rng, X: FloatArray, y: FloatArray, noise: float) -> _Pair:
    """Add Gaussian noise of std ``noise`` to ``X``, then shuffle the rows."""
    X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(y))
    return X[order], y[order]


def _pass_fail(rng: _Rng, n: int, noise: float, opts: _Opts) -> _Pair:
    """The chapter's four students: hours of study and sleep -> passed."""
    X = np.array([[5.0, 7.0], [3.0, 4.0], [8.0, 6.0], [2.0, 3.0]])
    return X, np.array([1.0, 0.0, 1.0, 0.0])


def _line(rng: _Rng, n: int, noise: float, opts: _Opts) -> _Pair:
    """``y = slope * x + intercept + noise * N(0, 1)``, ``x ~ U[-1, 1]``."""
    x = rng.uniform(-1.0, 1.0, size=n)
    y = opts["slope"] * x + opts["intercept"] + noise * rng.standard_normal(n)
    return x[:, None], y


def _sine(rng: _Rng, n: int, noise: float, opts: _Opts) -> _Pair:
    """``y = sin(x) + noise * N(0, 1)``, ``x ~ U[-pi, pi]``."""
    x = rng.uniform(-np.pi, np.pi, size=n)
    return x[:, None], np.sin(x) + noise * rng.standard_normal(n)


def _xor(rng: _Rng, n: int, noise: float, opts: _Opts) -> _Pair:
    """Four clusters at ``(+-1, +-1)``; label 1 where the two signs differ."""
    corners = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, -1.0], [-1.0, 1.0]])
    cluster = np.arange(n) % 4
    return _shuffled(rng, corners[cluster], (cluster % 2).astype(np.float64), noise)


def _halves(n: int) -> tuple[int, int, FloatArray]:
    """sklearn's split: ``n // 2`` outer (label 0), the rest inner (label 1)."""
    n_out = n // 2
    return n_out, n - n_out, np.repeat([0.0, 1.0], [n_out, n - n_out])


def _circles(rng: _Rng, n: int, noise: float, opts: _Opts) -> _Pair:
    """sklearn ``make_circles``: unit circle (0) around a circle of radius ``factor`` (1)."""
    n_out, n_in, y = _halves(n)
    t_out = np.linspace(0.0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0.0, 2 * np.pi, n_in, endpoint=False)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = opts["factor"] * np.column_stack([np.cos(t_in), np.sin(t_in)])
    return _shuffled(rng, np.vstack([outer, inner]), y, noise)


def _moons(rng: _Rng, n: int, noise: float, opts: _Opts) -> _Pair:
    """sklearn ``make_moons``: upper unit half-circle (0) and a shifted lower one (1)."""
    n_out, n_in, y = _halves(n)
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    outer = np.column_stack([np.cos(t_out), np.sin(t_out)])
    inner = np.column_stack([1.0 - np.cos(t_in), 0.5 - np.sin(t_in)])
    return _shuffled(rng, np.vstack([outer, inner]), y, noise)


def _blobs(rng: _Rng, n: int, noise: float, opts: _Opts) -> _Pair:
    """``classes`` Gaussian clusters of std ``noise``, centred evenly on a circle of radius 3."""
    k = int(opts["classes"])
    angle = 2 * np.pi * np.arange(k) / k
    centers = 3.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    label = np.arange(n) % k
    return _shuffled(rng, centers[label], label.astype(np.float64), noise)


def _spiral(rng: _Rng, n: int, noise: float, opts: _Opts) -> _Pair:
    """CS231n spiral: arm j has radius 0..1 and angle 4j..4(j+1) plus ``noise`` N(0, 1)."""
    k = int(opts["classes"])
    counts = [n // k + (j < n % k) for j in range(k)]
    parts = []
    for j, m in enumerate(counts):
        r = np.linspace(0.0, 1.0, m)
        t = np.linspace(4.0 * j, 4.0 * (j + 1), m) + noise * rng.standard_normal(m)
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
    y = np.repeat(np.arange(k, dtype=np.float64), counts)
    return _shuffled(rng, np.vstack(parts), y, 0.0)


_CLASSES = Option(3, 2, 10, "int")
_LINE_OPTIONS = {
    "slope": Option(2.0, -10.0, 10.0, "float"),
    "intercept": Option(1.0, -10.0, 10.0, "float"),
}
_XY = ("x1", "x2")

DATASETS: dict[str, DatasetInfo] = {
    "pass-fail": DatasetInfo(
        "binary",
        "The chapter's four students: hours of study and sleep, and whether each passed.",
        _pass_fail, ("study", "sleep"), "pass", None, {},
    ),
    "line": DatasetInfo(
        "regression",
        "Points on a straight line y = slope * x + intercept with Gaussian noise.",
        _line, ("x",), "y", 0.1,
        _LINE_OPTIONS,
    ),
    "sine": DatasetInfo(
        "regression",
        "One period of y = sin(x) for x in [-pi, pi] with Gaussian noise.",
        _sine, ("x",), "y", 0.1, {},
    ),
    "xor": DatasetInfo(
        "binary",
        "Four Gaussian clusters at the corners (+-1, +-1); the label is the XOR of the signs.",
        _xor, _XY, "label", 0.3, {},
    ),
    "circles": DatasetInfo(
        "binary",
        "A small circle inside a large one (sklearn make_circles); factor is the radius ratio.",
        _circles, _XY, "label", 0.05, {"factor": Option(0.5, 0.0, 0.99, "float")},
    ),
    "moons": DatasetInfo(
        "binary",
        "Two interleaving half-circles (sklearn make_moons).",
        _moons, _XY, "label", 0.1, {},
    ),
    "blobs": DatasetInfo(
        "multiclass",
        "Gaussian clusters, one per class, evenly spaced on a circle (binary when classes=2).",
        _blobs, _XY, "label", 0.5, {"classes": _CLASSES},
    ),
    "spiral": DatasetInfo(
        "multiclass",
        "Interleaved spiral arms, one per class (the CS231n spiral); noise jitters the angle.",
        _spiral, _XY, "label", 0.2, {"classes": _CLASSES},
    ),
}  # fmt: skip


def _common_options(noise: float, limits: DataLimits) -> dict[str, Option]:
    """``n_samples``, ``noise`` and ``seed``, with bounds under ``limits``."""
    return {
        "n_samples": Option(min(200, limits.max_samples), 1, limits.max_samples, "int"),
        "noise": Option(noise, 0.0, MAX_NOISE, "float"),
        "seed": Option(0, 0, None, "int"),
    }


def _options(info: DatasetInfo, limits: DataLimits) -> dict[str, Option]:
    """The options a generator shows in the catalog (none for a fixed dataset)."""
    if info.noise is None:
        return {}
    return {**_common_options(info.noise, limits), **info.extra}


def dataset_specs(limits: DataLimits = DEFAULT_DATA_LIMITS) -> dict[str, dict[str, Any]]:
    """Catalog entries ``{name: {"task", "description", "options"}}`` for every generator."""
    return {
        name: {
            "task": info.task,
            "description": info.description,
            "options": {key: opt.as_dict() for key, opt in _options(info, limits).items()},
        }
        for name, info in DATASETS.items()
    }


# ------------------------------------------------------------------------------ checking


def _fmt(value: int | float) -> str:
    """A bound as written in messages: ``10000``, ``0.5``."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def _check_option(key: str, value: object, opt: Option) -> int | float:
    """``value`` checked against ``opt``'s type and bounds; a ValueError naming ``data.key``."""
    if opt.type == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"data.{key} must be an integer, got {describe(value)}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"data.{key} must be a number, got {describe(value)}")
    if opt.type == "int":
        number: int | float = value  # an int is finite, whatever its size
    else:
        number = as_float(value, f"data.{key}")
        if not math.isfinite(number):
            raise ValueError(f"data.{key} must be finite, got {value!r}")
    if opt.high is None and number < opt.low:
        raise ValueError(f"data.{key} must be at least {_fmt(opt.low)}, got {value!r}")
    if opt.high is not None and not opt.low <= number <= opt.high:
        raise ValueError(
            f"data.{key} must be between {_fmt(opt.low)} and {_fmt(opt.high)}, got {value!r}"
        )
    return number


def _check_keys(spec: Mapping[str, Any], allowed: frozenset[str], what: str) -> None:
    """Reject any key of ``spec`` outside ``allowed``."""
    unknown = sorted(str(key) for key in spec if key not in allowed)
    if unknown:
        raise ValueError(
            f"data: unknown option {unknown[0]!r} for {what}; allowed: {', '.join(sorted(allowed))}"
        )


def _dataset_info(name: object) -> DatasetInfo:
    """The registry entry for ``data.name``."""
    if not isinstance(name, str):
        raise ValueError(f"data.name must be a string, got {describe(name)}")
    if name not in DATASETS:
        close = difflib.get_close_matches(name, DATASETS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"data.name: unknown dataset {name!r}{hint}; known: {', '.join(DATASETS)}")
    return DATASETS[name]


def _generated(spec: Mapping[str, Any], seed: int, limits: DataLimits) -> RawData:
    """Run the built-in generator named by ``spec["name"]``."""
    info = _dataset_info(spec["name"])
    # A fixed dataset (pass-fail) still accepts, checks and ignores n_samples and noise,
    # so a config that switches to it from another generator stays valid.
    accepted = {**_common_options(info.noise or 0.0, limits), **info.extra}
    _check_keys(spec, frozenset(accepted) | COMMON_KEYS | {"name"}, f"dataset {spec['name']!r}")
    opts = {
        key: _check_option(key, spec.get(key, opt.default), opt) for key, opt in accepted.items()
    }
    n_samples, noise = int(opts.pop("n_samples")), float(opts.pop("noise"))
    del opts["seed"]  # already applied: it is ``seed`` here
    X, y = info.generate(np.random.default_rng(seed), n_samples, noise, opts)
    n_classes = None if info.task == "regression" else int(opts.get("classes", 2))
    task = info.task if n_classes is None else ("binary" if n_classes == 2 else "multiclass")
    X = np.ascontiguousarray(X, dtype=np.float64)
    return RawData(
        X, np.asarray(y, dtype=np.float64), task, n_classes, info.feature_names, info.target_name
    )


def _form(spec: Mapping[str, Any]) -> str:
    """Which of the three forms ``spec`` is: ``"name"``, ``"inline"`` or ``"csv"``."""
    forms = [
        form
        for form, present in (
            ("name", "name" in spec),
            ("inline", "X" in spec or "y" in spec),
            ("csv", "csv" in spec),
        )
        if present
    ]
    if len(forms) != 1:
        raise ValueError(
            "data must have exactly one of 'name' (a built-in dataset), 'X' and 'y' "
            f"(inline arrays) or 'csv' (CSV text); got keys: {', '.join(map(str, spec)) or 'none'}"
        )
    return forms[0]


# ------------------------------------------------------------- split and standardisation


def _split(
    X: FloatArray, y: FloatArray, fraction: float, seed: int
) -> tuple[FloatArray, FloatArray, FloatArray | None, FloatArray | None]:
    """Hold out ``round(fraction * n)`` shuffled rows (at least 1, at most ``n - 1``)."""
    if fraction == 0.0:
        return X, y, None, None
    n = len(y)
    if n < 2:
        raise ValueError(f"data.validation_split needs at least 2 samples, got {n}")
    n_val = min(max(math.floor(fraction * n + 0.5), 1), n - 1)
    order = np.random.default_rng([seed, _SPLIT_STREAM]).permutation(n)
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    return X[train], y[train], X[val], y[val]


def _standardize(
    X: FloatArray, X_val: FloatArray | None
) -> tuple[FloatArray, FloatArray | None, FloatArray, FloatArray]:
    """z-score ``X`` (and ``X_val``) with ``X``'s column mean and std; constant columns std 1."""
    # Work on columns scaled to [-1, 1] so huge values cannot overflow the variance.
    constant = np.all(X[0] == X, axis=0)
    scale = np.where(constant, 1.0, np.max(np.abs(X), axis=0))
    Xs = X / scale
    mean_s = np.where(constant, Xs[0], Xs.mean(axis=0))
    std_s = np.where(constant, 1.0, Xs.std(axis=0))
    try:
        with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
            Z = (Xs - mean_s) / std_s
            Z_val = None if X_val is None else (X_val / scale - mean_s) / std_s
    except FloatingPointError:
        raise ValueError("data.standardize: feature values too large to standardise") from None
    return Z, Z_val, mean_s * scale, std_s * scale


def _fraction(value: object) -> float:
    """``data.validation_split`` as a float in [0, 0.9]."""
    opt = Option(0.0, 0.0, MAX_VALIDATION_SPLIT, "float")
    return float(_check_option("validation_split", value, opt))


def _flag(value: object) -> bool:
    """``data.standardize`` as a bool."""
    if not isinstance(value, bool):
        raise ValueError(f"data.standardize must be true or false, got {describe(value)}")
    return value


def make_dataset(
    spec: Mapping[str, Any], *, seed: int = 0, limits: DataLimits = DEFAULT_DATA_LIMITS
) -> Dataset:
    """The dataset the config's ``data`` object describes; ``data.seed`` defaults to ``seed``."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"data must be an object, got {describe(spec)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {describe(seed)}")
    data_seed = int(_check_option("seed", spec.get("seed", seed), Option(0, 0, None, "int")))
    fraction = _fraction(spec.get("validation_split", 0.0))
    standardize = _flag(spec.get("standardize", False))
    form = _form(spec)
    if form == "name":
        raw = _generated(spec, data_seed, limits)
    elif form == "inline":
        _check_keys(spec, INLINE_KEYS | COMMON_KEYS, "inline data")
        raw = parse_inline(spec, limits)
    else:
        _check_keys(spec, CSV_KEYS | COMMON_KEYS, "CSV data")
        raw = parse_csv(spec, limits)
    X, y, X_val, y_val = _split(raw.X, raw.y, fraction, data_seed)
    mean = std = None
    if standardize:
        X, X_val, mean, std = _standardize(X, X_val)
    contiguous = np.ascontiguousarray
    return Dataset(
        contiguous(X), contiguous(y), raw.task, raw.n_classes, raw.feature_names,
        raw.target_name, None if X_val is None else contiguous(X_val),
        None if y_val is None else contiguous(y_val), mean, std,
    )  # fmt: skip
