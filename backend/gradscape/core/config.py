"""Session configs: explicit fields over a preset or neutral defaults, validated and built.

A config is one JSON-able dict (the shape in DESIGN.md) shared by the API, exports,
the CLI and the page's URL. ``build`` returns it normalised (every field filled, and
building that again gives the same config and theta_0), so config + event log
replays a session bit for bit.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradscape.core.checkpoints import CHECKPOINT_BYTES
from gradscape.core.data import Dataset, make_dataset
from gradscape.core.functions import make_function
from gradscape.core.init import init_for
from gradscape.core.losses import OUTPUTS, get_loss
from gradscape.core.nn import MLP
from gradscape.core.optim import make_optimizer, validate_schedule
from gradscape.core.presets import DEFAULT_DATASET, DEFAULT_PRESET, neutral_config, preset_config
from gradscape.core.tasks import TASK_LOSS, DataLimits
from gradscape.core.types import Model
from gradscape.core.userdata import as_float

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
#: Fields whose object is replaced whole, not merged, by one of another kind.
KINDED = ("optimizer", "model", "data")


@dataclass(frozen=True)
class Limits:
    """Size limits for what a config may ask for (the service publishes its own).

    ``checkpoint_bytes`` is the budget of the states one run keeps to rebuild its past;
    ``max_steps`` the step count a run may reach, which sets where those states sit.
    """

    max_samples: int = 10_000
    max_features: int = 64
    max_hidden_layers: int = 8
    max_width: int = 256
    max_params: int = 100_000
    max_csv_bytes: int = 2_000_000
    checkpoint_bytes: int = CHECKPOINT_BYTES
    max_steps: int = 1_000_000

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


@dataclass(frozen=True)
class Merged:
    """Explicit fields over their base, and the start a preset keeps for its own model only.

    ``offer`` holds the base preset's ``init_params`` and ``init: zeros``: they describe
    the preset's model on the preset's data, so ``build`` uses them only for that shape.
    ``config["loss"]`` None means "the data's task decides".
    """

    config: dict[str, Any]
    offer: dict[str, Any]
    preset: str | None  # the preset the offer belongs to


def merge(raw: Mapping[str, Any] | None) -> Merged:
    """Put explicit fields over their base: a preset, or neutral defaults for own data or model.

    ``{}`` and configs without ``data`` and ``model`` start from pass-fail. A new
    ``optimizer.name``, a different kind of ``data`` (another dataset, inline arrays or
    CSV) or of ``model`` (layers or an analytic function) replaces that object.
    """
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(CONFIG_FIELDS))
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown config field; known: {', '.join(CONFIG_FIELDS)}")
    name = raw.get("preset")
    own = name is None and ("data" in raw or "model" in raw)
    base = None if own else (name or DEFAULT_PRESET)
    merged = neutral_config() if base is None else preset_config(base)
    merged["preset"] = name
    replaced = _merge_fields(merged, raw)
    offer = {} if base is None else _take_offer(merged, raw)
    if replaced & {"data", "model"}:
        offer = {}  # another kind of data or model: the preset's start means nothing there
    if "data" in replaced and "loss" not in raw:
        merged["loss"] = None
    return Merged(merged, offer, base)


def _merge_fields(merged: dict[str, Any], raw: Mapping[str, Any]) -> set[str]:
    """Merge each explicit field into ``merged``; return the fields replaced by another kind."""
    replaced: set[str] = set()
    for key, value in raw.items():
        merged[key], same = _merge_one(key, merged.get(key), copy.deepcopy(value))
        if not same:
            replaced.add(key)
    return replaced


def _merge_one(key: str, base: Any, value: Any) -> tuple[Any, bool]:
    """``value`` over ``base`` for one field, and whether it is still the same kind."""
    if not (isinstance(value, Mapping) and isinstance(base, Mapping)):
        return value, value == base
    kind = _kind(key, value)
    # Without a name or form, data or optimizer options are for the object already there.
    same = key not in KINDED or (kind is None and key != "model") or kind == _kind(key, base)
    return ({**base, **value} if same else dict(value)), same


def _take_offer(merged: dict[str, Any], raw: Mapping[str, Any]) -> dict[str, Any]:
    """Move the preset's ``init_params`` and zero init (those the user did not give) aside."""
    offer: dict[str, Any] = {}
    if "init_params" not in raw and merged.get("init_params") is not None:
        offer["init_params"] = merged["init_params"]
        merged["init_params"] = None
    model, given = merged.get("model"), raw.get("model")
    user_init = isinstance(given, Mapping) and "init" in given
    if isinstance(model, dict) and model.get("init") == "zeros" and not user_init:
        offer["init"] = model.pop("init")
    return offer


def check_int(value: Any, name: str, lo: int, hi: int) -> int:
    """An integer in ``[lo, hi]``, else a ``ValueError`` naming the field."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def check_float(value: Any, name: str, lo: float, hi: float, *, open_lo: bool = False) -> float:
    """A finite number in ``[lo, hi]`` (or ``(lo, hi]``), else a ``ValueError`` naming it."""
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.floating)
    if ok:
        v = as_float(value, name)
        ok = math.isfinite(v) and (v > lo if open_lo else v >= lo) and v <= hi
    if not ok:
        bracket = "(" if open_lo else "["
        raise ValueError(f"{name} must be a finite number in {bracket}{lo}, {hi}], got {value!r}")
    return float(value)


def _layer_sizes(spec: Mapping[str, Any], ds: Dataset, loss: str, limits: Limits) -> list[int]:
    """``[inputs, *hidden, outputs]`` of the network ``spec`` describes on ``ds`` with ``loss``."""
    unknown = sorted(set(spec) - {"hidden", "activation", "init", "output"})
    if unknown:
        raise ValueError(f"model.{unknown[0]}: unknown model option")
    hidden = spec.get("hidden", [])
    if not isinstance(hidden, list | tuple) or len(hidden) > limits.max_hidden_layers:
        raise ValueError(f"model.hidden must be a list of at most {limits.max_hidden_layers} sizes")
    sizes = [check_int(h, f"model.hidden[{i}]", 1, limits.max_width) for i, h in enumerate(hidden)]
    return [ds.n_features, *sizes, _check_task(ds, get_loss(loss).name)]


@functools.cache
def _preset_sizes(name: str) -> tuple[int, ...] | None:
    """The layer sizes of a preset's own network on its own data (None for a surface)."""
    cfg = preset_config(name)
    if "function" in cfg["model"]:
        return None
    ds = make_dataset(cfg["data"], seed=cfg["seed"])
    return tuple(_layer_sizes(cfg["model"], ds, cfg["loss"], Limits()))


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


