"""Surfaces, slices, curvature and backprop traces of a session, as JSON-safe dicts.

Plain functions run in the worker threads. Paths are decimated to at most
``MAX_PATH`` points chosen where parameters are cheap to rebuild (checkpoints and the
steps kept while playing) once a run is long.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gradscape.core.names import layer_name
from gradscape.core.nn import MLP
from gradscape.core.session import TrainingSession
from gradscape.core.types import Model
from gradscape.landscape import (
    Plane,
    center_at_step,
    interpolate,
    lambda_max,
    make_plane,
    plain_random_plane,
    resolve_center,
    sharpness_series,
    stability,
    surface,
)
from gradscape.service import cost
from gradscape.service.decimate import thin
from gradscape.service.jsonsafe import clean_dict, floats
from gradscape.service.live import LiveRun
from gradscape.service.work import Work

MAX_PATH = 1000
DENSE_PATH = 2000  # up to this many steps the path has every step
MAX_SERIES = 30
TINY_MODEL = 16  # parameters; at most this many: random planes skip filter normalisation


def path_steps(run: LiveRun) -> np.ndarray:
    """Steps to draw: all of them for short runs, else checkpoints + kept steps + the last."""
    T = run.session.step_count
    if T <= DENSE_PATH:
        return thin(np.arange(T + 1), MAX_PATH)
    return thin(np.array(sorted(run.kept_steps())), MAX_PATH)


def model_shape(model: Model) -> tuple[str, tuple[int, ...]]:
    """What must match for runs to share a plane: a network's layer widths, or a surface's
    two parameters (names are not the shape: they follow the data's feature names)."""
    if isinstance(model, MLP):
        return ("network", model.sizes)
    return ("surface", (model.n_params,))


def _center(spec: Any, s: TrainingSession) -> Any:
    return center_at_step(spec, s.step_count, lambda k: s.params_at([k])[0])


def default_mode(s: TrainingSession) -> str:
    """Exact axes for two parameters; PCA once the run has a shape; random before that."""
    if s.model.n_params == 2:
        return "axes"
    return "pca" if s.step_count >= 3 else "random"


def build_plane(run: LiveRun, body: dict[str, Any], traj: np.ndarray) -> Plane:
    """The plane a surface request asks for (or reuses)."""
    s = run.session
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
        center = resolve_center(_center(body.get("center", "current"), s), traj, s.model.n_params)
        return plain_random_plane(center, seed=body.get("seed") or 0)
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


def surface_view(
    run: LiveRun, body: dict[str, Any], others: Sequence[LiveRun], work: Work | None = None
) -> dict[str, Any]:
    """``POST .../surface``: grid, labels, plane, the projected path(s) and the gradient.

    With ``work`` the grid takes turns with other calls and stops at its budget."""
    s = run.session
    resolution, precision = body.get("resolution") or 61, body.get("precision") or "float32"
    cost.check_surface(run, resolution, body.get("mode") or "random", precision)
    ds = s.dataset
    X, y = (None, None) if ds is None else (ds.X, ds.y)
    steps = path_steps(run)
    traj = run.params_for(steps)
    plane = build_plane(run, body, traj)
    overlay_trajs, overlay_steps = [], []
    for other in others:
        if model_shape(other.session.model) != model_shape(s.model):
            raise ValueError("overlay: sessions must have the same model shape to share a plane")
        o_steps = path_steps(other)
        overlay_steps.append(o_steps)
        overlay_trajs.append(other.params_for(o_steps))
    box = body.get("extent")
    extent = None if box is None else ((box[0][0], box[0][1]), (box[1][0], box[1][1]))
    surf = surface(
        s.model, X, y, plane,
        resolution=resolution,
        extent=extent,
        path=traj,
        overlays=overlay_trajs,
        precision=precision,
        log_scale=bool(body.get("log_scale")),
        between=None if work is None else work.between,
    )  # fmt: skip
    run.plane = plane
    for other in others:  # their socket frames now carry coordinates on this plane too
        other.plane = plane
    out = surf.to_dict()
    out["mode"] = plane.mode
    out["explained_variance"] = plane.to_dict().get("explained_variance")
    out["path"] = {"step": steps.tolist(), **out["path"]}
    out["overlays"] = [
        {"id": o.id, "path": {"step": st.tolist(), **p}}
        for o, st, p in zip(others, overlay_steps, out["overlays"], strict=True)
    ]
    out["current"] = _current(s, plane, X, y)
    out["last_update"] = last_update(s, plane)
    return clean_dict(out)


def last_update(s: TrainingSession, plane: Plane) -> dict[str, Any] | None:
    """Step T on the plane: where it started, -lr x gradient, and the step actually taken.

    For plain SGD the two arrows coincide; momentum and Adam bend the step away from
    the gradient ("step opposite the slope" vs what the optimizer did).
    """
    update = s.last_update()
    if update is None:
        return None
    prev, now, grad, lr = update
    start, end, tip = plane.coordinates(np.stack([prev, now, prev - lr * grad]))
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
    run: LiveRun, start: int, stop: int | None, lo: float, hi: float, points: int
) -> dict[str, Any]:
    """``GET .../slice``: loss along ``(1 - alpha) theta_start + alpha theta_stop``."""
    s = run.session
    stop = s.step_count if stop is None else stop
    for name, k in (("start", start), ("stop", stop)):
        if not 0 <= k <= s.step_count:
            raise ValueError(f"{name}: step must be in [0, {s.step_count}], got {k}")
    ds = s.dataset
    X, y = (None, None) if ds is None else (ds.X, ds.y)
    a, b = s.params_at([start, stop])
    sl = interpolate(s.model, X, y, a, b, np.linspace(lo, hi, points))
    return clean_dict({"start": start, "stop": stop, "alpha": sl.alphas, "loss": sl.loss})


