"""Losses at many points of an affine set ``theta_k = origin + coords[k] @ directions``.

This is the engine under every surface, path and slice. For an ``MLP`` each layer's
weights are affine in the coordinates, so the work splits into:

- the first layer, ``X @ W(theta) + b(theta) = A_0 + sum_j c_j A_j``: the ``1 + k``
  products ``A_j`` are computed once, then a whole chunk of points is one small matmul
  ``[1, c] @ A`` (no per-point product with ``X`` at all);
- deeper layers, a stack of per-point matmuls ``W_k^T @ [H_k; 1]`` with the bias
  folded in as a row of ones, in a ``(points, features, samples)`` layout so that
  every elementwise pass (the activations) runs over long contiguous rows.

Chunks hold about ``CHUNK_FLOATS`` numbers per array so they stay in cache; each
chunk's matmuls are small enough that OpenBLAS runs them on one thread, and large
grids spread chunks over ``MAX_WORKERS`` threads (NumPy releases the GIL in both
matmul and the ufuncs). ``float32`` is for display (relative error ~1e-7);
``float64`` matches the core's own loss to rounding. Any other ``Model`` falls back to
its ``batch_loss`` on memory-bounded chunks of materialised points.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from gradscape.core.activations import Activation
from gradscape.core.nn import MLP
from gradscape.core.types import FloatArray, Model

PRECISIONS: dict[str, type[np.floating]] = {"float32": np.float32, "float64": np.float64}
#: Numbers per working array in one chunk (1 MB in float32): measured best here.
CHUNK_FLOATS = 1 << 18
#: Numbers per chunk of materialised ``(K, P)`` points for models without a fast path.
GENERIC_CHUNK_FLOATS = 1 << 20
#: Below this much work (points x samples x width) threads cost more than they save.
PARALLEL_MIN_WORK = 1 << 22
MAX_WORKERS = 2
#: OpenBLAS's single-thread limits: 65536 * GEMM_MULTITHREAD_THRESHOLD (4) for gemm's
#: M N K, and 2304 * 4 for gemv's M N.
BLAS_SERIAL_GEMM = 65536 * 4
BLAS_SERIAL_GEMV = 2304 * 4 - 1

Array = npt.NDArray[np.floating]


def affine_losses(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    origin: FloatArray,
    directions: FloatArray,
    coords: FloatArray,
    *,
    precision: str = "float64",
    workers: int | None = None,
    between: Callable[[], None] | None = None,
) -> FloatArray:
    """Losses ``(K,)`` at ``origin (P,) + coords (K, k) @ directions (k, P)``; inf/nan kept.

    ``between`` is called after every chunk (from whichever worker finished it)."""
    dtype = _dtype(precision)
    directions = np.atleast_2d(np.asarray(directions, dtype=np.float64))
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, directions.shape[0])
    if isinstance(model, MLP) and (X is None or y is None):
        raise ValueError("a network needs data: X and y are required")
    # Far-out grid points overflow by design; the caller marks them non-finite.
    with np.errstate(all="ignore"):
        if isinstance(model, MLP) and X is not None and y is not None:
            return _mlp_losses(model, X, y, origin, directions, coords, dtype, workers, between)
        return _generic_losses(model, X, y, origin, directions, coords, between)


def _dtype(precision: str) -> type[np.floating]:
    try:
        return PRECISIONS[precision]
    except KeyError:
        known = ", ".join(PRECISIONS)
        raise ValueError(f"precision: unknown {precision!r}; known: {known}") from None


def _generic_losses(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    origin: FloatArray,
    directions: FloatArray,
    coords: FloatArray,
    between: Callable[[], None] | None = None,
) -> FloatArray:
    """``model.batch_loss`` on chunks of materialised points, ``GENERIC_CHUNK_FLOATS`` each."""
    n_points, n_params = coords.shape[0], origin.shape[0]
    chunk = max(1, GENERIC_CHUNK_FLOATS // n_params)
    out = np.empty(n_points)
    for start in range(0, n_points, chunk):
        thetas = origin + coords[start : start + chunk] @ directions
        out[start : start + chunk] = model.batch_loss(thetas, X, y)
        if between is not None:
            between()
    return out


@dataclass(frozen=True)
class _MLPPlan:
    """Everything per chunk needs, precomputed once per call in the working dtype."""

    first: Array  # (1 + k, fan_out0 * n): X @ W_j + b_j for origin and each direction
    deeper: tuple[Array, ...]  # per later layer (1 + k, fan_out * (fan_in + 1)): [W_j^T | b_j]
    y: Array
    n: int


def _mlp_plan(
    model: MLP, X: FloatArray, y: FloatArray, basis: FloatArray, dtype: type[np.floating]
) -> _MLPPlan:
    """Split every layer's weights over ``basis = [origin; directions]`` ``(1 + k, P)``."""
    layers = model.unpack(basis)
    W0, b0 = layers[0]
    first = np.einsum("nd,jdh->jhn", X, W0) + b0[:, :, None]
    deeper = tuple(
        np.concatenate([np.swapaxes(W, 1, 2), b[:, :, None]], axis=2)
        .reshape(basis.shape[0], -1)
        .astype(dtype)
        for W, b in layers[1:]
    )
    # Class labels stay exact in float32; targets for mse round like the logits do.
    return _MLPPlan(
        first.reshape(basis.shape[0], -1).astype(dtype), deeper, y.astype(dtype), len(X)
    )