def _check_output(spec: dict[str, Any], loss: str, ds: Dataset) -> str | None:
    """``model.output``: filled in ("identity") for MSE, its only loss with a choice; a
    sigmoid output needs targets in [0, 1]. Other losses fix their output: left out."""
    if spec.get("output") is None:
        spec.pop("output", None)
        if loss not in OUTPUTS:
            return None
        spec["output"] = "identity"
    out = spec["output"]
    get_loss(loss, out)  # refuses a choice the loss does not have, naming model.output
    if out == "sigmoid":
        ys = [ds.y] if ds.y_val is None else [ds.y, ds.y_val]
        lo, hi = min(float(v.min()) for v in ys), max(float(v.max()) for v in ys)
        if lo < 0 or hi > 1:
            raise ValueError(
                "model.output: 'sigmoid' predicts in (0, 1), so it needs targets in [0, 1]; "
                f"these go from {lo:g} to {hi:g} (use output 'identity')"
            )
    return str(out)


def _normalize_model_spec(spec: Any) -> dict[str, Any]:
    """``model`` with ``hidden`` and ``activation`` filled (``init`` is decided later)."""
    if not isinstance(spec, Mapping):
        raise ValueError("model must be an object")
    if "function" in spec:
        return dict(spec)
    out = {"hidden": [], "activation": "tanh", **spec}
    if isinstance(out.get("hidden"), tuple):
        out["hidden"] = list(out["hidden"])
    return out


def _accept(cfg: dict[str, Any], offer: Mapping[str, Any]) -> None:
    """Use the preset's start: the model has the preset's shape on its kind of data."""
    if "init" in offer:
        cfg["model"]["init"] = offer["init"]
    if "init_params" in offer:
        cfg["init_params"] = offer["init_params"]


def _build_model(
    cfg: dict[str, Any], merged: Merged, limits: Limits
) -> tuple[Model, Dataset | None]:
    """The model and its data; fills ``data``, ``loss`` and ``model.init`` in ``cfg``."""
    spec = _normalize_model_spec(cfg["model"])
    cfg["model"] = spec
    if "function" in spec:
        options = {k: v for k, v in spec.items() if k != "function"}
        cfg["data"], cfg["loss"], cfg["batch_size"] = None, None, None
        if "init_params" in merged.offer:  # the preset's own surface: its start fits
            cfg["init_params"] = merged.offer["init_params"]
        return make_function(spec["function"], **options), None
    if cfg.get("data") is None:
        cfg["data"] = {"name": DEFAULT_DATASET}
    ds = make_dataset(cfg["data"], seed=cfg["seed"], limits=limits.data_limits())
    if cfg.get("loss") is None:
        cfg["loss"] = TASK_LOSS[ds.task]
    if not isinstance(cfg["loss"], str):
        raise ValueError(f"loss: must be one of mse, bce, cross_entropy, got {cfg['loss']!r}")
    sizes = _layer_sizes(spec, ds, cfg["loss"], limits)
    if merged.preset is not None and tuple(sizes) == _preset_sizes(merged.preset):
        _accept(cfg, merged.offer)
    spec.setdefault("init", init_for(spec["activation"]))
    output = _check_output(spec, cfg["loss"], ds)
    model = MLP(
        sizes[0], sizes[1:-1], sizes[-1], spec["activation"], cfg["loss"], spec["init"],
        feature_names=ds.feature_names, output=output,
    )  # fmt: skip
    if model.n_params > limits.max_params:
        raise ValueError(f"model has {model.n_params} parameters; the limit is {limits.max_params}")
    return model, ds


def check_batch_size(value: Any, n: int | None) -> int | None:
    """``None`` (full batch) or an integer in ``[1, n]``; ``n`` itself means full batch."""
    if value is None:
        return None
    if n is None:
        raise ValueError("batch_size: not applicable to an analytic surface (use null)")
    size = check_int(value, "batch_size", 1, n)
    return None if size == n else size


def _init_params(cfg: dict[str, Any], model: Model) -> np.ndarray:
    """theta_0: ``init_params`` checked against the model, else drawn from ``seed``."""
    raw = cfg.get("init_params")
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
    """Validate a config (see ``merge``) and build its dataset, model and theta_0."""
    limits = limits or Limits()
    merged = merge(raw)
    cfg = merged.config
    cfg["seed"] = check_int(cfg.get("seed", 0), "seed", 0, MAX_SEED)
    model, ds = _build_model(cfg, merged, limits)
    cfg["batch_size"] = check_batch_size(cfg.get("batch_size"), ds.n_samples if ds else None)
    opt = cfg.get("optimizer")
    if opt is None:  # null alone means the default (false, 0, [] are refused below)
        opt = {"name": "sgd"}
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
    theta0 = _init_params(cfg, model)
    return Built(cfg, model, ds, theta0)
