"""A session as bytes: history, checkpoints and the current state, for instant restores.

Replaying config + events always reproduces a run, but costs as much as the run did;
a snapshot restores in milliseconds and later events are replayed on top of it
(``TrainingSession.catch_up``). Format: one ``.npz`` with a JSON header.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import numpy as np

from gradscape.core.history import SCALARS, History
from gradscape.core.optim import make_optimizer
from gradscape.core.replay import State

if TYPE_CHECKING:
    from gradscape.core.session import TrainingSession

FORMAT = 1


def _state_meta(state: State) -> dict[str, Any]:
    opt = state.optimizer.state_dict()
    return {
        "step": state.step,
        "optimizer": {"name": opt["name"], "step": opt["step"], "hyper": _jsonable(opt["hyper"])},
        "buffers": sorted(opt["state"]),
        "base_lr": state.base_lr,
        "lr": state.lr,
        "batch_size": state.batch_size,
        "schedule": state.schedule,
        "clip_norm": state.clip_norm,
        "epoch_index": state.epoch_index,
        "pos": state.pos,
    }


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def _state_arrays(state: State, key: str) -> dict[str, np.ndarray]:
    out = {f"{key}.theta": state.theta}
    for name, buf in state.optimizer.state_dict()["state"].items():
        out[f"{key}.{name}"] = buf
    return out


def _load_state(meta: dict[str, Any], arrays: Any, key: str, n: int | None) -> State:
    theta = np.array(arrays[f"{key}.theta"], dtype=np.float64)
    spec = meta["optimizer"]
    opt = make_optimizer(spec["name"], theta.shape[0], **spec["hyper"])
    buffers = {name: np.array(arrays[f"{key}.{name}"]) for name in meta["buffers"]}
    opt.load_state_dict(
        {"name": spec["name"], "n_params": theta.shape[0], "step": spec["step"],
         "hyper": spec["hyper"], "state": buffers}
    )  # fmt: skip
    return State(
        meta["step"], theta, opt, meta["base_lr"], meta["lr"], meta["batch_size"],
        dict(meta["schedule"]), meta["clip_norm"], meta["epoch_index"], meta["pos"], n,
    )  # fmt: skip


def dumps(session: TrainingSession) -> bytes:
    """The session's history, checkpoints and state as bytes."""
    history, checkpoints, state = session._history, session._checkpoints, session._state
    arrays: dict[str, np.ndarray] = {name: history.column(name) for name in SCALARS}
    arrays["layer_grad_norms"] = history.column("layer_grad_norms")
    header = {
        "format": FORMAT,
        "config": session.config,
        "events": session.events,
        "status": session.status,
        "reason": session.reason,
        "state": _state_meta(state),
        "checkpoints": {str(k): _state_meta(c) for k, c in checkpoints.items()},
    }
    arrays |= _state_arrays(state, "state")
    for k, c in checkpoints.items():
        arrays |= _state_arrays(c, f"ckpt{k}")
    buf = io.BytesIO()
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def loads(session: TrainingSession, data: bytes) -> None:
    """Put a snapshot into ``session``, built from the same config (else ValueError)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        header = json.loads(bytes(arrays["header"]).decode())
        same = header.get("config") == json.loads(json.dumps(session.config))
        if header.get("format") != FORMAT or not same:
            raise ValueError("snapshot: not a snapshot of this config")
        n = session.n_samples
        history = History(
            arrays["layer_grad_norms"].shape[1], capacity=max(1024, len(arrays["epoch"]))
        )
        history.load({name: arrays[name] for name in SCALARS}, arrays["layer_grad_norms"])
        session._history = history
        session._checkpoints = {
            int(k): _load_state(meta, arrays, f"ckpt{k}", n)
            for k, meta in header["checkpoints"].items()
        }
        session._state = _load_state(header["state"], arrays, "state", n)
    session._events = [(int(s), dict(c)) for s, c in header["events"]]
    session.status, session.reason = header["status"], header["reason"]
    session._last = None
    session._replayer.clear_cache()