def curvature_view(run: LiveRun, step: int | None, series_every: int | None) -> dict[str, Any]:
    """``GET .../curvature``: lambda_max, the 2 / lambda edge against the lr, and a series."""
    s = run.session
    k = s.step_count if step is None else step
    if not 0 <= k <= s.step_count:
        raise ValueError(f"step: must be in [0, {s.step_count}], got {k}")
    ds = s.dataset
    X, y = (None, None) if ds is None else (ds.X, ds.y)
    lr = float(s.recorded(k, k + 1, ["lr"])["lr"][0])  # as the series records it
    if k == s.step_count:
        lr = s.settings["lr"]  # the lr the next step will use
    steps = None
    if series_every is not None:
        steps = np.arange(0, s.step_count + 1, series_every)
        steps = thin(np.unique(np.r_[steps, s.step_count]), MAX_SERIES)
    cost.check_curvature(run, 1 + (0 if steps is None else len(steps)))
    lam = lambda_max(s.model, X, y, s.params_at([k])[0])
    out: dict[str, Any] = {"step": k, **stability(lr, lam)}
    if steps is not None:
        sharp = sharpness_series(s.model, X, y, run.params_for(steps))
        lrs = s.recorded(0, s.step_count + 1, ["lr"])["lr"][steps]
        out["series"] = {"step": steps[sharp.index], "lambda_max": sharp.lambda_max, "lr": lrs}
    return clean_dict(out)


def backprop_view(run: LiveRun, step: int | None, samples: int) -> dict[str, Any]:
    """``GET .../backprop``: the chain rule of one step, layer by layer (first rows shown).

    ``error`` is dL/dz at the output, the delta the sweep starts from: the gradient of the
    mean loss, so each row is the pairing's rule times 1/n (``pairing.scale``).
    """
    s = run.session
    if not isinstance(s.model, MLP):
        raise ValueError("backprop: an analytic surface has no layers to propagate through")
    k = max(1, s.step_count) if step is None else step
    tr = s.backprop(k)
    rows = slice(0, samples)
    n = int(tr.targets.shape[0])
    pairing = tr.pairing
    layers = [
        {
            "index": L.index,
            "name": layer_name(L.index),
            "activation": L.activation,
            "inputs": L.inputs[rows],
            "z": L.z[rows],
            "a": L.a[rows],
            "slope": L.slope[rows],
            "dloss_da": L.dloss_da[rows],
            "delta": L.delta[rows],
            "delta_mean": L.delta[rows].mean(axis=0),
            "passed_down": L.passed_down[rows],
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
            "n": n,
            "targets": tr.targets[rows],
            "prediction": tr.prediction[rows],
            "residual": tr.residual[rows],
            "error": tr.error[rows],
            "pairing": {
                "output": pairing.output,
                "loss": pairing.loss,
                "rule": pairing.rule,
                "why": pairing.why,
                "scale": 1.0 / n,
            },
            "layers": layers,
        }
    )
