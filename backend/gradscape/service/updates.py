"""``GET .../update``: what the optimizer did at one step, per named parameter, JSON-safe.

The update is rebuilt by the core (``TrainingSession.update_at``: the optimizer's own
step on copies); this module picks the rows asked for (a name filter and a page, so a
100,000-parameter model serialises only those) and says in one sentence how the step
taken differs from the chapter's plain ``-lr x gradient``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from gradscape.core.types import FloatArray
from gradscape.core.update import UpdateTrace
from gradscape.service.errors import ConflictError
from gradscape.service.jsonsafe import clean_dict, floats
from gradscape.service.live import LiveRun

MAX_LIMIT = 500
MAX_MATCH = 64


def update_view(
    run: LiveRun, step: int | None, offset: int = 0, limit: int = 200, match: str | None = None
) -> dict[str, Any]:
    """Update k (default T): optimizer, batch, clipping, one sentence, and the chosen rows."""
    s = run.session
    T = s.step_count
    if T == 0:
        raise ConflictError("the session has made no update yet: step it first (update k is 1..T)")
    k = T if step is None else step
    if not 1 <= k <= T:
        raise ValueError(f"step: must be in [1, {T}], got {k}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit: must be in [1, {MAX_LIMIT}], got {limit}")
    if offset < 0:
        raise ValueError(f"offset: must be >= 0, got {offset}")
    if match is not None and len(match) > MAX_MATCH:
        raise ValueError(f"match: at most {MAX_MATCH} characters, got {len(match)}")
    names = s.model.param_names
    chosen = _matching(names, match)
    tr = s.update_at(k)
    page = chosen[offset : offset + limit]
    return clean_dict(
        {
            "step": k,
            "optimizer": {
                "name": tr.optimizer,
                "hyper": {key: v for key, v in tr.hyper.items() if key != "lr"},
                "lr": tr.lr,
                "base_lr": tr.base_lr,
                "t": tr.t,
            },
            "batch": {"size": tr.batch_size, "full": tr.full},
            "loss_before": tr.loss_before,
            "clip": {"norm": tr.clip_norm, "grad_norm": tr.grad_norm, "scale": tr.clip_scale},
            "n_params": len(names),
            "offset": offset,
            "limit": limit,
            "match": match or "",
            "total": int(chosen.shape[0]),
            "buffers": sorted(tr.state_after),
            "rows": rows(tr, names, page),
            "explain": explain(tr),
        }
    )


def _matching(names: tuple[str, ...], match: str | None) -> np.ndarray:
    """Indices of the parameters whose name contains ``match`` (case-insensitive)."""
    if not match:
        return np.arange(len(names))
    needle = match.casefold()
    return np.array([i for i, n in enumerate(names) if needle in n.casefold()], dtype=np.intp)


def rows(tr: UpdateTrace, names: tuple[str, ...], idx: np.ndarray) -> list[dict[str, Any]]:
    """One row per chosen parameter: before, gradients, plain and taken steps, buffers."""
    cols: dict[str, list[Any]] = {
        "before": floats(tr.before[idx]),
        "grad": floats(tr.grad[idx]),
        "grad_raw": floats(tr.grad_raw[idx]),
        "plain_step": floats(-tr.lr * tr.grad[idx]),
        "taken": floats(tr.after[idx] - tr.before[idx]),
        "after": floats(tr.after[idx]),
    }
    derived = {key: floats(v[idx]) for key, v in _derived(tr).items()}
    before = {key: floats(tr.state_before[key][idx]) for key in tr.state_before}
    after = {key: floats(tr.state_after[key][idx]) for key in sorted(tr.state_after)}
    out = []
    for j, i in enumerate(idx.tolist()):
        row: dict[str, Any] = {"index": i, "name": names[i]}
        row.update({key: col[j] for key, col in cols.items()})
        # A buffer the optimizer creates on this update did not exist before it: null.
        row["state_before"] = {key: before[key][j] if key in before else None for key in after}
        row["state_after"] = {key: col[j] for key, col in after.items()}
        row.update({key: col[j] for key, col in derived.items()})
        out.append(row)
    return out


def _derived(tr: UpdateTrace) -> dict[str, FloatArray]:
    """What an adaptive optimizer divides by, from its buffers after the update.

    Adam / AdamW: ``m_hat = m / (1 - beta1^t)``, ``v_hat = v / (1 - beta2^t)`` (v the running
    maximum with amsgrad) and ``denominator = sqrt(v) / sqrt(1 - beta2^t) + eps``, in the
    optimizer's own order (= sqrt(v_hat) + eps up to rounding). RMSprop and Adagrad: the
    ``denominator`` of their step.
    """
    h, st, t = tr.hyper, tr.state_after, tr.t
    if tr.optimizer in ("adam", "adamw"):
        beta1, beta2 = h["betas"]
        second = st["max_exp_avg_sq"] if h["amsgrad"] else st["exp_avg_sq"]
        bc2 = 1 - beta2 ** float(t)
        return {
            "m_hat": st["exp_avg"] / (1 - beta1 ** float(t)),
            "v_hat": second / bc2,
            "denominator": np.sqrt(second) / bc2**0.5 + h["eps"],
        }
    if tr.optimizer == "rmsprop":
        v = st["square_avg"]
        if h["centered"]:
            v = np.maximum(v - st["grad_avg"] ** 2, 0.0)
        return {"denominator": np.sqrt(v) + h["eps"]}
    if tr.optimizer == "adagrad":
        return {"denominator": np.sqrt(st["sum"]) + h["eps"]}
    return {}


def explain(tr: UpdateTrace) -> str:
    """One sentence: how ``taken`` differs from ``plain_step`` (-lr x gradient) here."""
    h = tr.hyper
    parts = [_rule(tr)]
    decay = h.get("weight_decay", 0.0)
    if decay and tr.optimizer == "adamw":
        parts.append(f"decoupled weight decay first shrinks each weight by lr x {decay:g} x weight")
    elif decay:
        parts.append(f"weight decay adds {decay:g} x weight to the gradient first (L2)")
    if h.get("maximize"):
        parts.append("maximize flips the gradient's sign, so the step goes uphill")
    if tr.clip_scale < 1:
        parts.append(
            f"the gradient (norm {tr.grad_norm:.4g}) was first scaled by {tr.clip_scale:.4g} "
            f"to clip_norm {tr.clip_norm:g}; grad is after clipping, grad_raw before"
        )
    return "; ".join(parts) + "."


def _rule(tr: UpdateTrace) -> str:
    """The optimizer's own rule in words, with its numbers."""
    h, lr = tr.hyper, f"{tr.lr:.4g}"
    if tr.optimizer == "sgd":
        mu = h["momentum"]
        plain = not h["weight_decay"] and not h["maximize"]  # nothing adjusts the gradient
        if mu == 0:
            exactly = "exactly -lr x gradient" if plain else "-lr x the adjusted gradient"
            return f"sgd without momentum: the step taken is {exactly} (lr {lr})"
        if h["nesterov"]:
            return (
                f"nesterov momentum {mu:g}: the step is -lr x (gradient + {mu:g} x velocity), "
                f"a look ahead along the velocity buffer b = {mu:g} b + gradient"
            )
        first = ", so on this first update, where b starts as the gradient, they agree"
        return (
            f"momentum {mu:g}: the step follows the velocity buffer b = {mu:g} b + "
            f"{1 - h['dampening']:g} x gradient, taken = -lr x b, so past gradients keep "
            f"pushing the weight{first if tr.t == 1 and plain else ''}"
        )
    if tr.optimizer in ("adam", "adamw"):
        amsgrad = " (v_hat from the running maximum of v, amsgrad)" if h["amsgrad"] else ""
        return (
            f"{tr.optimizer}: each weight's step is lr x m_hat / (sqrt(v_hat) + eps){amsgrad}, "
            f"the bias-corrected average gradient over its typical size, so each weight moves "
            f"by about lr ({lr}) whatever the scale of its gradient"
        )
    if tr.optimizer == "rmsprop":
        centered = " minus the squared mean gradient (centered)" if h["centered"] else ""
        momentum = f", accumulated with momentum {h['momentum']:g}" if h["momentum"] else ""
        return (
            f"rmsprop: each weight's step is lr x gradient / (sqrt(square_avg{centered}) + eps)"
            f"{momentum}, so weights whose recent gradients were large take smaller steps"
        )
    decay = f" with lr decayed to lr / (1 + (t - 1) x {h['lr_decay']:g})" if h["lr_decay"] else ""
    return (
        f"adagrad: each weight's step is lr x gradient / (sqrt(sum of its squared gradients) "
        f"+ eps){decay}, shrinking as its gradients add up"
    )
