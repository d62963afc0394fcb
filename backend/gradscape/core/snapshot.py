"""A run as bytes: history, checkpoints, current state and event log, for instant restores.

Replaying config + events always reproduces a run, but costs as much as the run did;
a snapshot restores in milliseconds and later events are replayed on top of it
(``TrainingSession.catch_up``). This module is a codec over the plain ``Snapshot``:
``dumps(snapshot) -> bytes`` and ``loads(bytes, config, n_samples) -> Snapshot``.
Format: one ``.npz`` with a JSON header; anything that does not decode is a ``ValueError``.
It holds the kept checkpoints only (stored as they are: parameters hardly deflate) and the
per-step columns deflated with zlib, sealed by a CRC-32 of the whole archive in its
comment (zip checks only member data). Format 1 (raw columns, no seal) still loads.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from gradscape.core.history import SCALARS, History
from gradscape.core.optim import make_optimizer
from gradscape.core.state import Event, State

FORMAT = 2
#: Formats ``loads`` reads (1 differs only in raw columns and no seal).
READABLE = (1, 2)
#: The archive comment: the CRC-32 of every byte before it, as 8 hex digits.
_SEAL = 8
#: What a damaged snapshot raises while it is decoded (reported as ``ValueError``).
_DECODE_ERRORS = (
    KeyError, IndexError, TypeError, AttributeError, EOFError, OSError, zlib.error,
)  # fmt: skip


@dataclass
class Snapshot:
    """Everything a session needs to continue a run of ``config`` without replaying it."""

    config: dict[str, Any]
    history: History
    state: State
    checkpoints: dict[int, State]
    events: list[Event]
    status: str
    reason: str | None
    #: The base of the checkpoint ladder the states were kept on (None: written before
    #: the base was a choice, when it was the checkpoint spacing).
    ladder: int | None = None


def _state_meta(state: State) -> dict[str, Any]:
    """The JSON part of one state (its arrays go into the archive beside it)."""
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


def _load_state(meta: Mapping[str, Any], arrays: Any, key: str, n: int | None) -> State:
    """One state from its JSON part and its arrays."""
    theta = np.array(arrays[f"{key}.theta"], dtype=np.float64)
    if theta.ndim != 1:
        raise ValueError(f"{key}.theta has shape {theta.shape}")
    spec = meta["optimizer"]
    opt = make_optimizer(spec["name"], theta.shape[0], **spec["hyper"])
    buffers = {name: np.array(arrays[f"{key}.{name}"]) for name in meta["buffers"]}
    opt.load_state_dict(
        {"name": spec["name"], "n_params": theta.shape[0], "step": spec["step"],
         "hyper": spec["hyper"], "state": buffers}
    )  # fmt: skip
    return State(
        int(meta["step"]), theta, opt, float(meta["base_lr"]), float(meta["lr"]),
        meta["batch_size"], dict(meta["schedule"]), meta["clip_norm"],
        int(meta["epoch_index"]), int(meta["pos"]), n,
    )  # fmt: skip


def dumps(snapshot: Snapshot) -> bytes:
    """The snapshot as bytes (``loads`` reads them back)."""
    history = snapshot.history
    arrays: dict[str, np.ndarray] = {name: history.column(name) for name in SCALARS}
    arrays["layer_grad_norms"] = history.column("layer_grad_norms")
    header = {
        "format": FORMAT,
        "config": snapshot.config,
        "events": snapshot.events,
        "status": snapshot.status,
        "reason": snapshot.reason,
        "state": _state_meta(snapshot.state),
        "checkpoints": {str(k): _state_meta(c) for k, c in snapshot.checkpoints.items()},
        "ladder": snapshot.ladder,
    }
    arrays |= _state_arrays(snapshot.state, "state")
    for k, c in snapshot.checkpoints.items():
        arrays |= _state_arrays(c, f"ckpt{k}")
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    return _archive(arrays, {"header", "layer_grad_norms", *SCALARS})


def _archive(arrays: Mapping[str, np.ndarray], deflated: Collection[str]) -> bytes:
    """An ``.npz`` as ``np.load`` reads it, with only the ``deflated`` members compressed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", allowZip64=True) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy")
            info.compress_type = zipfile.ZIP_DEFLATED if name in deflated else zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
        archive.comment = b"0" * _SEAL
    body = buf.getbuffer()
    seal = _seal(body[:-_SEAL])
    del body  # a BytesIO cannot be written while a view of it is held
    buf.seek(-_SEAL, io.SEEK_END)
    buf.write(seal)
    return buf.getvalue()  # the one copy: the data then its seal in place of the comment


def _seal(data: bytes | memoryview) -> bytes:
    return f"{zlib.crc32(data):08x}".encode()


def loads(data: bytes, config: Mapping[str, Any], n_samples: int | None) -> Snapshot:
    """A snapshot of a run of ``config`` (``n_samples`` training rows) from ``dumps`` bytes.

    Bytes that are not such a snapshot (another config or format, damaged, truncated)
    raise ``ValueError``.
    """
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            header = json.loads(bytes(arrays["header"]).decode())
            same = header.get("config") == json.loads(json.dumps(config))
            fits = header.get("format") in READABLE and same
            if fits and header["format"] >= 2 and data[-_SEAL:] != _seal(data[:-_SEAL]):
                raise ValueError("the checksum does not match")
            snapshot = _decode(header, arrays, n_samples) if fits else None
    except (ValueError, zipfile.BadZipFile, *_DECODE_ERRORS) as err:
        raise ValueError(f"snapshot: cannot be read ({type(err).__name__}: {err})") from err
    if snapshot is None:
        raise ValueError("snapshot: not a snapshot of this config")
    _check_consistent(snapshot)
    return snapshot


def _decode(header: Mapping[str, Any], arrays: Any, n: int | None) -> Snapshot:
    """The snapshot in a checked header and its archive."""
    layers = arrays["layer_grad_norms"]
    history = History(layers.shape[1], capacity=max(1024, len(layers)))
    history.load({name: arrays[name] for name in SCALARS}, layers)
    checkpoints = {
        int(k): _load_state(meta, arrays, f"ckpt{k}", n)
        for k, meta in header["checkpoints"].items()
    }
    return Snapshot(
        dict(header["config"]),
        history,
        _load_state(header["state"], arrays, "state", n),
        checkpoints,
        [(int(s), dict(c)) for s, c in header["events"]],
        str(header["status"]),
        None if header["reason"] is None else str(header["reason"]),
        _ladder(header.get("ladder")),
    )


def _ladder(value: Any) -> int | None:
    if value is None or (type(value) is int and value >= 1):
        return value
    raise ValueError(f"snapshot: the checkpoint ladder {value!r} is not a positive integer")


def _check_consistent(snapshot: Snapshot) -> None:
    """Refuse a snapshot whose parts do not describe one run."""
    step = snapshot.state.step
    if len(snapshot.history) != step + 1 or 0 not in snapshot.checkpoints:
        raise ValueError("snapshot: history, checkpoints and state do not agree")
    if max(snapshot.checkpoints) > step or any(s > step for s, _ in snapshot.events):
        raise ValueError("snapshot: checkpoints or events lie past the current step")