def _mlp_losses(
    model: MLP,
    X: FloatArray,
    y: FloatArray,
    origin: FloatArray,
    directions: FloatArray,
    coords: FloatArray,
    dtype: type[np.floating],
    workers: int | None,
    between: Callable[[], None] | None = None,
) -> FloatArray:
    """The fast path: chunks of points through the split layers, maybe on two threads."""
    plan = _mlp_plan(model, X, y, np.vstack([origin[None, :], directions]), dtype)
    n_points = coords.shape[0]
    with_one = np.empty((n_points, coords.shape[1] + 1), dtype=dtype)
    with_one[:, 0], with_one[:, 1:] = 1.0, coords
    chunk = max(1, CHUNK_FLOATS // (plan.n * max(model.sizes[1:])))
    if workers is None:
        work = n_points * plan.n * max(model.sizes[1:])
        workers = min(MAX_WORKERS, os.cpu_count() or 1) if work >= PARALLEL_MIN_WORK else 1
    n_chunks = -(-n_points // chunk)
    workers = max(1, min(workers, n_chunks))
    per_worker = -(-n_chunks // workers) * chunk
    out = np.empty(n_points)

    def job(start: int) -> None:
        # errstate is per thread (a context variable), so each worker sets its own.
        with np.errstate(all="ignore"):
            stop = min(start + per_worker, n_points)
            _mlp_range(model, plan, with_one[start:stop], chunk, out[start:stop], between)

    if workers == 1:
        job(0)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(job, range(0, n_points, per_worker)))
    return out


class _Workspace:
    """One worker's buffers, reused chunk after chunk.

    Fresh arrays of this size come from ``mmap`` and page-fault on every chunk, which
    measured slower than the maths itself.
    """

    def __init__(self, model: MLP, plan: _MLPPlan, chunk: int, dtype: np.dtype[Any]) -> None:
        n = plan.n
        self.first = np.empty((chunk, plan.first.shape[1]), dtype=dtype)
        self.hidden = [np.empty((chunk, L.fan_in + 1, n), dtype=dtype) for L in model.layers[1:]]
        self.pre = [np.empty((chunk, L.fan_out, n), dtype=dtype) for L in model.layers[1:]]
        for h in self.hidden:
            h[:, -1, :] = 1.0  # the bias rides in the matmul as a row of ones


def _mlp_range(
    model: MLP,
    plan: _MLPPlan,
    with_one: Array,
    chunk: int,
    out: FloatArray,
    between: Callable[[], None] | None = None,
) -> None:
    """Losses for rows ``[1, c]`` of ``with_one`` into ``out``, ``chunk`` points at a time."""
    space = _Workspace(model, plan, min(chunk, with_one.shape[0]), with_one.dtype)
    for start in range(0, with_one.shape[0], chunk):
        out[start : start + chunk] = _mlp_chunk(model, plan, space, with_one[start : start + chunk])
        if between is not None:
            between()


def _mlp_chunk(model: MLP, plan: _MLPPlan, space: _Workspace, with_one: Array) -> FloatArray:
    """Losses ``(kc,)`` for one chunk; ``with_one`` is ``[1, c]`` ``(kc, 1 + k)``."""
    kc = with_one.shape[0]
    z = _serial_matmul(with_one, plan.first, space.first[:kc]).reshape(kc, -1, plan.n)
    layers = zip(model.layers[1:], plan.deeper, space.hidden, space.pre, strict=True)
    for layer, weights, h, pre in layers:
        _activate(model.layers[layer.index - 1].activation, z, h[:kc, :-1, :])
        w = _serial_matmul(with_one, weights).reshape(kc, layer.fan_out, layer.fan_in + 1)
        z = _serial_matmul(w, h[:kc], pre[:kc])
    # The output layer's activation is the identity: the loss takes logits (kc, n, m).
    value: Callable[[Array, Array], Array] = model.loss_fn.value  # type: ignore[assignment]
    return np.asarray(value(np.swapaxes(z, 1, 2), plan.y), dtype=np.float64)


def _serial_matmul(a: Array, b: Array, out: Array | None = None) -> Array:
    """``a @ b`` (stacks allowed) in blocks that OpenBLAS runs on the calling thread.

    OpenBLAS threads a gemm once ``M N K`` passes ``BLAS_SERIAL_GEMM`` and a gemv (one
    row) once ``N K`` passes ``BLAS_SERIAL_GEMV``. For matrices this small its threads
    cost far more than they save (10x here), and from two workers at once they thrash.
    """
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    if out is None:
        out = np.empty((*np.broadcast_shapes(a.shape[:-2], b.shape[:-2]), m, n), a.dtype)
    rows, cols = m, n
    if m * k * n > BLAS_SERIAL_GEMM:
        # Squarish blocks keep the kernel efficient; 16 rows x 64+ columns measured well.
        cols = min(n, max(64, BLAS_SERIAL_GEMM // (k * min(m, 16))))
        rows = max(1, BLAS_SERIAL_GEMM // (k * cols))
    n_blocks = -(-m // rows)
    edges = [m * i // n_blocks for i in range(n_blocks + 1)]  # even blocks, sizes +-1
    for r0, r1 in itertools.pairwise(edges):
        # A one-row block is a gemv, which has its own, lower threshold (at least one
        # column a block: past it, k alone is over the threshold and threads it may).
        step = cols if r1 - r0 > 1 or k * cols <= BLAS_SERIAL_GEMV else BLAS_SERIAL_GEMV // k
        step = max(1, step)
        for c in range(0, n, step):
            block = out[..., r0:r1, c : c + step]
            np.matmul(a[..., r0:r1, :], b[..., c : c + step], out=block)
    return out


def _activate(activation: Activation, z: Array, out: Array) -> None:
    """``out[...] = activation(z)``, in place where NumPy allows, as the core computes it."""
    if activation.name == "tanh":
        np.tanh(z, out=out)
    elif activation.name == "relu":
        np.maximum(z, 0.0, out=out)
    elif activation.name == "identity":
        out[...] = z
    else:
        forward: Callable[[Array], Array] = activation.forward  # type: ignore[assignment]
        out[...] = forward(z)
