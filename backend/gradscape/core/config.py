"""Session configs: merge a preset with explicit fields, validate, build the pieces.

A config is one JSON-able dict (the shape in DESIGN.md) shared by the API, exports,
the CLI and the page's URL. ``build`` returns it normalised (every field filled),
so config + event log replays a session bit for bit.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradscape.core.data import Dataset, make_dataset
from gradscape.core.functions import make_function
from gradscape.core.losses import get_loss
from gradscape.core.nn import MLP
from gradscape.core.optim import make_optimizer, validate_schedule
from gradscape.core.presets import DEFAULT_PRESET, preset_config
from gradscape.core.tasks import DataLimits
from gradscape.core.types import Model

CONFIG_FIELDS = (
    "preset",
    "data",
    "model",
    "loss",
    "optimizer",
    "schedule",
    "clip_norm",
    "batch_size",
    "seed",
    "init_params",
)
MAX_SEED = 2**32 - 1


@dataclass(frozen=True)
class Limits:
    """Size limits for what a config may ask for (the service publishes its own)."""

    max_samples: int = 10_000
    max_features: int = 64
    max_hidden_layers: int = 8
    max_width: int = 256
    max_params: int = 100_000
    max_csv_bytes: int = 2_000_000

    def data_limits(self) -> DataLimits:
        """The part of these limits that the dataset builder checks."""
        return DataLimits(
            max_samples=self.max_samples,
            max_features=self.max_features,
            max_csv_bytes=self.max_csv_bytes,
        )


@dataclass(frozen=True)
class Built:
    """A validated config and the objects it describes."""

    config: dict[str, Any]
    model: Model
    dataset: Dataset | None
    theta0: np.ndarray = field(repr=False)


def _kind(key: str, obj: Mapping[str, Any]) -> Any:
    """What makes two objects of one field different kinds (then they replace, not merge)."""
    if key == "optimizer":
        return obj.get("name")
    if key == "model":
        return obj.get("function")
    if key == "data":
        for kind in ("csv", "X"):
            if kind in obj:
                return kind
        return obj.get("name")
    return None


def merge(raw: Mapping[str, Any] | None) -> tuple[dict[str, Any], bool]:
    """Deep-merge explicit fields over their preset; also say if init came from the user.

    A new ``optimizer.name``, a different kind of ``data`` (another dataset, inline
    arrays or CSV) or of ``model`` (layers or an analytic function) replaces that object.
    """
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown config field; known: {', '.join(CONFIG_FIELDS)}")
    merged = preset_config(raw.get("preset") or DEFAULT_PRESET)
    merged["preset"] = raw.get("preset")
    for key, value in raw.items():
        base = merged.get(key)
        value = copy.deepcopy(value)
        if not isinstance(value, Mapping) or not isinstance(base, Mapping):
            merged[key] = value
            continue
        probe = {**base, **value} if key == "data" and _kind(key, value) is None else value
        same = key not in ("optimizer", "model", "data") or _kind(key, probe) == _kind(key, base)
        merged[key] = {**base, **value} if same else dict(value)
    return merged, "init_params" in raw


def check_int(value: Any, name: str, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi]``, else a ``ValueError`` naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def check_float(value: Any, name: str, lo: float, hi: float, *, open_lo: bool = False) -> float:
    """A finite number in ``[lo, hi]`` (or ``(lo, hi]``), else a ``ValueError`` naming it."""
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.floating)
    if ok:
        v = float(value)
        ok = math.isfinite(v) and (v > lo if open_lo else v >= lo) and v <= hi
    if not ok:
        bracket = "(" if open_lo else "["
        raise ValueError(f"{name} must be a finite number in {bracket}{lo}, {hi}], got {value!r}")
    return float(value)


def _build_mlp(spec: Mapping[str, Any], ds: Dataset, loss: str, limits: Limits) -> MLP:
    unknown = sorted(set(spec) - {"hidden", "activation", "init"})
    if unknown:
        raise ValueError(f"model.{unknown[0]}: unknown model option")
    hidden = spec.get("hidden", [])
    if not isinstance(hidden, list | tuple) or len(hidden) > limits.max_hidden_layers:
        raise ValueError(f"model.hidden must be a list of at most {limits.max_hidden_layers} sizes")
    sizes = [check_int(h, f"model.hidden[{i}]", 1, limits.max_width) for i, h in enumerate(hidden)]
    loss_fn = get_loss(loss)
    n_out = _check_task(ds, loss_fn.name)
    model = MLP(ds.n_features, sizes, n_out, spec.get("activation", "tanh"), loss, spec.get("init"))
    if model.n_params > limits.max_params:
        raise ValueError(f"model has {model.n_params} parameters; the limit is {limits.max_params}")
    return model


def _check_task(ds: Dataset, loss: str) -> int:
    """The output width the loss needs on this data, or a ``ValueError``."""
    if loss == "mse":
        return 1
    classes = ds.n_classes
    if loss == "bce":
        if ds.task != "binary":
            raise ValueError("loss: 'bce' needs binary 0/1 targets; use 'mse' or 'cross_entropy'")
        return 1
    if classes is None or classes < 2:
        raise ValueError("loss: 'cross_entropy' needs class labels 0..k-1 (k >= 2)")
    return classes


def _normalize_model_spec(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, Mapping):
        raise ValueError("model must be an object")
    if "function" in spec:
        return dict(spec)
    out = {"hidden": [], "activation": "tanh", "init": "xavier", **spec}
    if isinstance(out.get("hidden"), tuple):
        out["hidden"] = list(out["hidden"])
    return out


def _build_model(cfg: dict[str, Any], limits: Limits) -> tuple[Model, Dataset | None]:
    spec = _normalize_model_spec(cfg["model"])
    cfg["model"] = spec
    if "function" in spec:
        options = {k: v for k, v in spec.items() if k != "function"}
        cfg["data"], cfg["loss"], cfg["batch_size"] = None, None, None
        return make_function(spec["function"], **options), None
    if not isinstance(cfg.get("data"), Mapping):
        raise ValueError("data: a network needs data (a dataset name, inline X/y or CSV)")
    ds = make_dataset(cfg["data"], seed=cfg["seed"], limits=limits.data_limits())
    if not isinstance(cfg.get("loss"), str):
        raise ValueError(f"loss: must be one of mse, bce, cross_entropy, got {cfg.get('loss')!r}")
    return _build_mlp(spec, ds, cfg["loss"], limits), ds


def check_batch_size(value: Any, n: int | None) -> int | None:
    """``None`` (full batch) or an integer in ``[1, n]``; ``n`` itself means full batch."""
    if value is None:
        return None
    if n is None:
        raise ValueError("batch_size: not applicable to an analytic surface (use null)")
    size = check_int(value, "batch_size", 1, n)
    return None if size == n else size


def _init_params(cfg: dict[str, Any], model: Model, from_user: bool) -> np.ndarray:
    raw = cfg.get("init_params")
    if raw is not None and not from_user and len(raw) != model.n_params:
        raw = None  # the preset's start belongs to the preset's model shape
    if raw is None:
        cfg["init_params"] = None
        return model.init_params(np.random.default_rng(cfg["seed"]))
    if not isinstance(raw, list | tuple | np.ndarray) or len(raw) != model.n_params:
        got = len(raw) if isinstance(raw, list | tuple | np.ndarray) else type(raw).__name__
        raise ValueError(f"init_params must be a list of {model.n_params} numbers, got {got}")
    theta = np.array([check_float(v, f"init_params[{i}]", -1e6, 1e6) for i, v in enumerate(raw)])
    cfg["init_params"] = theta.tolist()
    return theta


def build(raw: Mapping[str, Any] | None, limits: Limits | None = None) -> Built:
    """Validate a config (merged over its preset) and build its dataset, model and theta_0."""
    limits = limits or Limits()
    cfg, from_user = merge(raw)
    cfg["seed"] = check_int(cfg.get("seed", 0), "seed", 0, MAX_SEED)
    model, ds = _build_model(cfg, limits)
    cfg["batch_size"] = check_batch_size(cfg.get("batch_size"), ds.n_samples if ds else None)
    opt = cfg.get("optimizer") or {"name": "sgd"}
    if not isinstance(opt, Mapping):
        raise ValueError("optimizer must be an object with a name")
    name = opt.get("name", "sgd")
    hyper = {k: v for k, v in opt.items() if k != "name"}
    cfg["optimizer"] = {"name": name, **make_optimizer(name, model.n_params, **hyper).hyper}
    cfg["schedule"] = validate_schedule(cfg.get("schedule"))
    clip = cfg.get("clip_norm")
    cfg["clip_norm"] = (
        None if clip is None else check_float(clip, "clip_norm", 0, 1e6, open_lo=True)
    )
    theta0 = _init_params(cfg, model, from_user)
    return Built(cfg, model, ds, theta0)
