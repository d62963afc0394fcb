"""Live changes: validate a change to lr, batch size, optimizer, schedule or clipping."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gradscape.core.config import check_batch_size, check_float
from gradscape.core.optim import make_optimizer, validate_schedule
from gradscape.core.state import State

CHANGE_FIELDS = ("lr", "batch_size", "optimizer", "schedule", "clip_norm")


def check_change(
    changes: Mapping[str, Any], state: State, n_params: int, n_samples: int | None
) -> dict[str, Any]:
    """Validate a live change and return it normalised; ``ValueError`` names the field."""
    unknown = sorted(set(changes) - set(CHANGE_FIELDS))
    if unknown:
        raise ValueError(f"{unknown[0]}: cannot be changed live; known: {', '.join(CHANGE_FIELDS)}")
    if not changes:
        raise ValueError(f"nothing to change: give one of {', '.join(CHANGE_FIELDS)}")
    out: dict[str, Any] = {}
    if "lr" in changes:
        out["lr"] = check_float(changes["lr"], "lr", 0.0, 1e6, open_lo=True)
    if "batch_size" in changes:
        out["batch_size"] = check_batch_size(changes["batch_size"], n_samples)
    if "optimizer" in changes:
        out["optimizer"] = _check_optimizer(changes["optimizer"], out.get("lr"), state, n_params)
    if "schedule" in changes:
        out["schedule"] = validate_schedule(changes["schedule"])
    if "clip_norm" in changes:
        clip = changes["clip_norm"]
        out["clip_norm"] = (
            None if clip is None else check_float(clip, "clip_norm", 0, 1e6, open_lo=True)
        )
    return out


def _check_optimizer(spec: Any, lr: float | None, state: State, n_params: int) -> dict[str, Any]:
    """A partial optimizer object checked against the one in force (a new name switches)."""
    if not isinstance(spec, Mapping):
        raise ValueError("optimizer must be an object (a partial optimizer config)")
    spec = dict(spec)
    if lr is not None and "lr" in spec and spec["lr"] != lr:
        raise ValueError("lr: given twice with different values (top level and optimizer.lr)")
    name = spec.get("name", state.optimizer.name)
    hyper = {k: v for k, v in spec.items() if k != "name"}
    if name == state.optimizer.name:
        base = {**state.optimizer.hyper, "lr": state.base_lr, **hyper}
    else:
        base = {"lr": lr if lr is not None else state.base_lr, **hyper}
    checked = make_optimizer(name, n_params, **base).hyper
    out = {"name": name, **{k: checked[k] for k in hyper}}
    if "lr" in hyper or name != state.optimizer.name:
        out["lr"] = checked["lr"]
    return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
