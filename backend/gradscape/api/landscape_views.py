"""Surfaces, slices, curvature and backprop traces of a session, as JSON-safe dicts.

Plain functions run in the worker threads. Paths are decimated to at most
``MAX_PATH`` points chosen where parameters are cheap to rebuild (checkpoints and the
steps kept while playing) once a run is long.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gradscape.api.jsonsafe import clean_dict, floats
from gradscape.api.store import Entry
from gradscape.core.nn import MLP
from gradscape.core.session import TrainingSession
from gradscape.landscape import (
    Plane,
    interpolate,
    lambda_max,
    make_plane,
    sharpness_series,
    stability,
    surface,
)

MAX_PATH = 1000
DENSE_PATH = 2000  # up to this many steps the path has every step
MAX_SERIES = 30
TINY_MODEL = 16  # parameters; at most this many: random planes skip filter normalisation


def path_steps(entry: Entry) -> np.ndarray:
    """Steps to draw: all of them for short runs, else checkpoints + kept steps + the last."""
    s = entry.session
    T = s.step_count
    if T <= DENSE_PATH:
        steps = np.arange(T + 1)
        return steps if T + 1 <= MAX_PATH else _thin(steps, MAX_PATH)
    cheap = set(s.checkpoint_steps) | {T}
    if entry.recent is not None:
        cheap |= {k for k, _ in entry.recent if k <= T}
    return _thin(np.array(sorted(cheap)), MAX_PATH)


def _thin(steps: np.ndarray, k: int) -> np.ndarray:
    if len(steps) <= k:
        return steps
    idx = np.unique(np.linspace(0, len(steps) - 1, k).round().astype(np.int64))
    return steps[idx]


def _params(entry: Entry, steps: np.ndarray) -> np.ndarray:
    s = entry.session
    known = {} if entry.recent is None else dict(entry.recent)
    out = np.empty((len(steps), s.model.n_params))
    missing = [i for i, k in enumerate(steps.tolist()) if k not in known]
    if missing:
        out[missing] = s.params_at(steps[missing])
    for i, k in enumerate(steps.tolist()):
        if k in known:
            out[i] = known[k]
    return out


def _center(spec: Any, s: TrainingSession) -> Any:
    if isinstance(spec, int) and not isinstance(spec, bool):
        if not 0 <= spec <= s.step_count:
            raise ValueError(f"center: step must be in [0, {s.step_count}], got {spec}")
        return s.params_at([spec])[0]
    if spec == "current":
        return s.params
    if isinstance(spec, list):
        theta = np.asarray(spec, dtype=np.float64)
        if theta.shape != (s.model.n_params,) or not np.isfinite(theta).all():
            raise ValueError(f"center: expected {s.model.n_params} finite numbers")
        return theta
    return spec  # "initial" / "final": resolved on the trajectory


def default_mode(s: TrainingSession) -> str:
    """Exact axes for two parameters; PCA once the run has a shape; random before that."""
    if s.model.n_params == 2:
        return "axes"
    return "pca" if s.step_count >= 3 else "random"


def build_plane(entry: Entry, body: dict[str, Any], traj: np.ndarray) -> Plane:
    """The plane a surface request asks for (or reuses)."""
    s = entry.session
    ds = s.dataset
    X, y = (None, None) if ds is None else (ds.X, ds.y)
    if body.get("plane") is not None:
        plane = Plane.from_dict(body["plane"])
        if plane.center.shape != (s.model.n_params,):
            raise ValueError(f"plane: expected a plane for {s.model.n_params} parameters")
        return plane
    mode = body.get("mode") or default_mode(s)
    params = body.get("params")
    if mode == "random" and s.model.n_params <= TINY_MODEL:
        return _plain_random_plane(s, _center(body.get("center", "current"), s), traj, body)
    if body.get("mode") is None and mode == "random" and not np.any(traj[-1]):
        mode = "axes"  # all-zero weights: filter-normalised directions would vanish
    return make_plane(
        mode,
        s.model,
        X,
        y,
        traj,
        center=_center(body.get("center", "current"), s),
        params=None if params is None else (params[0], params[1]),
        seed=body.get("seed") or 0,
        orthogonalize=bool(body.get("orthogonalize")),
    )


def _plain_random_plane(
    s: TrainingSession, center: Any, traj: np.ndarray, body: dict[str, Any]
) -> Plane:
    """Gaussian directions scaled to the centre's norm, for models of a few parameters.

    Filter normalisation (Li et al.) rescales each neuron's slice to its weights' norm;
    when a neuron has one weight that leaves only a sign, so the two directions of a
    tiny model collapse onto one line. Plain seeded Gaussian directions do not.
    """
    if isinstance(center, str):
        center = traj[0] if center == "initial" else traj[-1]
    seed = body.get("seed") or 0
    rng = np.random.default_rng(seed)
    d1, d2 = rng.standard_normal((2, s.model.n_params))
    scale = max(float(np.linalg.norm(center)), 1.0)
    d1 *= scale / np.linalg.norm(d1)
    d2 *= scale / np.linalg.norm(d2)
    options = {"seed": seed, "filter_normalized": False}
    return Plane(
        "random",
        np.array(center, dtype=np.float64),
        d1,
        d2,
        ("random 1", "random 2"),
        options=options,
    )


def surface_view(entry: Entry, body: dict[str, Any], others: Sequence[Entry]) -> dict[str, Any]:
    """``POST .../surface``: grid, labels, plane, the projected path(s) and the gradient."""
    s = entry.session
    ds = s.dataset
    X, y = (None, None) if ds is None else (ds.X, ds.y)
    steps = path_steps(entry)
    traj = _params(entry, steps)
    plane = build_plane(entry, body, traj)
    overlay_trajs, overlay_steps = [], []
    for other in others:
        if other.session.model.param_names != s.model.param_names:
            raise ValueError("overlay: sessions must have the same model shape to share a plane")
        o_steps = path_steps(other)
        overlay_steps.append(o_steps)
        overlay_trajs.append(_params(other, o_steps))
    box = body.get("extent")
    extent = None if box is None else ((box[0][0], box[0][1]), (box[1][0], box[1][1]))
    surf = surface(
        s.model, X, y, plane,
        resolution=body.get("resolution") or 61,
        extent=extent,
        path=traj,
        overlays=overlay_trajs,
        precision=body.get("precision") or "float32",
        log_scale=bool(body.get("log_scale")),
    )  # fmt: skip
    entry.plane = plane.coordinates
    for other in others:  # their socket frames now carry coordinates on this plane too
        other.plane = plane.coordinates
    out = surf.to_dict()
    out["mode"] = plane.mode
    out["explained_variance"] = plane.to_dict().get("explained_variance")
    out["path"] = {"step": steps.tolist(), **out["path"]}
    out["overlays"] = [
        {"id": o.id, "path": {"step": st.tolist(), **p}}
        for o, st, p in zip(others, overlay_steps, out["overlays"], strict=True)
    ]
    out["current"] = _current(s, plane, X, y)
    out["last_update"] = last_update(s, plane.coordinates)
    return clean_dict(out)


def last_update(s: TrainingSession, project: Any) -> dict[str, Any] | None:
    """Step T on the plane: where it started, -lr x gradient, and the step actually taken.

    For plain SGD the two arrows coincide; momentum and Adam bend the step away from
    the gradient ("step opposite the slope" vs what the optimizer did).
    """
    update = s.last_update()
    if update is None:
        return None
    prev, now, grad, lr = update
    start, end, tip = project(np.stack([prev, now, prev - lr * grad]))
    return {
        "step": s.step_count,
        "from": floats(start),
        "descent": floats(tip - start),
        "taken": floats(end - start),
    }


def _current(s: TrainingSession, plane: Plane, X: Any, y: Any) -> dict[str, Any]:
    """The current point, and the full-data gradient there in plane coordinates."""
    theta = s.params
    loss, grad = s.model.loss_and_grad(theta, X, y)
    at, tip = plane.coordinates(np.stack([theta, theta - grad]))
    return {
        "step": s.step_count,
        "a": float(at[0]),
        "b": float(at[1]),
        "loss": loss,
        "lr": s.settings["lr"],
        "descent": floats(tip - at),  # -gradient, in plane units (the chapter's "step opposite")
        "grad_norm": float(np.linalg.norm(grad)),
    }


def slice_view(
    entry: Entry, start: int, stop: int | None, lo: float, hi: float, points: int
) -> dict[str, Any]:
    """``GET .../slice``: loss along ``(1 - alpha) theta_start + alpha theta_stop``."""
    s = entry.session
    stop = s.step_count if stop is None else stop
    for name, k in (("start", start), ("stop", stop)):
        if not 0 <= k <= s.step_count:
            raise ValueError(f"{name}: step must be in [0, {s.step_count}], got {k}")
    ds = s.dataset
    X, y = (None, None) if ds is None else (ds.X, ds.y)
    a, b = s.params_at([start, stop])
    sl = interpolate(s.model, X, y, a, b, np.linspace(lo, hi, points))
    return clean_dict({"start": start, "stop": stop, "alpha": sl.alphas, "loss": sl.loss})


def curvature_view(entry: Entry, step: int | None, series_every: int | None) -> dict[str, Any]:
    """``GET .../curvature``: lambda_max, the 2 / lambda edge against the lr, and a series."""
    s = entry.session
    k = s.step_count if step is None else step
    if not 0 <= k <= s.step_count:
        raise ValueError(f"step: must be in [0, {s.step_count}], got {k}")
    ds = s.dataset
    X, y = (None, None) if ds is None else (ds.X, ds.y)
    lr = float(s.recorded(k, k + 1, ["lr"])["lr"][0]) if k > 0 else s.settings["lr"]
    if k == s.step_count:
        lr = s.settings["lr"]  # the lr the next step will use
    lam = lambda_max(s.model, X, y, s.params_at([k])[0])
    out: dict[str, Any] = {"step": k, **stability(lr, lam)}
    if series_every is not None:
        steps = np.arange(0, s.step_count + 1, series_every)
        steps = _thin(np.unique(np.r_[steps, s.step_count]), MAX_SERIES)
        sharp = sharpness_series(s.model, X, y, _params(entry, steps))
        lrs = s.recorded(0, s.step_count + 1, ["lr"])["lr"][steps]
        out["series"] = {"step": steps[sharp.index], "lambda_max": sharp.lambda_max, "lr": lrs}
    return clean_dict(out)


def backprop_view(entry: Entry, step: int | None, samples: int) -> dict[str, Any]:
    """``GET .../backprop``: the chain rule of one step, layer by layer (first rows shown)."""
    s = entry.session
    if not isinstance(s.model, MLP):
        raise ValueError("backprop: an analytic surface has no layers to propagate through")
    k = max(1, s.step_count) if step is None else step
    tr = s.backprop(k)
    rows = slice(0, samples)
    layers = [
        {
            "index": L.index,
            "activation": L.activation,
            "inputs": L.inputs[rows],
            "z": L.z[rows],
            "a": L.a[rows],
            "slope": L.slope[rows],
            "dloss_da": L.dloss_da[rows],
            "delta": L.delta[rows],
            "grad_w": L.grad_w,
            "grad_b": L.grad_b,
            "saturated_fraction": L.saturated_fraction,
            "mean_abs_delta": float(np.mean(np.abs(L.delta))),
            "grad_norm": float(np.sqrt(np.sum(L.grad_w**2) + np.sum(L.grad_b**2))),
        }
        for L in tr.layers
    ]
    return clean_dict(
        {
            "step": k,
            "loss": tr.loss,
            "loss_name": tr.loss_name,
            "output_activation": tr.output_activation,
            "n": int(tr.targets.shape[0]),
            "targets": tr.targets[rows],
            "prediction": tr.prediction[rows],
            "layers": layers,
        }
    )
