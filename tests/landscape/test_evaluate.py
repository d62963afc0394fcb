"""The batched plane evaluator against a per-point loop of the core's own loss."""

from __future__ import annotations

import os
import threading
import warnings
from typing import cast

import numpy as np
import pytest

from gradscape.core.nn import MLP
from gradscape.core.types import FloatArray, Model
from gradscape.landscape import evaluate
from gradscape.landscape.evaluate import affine_losses

ARCHITECTURES = [
    ("tanh", "bce", [6, 5]),
    ("relu", "mse", [7]),
    ("sigmoid", "cross_entropy", [4, 3]),
    ("softplus", "bce", [5]),
    ("leaky_relu", "mse", [3, 3, 3]),
    ("identity", "cross_entropy", [4]),
    (["tanh", "relu"], "bce", [5, 4]),
]


def _problem(activation: object, loss: str, hidden: list[int], seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(23, 3))
    m = 3 if loss == "cross_entropy" else 1
    y = {
        "mse": rng.normal(size=23),
        "bce": (rng.random(23) > 0.5).astype(float),
        "cross_entropy": rng.integers(0, 3, size=23).astype(float),
    }[loss]
    model = MLP(3, hidden, m, activation, loss, init={"name": "normal", "std": 0.8})  # type: ignore[arg-type]
    origin = model.init_params(rng)
    directions = rng.normal(size=(2, model.n_params))
    coords = rng.uniform(-1.5, 1.5, size=(37, 2))
    return model, X, y, origin, directions, coords


def _loop(
    model: Model,
    X: FloatArray | None,
    y: FloatArray | None,
    origin: FloatArray,
    directions: FloatArray,
    coords: FloatArray,
) -> FloatArray:
    """The reference: the model's own loss at each point, one point at a time."""
    return np.array([model.loss(origin + c @ directions, X, y) for c in coords])


@pytest.mark.parametrize(("activation", "loss", "hidden"), ARCHITECTURES)
def test_float64_matches_the_core_loss_to_1e12(
    activation: object, loss: str, hidden: list[int]
) -> None:
    model, X, y, origin, D, C = _problem(activation, loss, hidden)
    fast = affine_losses(model, X, y, origin, D, C, precision="float64")
    ref = _loop(model, X, y, origin, D, C)
    np.testing.assert_allclose(fast, ref, rtol=1e-12, atol=0)


@pytest.mark.parametrize(("activation", "loss", "hidden"), ARCHITECTURES)
def test_float32_matches_the_core_loss_to_1e5(
    activation: object, loss: str, hidden: list[int]
) -> None:
    model, X, y, origin, D, C = _problem(activation, loss, hidden)
    fast = affine_losses(model, X, y, origin, D, C, precision="float32")
    ref = _loop(model, X, y, origin, D, C)
    np.testing.assert_allclose(fast, ref, rtol=1e-5, atol=1e-7)
    # ... and it is float32 arithmetic (the cheap display grid), not float64 in disguise
    assert np.max(np.abs(fast - ref) / np.abs(ref)) > 1e-10


def test_one_direction_and_one_point() -> None:
    model, X, y, origin, D, C = _problem("tanh", "bce", [4])
    line = affine_losses(model, X, y, origin, D[0], C[:, 0])
    assert line.shape == (37,)
    np.testing.assert_allclose(line, _loop(model, X, y, origin, D[:1], C[:, :1]), rtol=1e-12)
    single = affine_losses(model, X, y, origin, D, C[:1])
    assert single.shape == (1,)


def test_threads_and_chunk_sizes_do_not_change_the_result(monkeypatch: pytest.MonkeyPatch) -> None:
    model, X, y, origin, D, C = _problem("tanh", "bce", [6, 5])
    one = affine_losses(model, X, y, origin, D, C, precision="float32", workers=1)
    two = affine_losses(model, X, y, origin, D, C, precision="float32", workers=2)
    np.testing.assert_array_equal(one, two)
    monkeypatch.setattr(evaluate, "CHUNK_FLOATS", 200)  # a few points per chunk, ragged end
    small = affine_losses(model, X, y, origin, D, C, precision="float32", workers=2)
    np.testing.assert_allclose(small, one, rtol=1e-6)


def test_overflow_is_inf_or_nan_without_warnings() -> None:
    model, X, y, origin, D, C = _problem("relu", "mse", [5])
    huge = affine_losses(model, X, y, origin, D, C * 1e200, precision="float32")
    assert not np.isfinite(huge).any()
    huge64 = affine_losses(model, X, y, origin, D, C * 1e200)
    assert not np.isfinite(huge64).any()


def test_generic_models_use_batch_loss_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    from gradscape.core.functions import make_function

    f = make_function("himmelblau")
    origin, D = np.array([0.5, -0.25]), np.array([[1.0, 0.5], [-0.3, 1.0]])
    C = np.random.default_rng(0).uniform(-3, 3, size=(50, 2))
    monkeypatch.setattr(evaluate, "GENERIC_CHUNK_FLOATS", 14)
    got = affine_losses(f, None, None, origin, D, C)
    # A chunk's matrix product may round its last bit differently from the whole one's
    # (the BLAS kernel picks its blocking by shape), so equal to a few ulps, not bit for bit.
    np.testing.assert_allclose(got, f.value(origin + C @ D), rtol=1e-14, atol=0)


def test_unknown_precision_and_missing_data_are_value_errors() -> None:
    model, X, y, origin, D, C = _problem("tanh", "bce", [4])
    with pytest.raises(ValueError, match="precision"):
        affine_losses(model, X, y, origin, D, C, precision="float16")
    with pytest.raises(ValueError, match="needs data"):
        affine_losses(model, None, None, origin, D, C)


def test_two_workers_evaluate_every_chunk_and_report_each_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Small chunks on two threads: every point is the core's own loss (the reference
    loop), and ``between`` is called once per chunk (41 points, one per chunk here)."""
    model, X, y, origin, D, _ = _problem("tanh", "bce", [6, 5])
    C = np.random.default_rng(9).uniform(-1, 1, size=(41, 2))
    calls = []
    monkeypatch.setattr(evaluate, "CHUNK_FLOATS", 100)
    got = affine_losses(
        model, X, y, origin, D, C, precision="float64", workers=2, between=lambda: calls.append(1)
    )
    np.testing.assert_allclose(got, _loop(model, X, y, origin, D, C), rtol=1e-12, atol=0)
    assert len(calls) == 41


def test_matrices_past_blass_serial_limit_are_blocked_to_the_same_losses() -> None:
    """A 64-64 network on 64 samples: each chunk's deeper matmul (64 x 65 x 64 per point)
    passes OpenBLAS's single-thread limit and is done in blocks; the losses are still the
    core's own, point by point (the reference loop), in float64."""
    rng = np.random.default_rng(12)
    X, y = rng.normal(size=(64, 3)), (rng.random(64) > 0.5).astype(float)
    model = MLP(3, [64, 64], 1, "tanh", "bce", init={"name": "normal", "std": 0.3})
    origin = model.init_params(rng)
    D, C = rng.normal(size=(2, model.n_params)) * 0.1, rng.uniform(-1, 1, size=(9, 2))
    assert evaluate.BLAS_SERIAL_GEMM < 64 * 65 * 64
    fast = affine_losses(model, X, y, origin, D, C, precision="float64", workers=1)
    np.testing.assert_allclose(fast, _loop(model, X, y, origin, D, C), rtol=1e-12, atol=0)
    a, b = rng.normal(size=(3, 40, 70)), rng.normal(size=(3, 70, 300))  # a stack, many blocks
    np.testing.assert_allclose(evaluate._serial_matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    one = rng.normal(size=(1, 70))  # one row: a gemv, blocked by its own limit
    np.testing.assert_allclose(evaluate._serial_matmul(one, b[0]), one @ b[0], rtol=1e-12)


def test_a_network_needs_both_x_and_y() -> None:
    model, X, y, origin, D, C = _problem("tanh", "bce", [4])
    for data in ((X, None), (None, y)):
        with pytest.raises(ValueError, match=r"^a network needs data: X and y are required$"):
            affine_losses(model, data[0], data[1], origin, D, C)


def test_an_unknown_precision_names_the_known_ones() -> None:
    model, X, y, origin, D, C = _problem("tanh", "bce", [4])
    with pytest.raises(
        ValueError, match=r"^precision: unknown 'float16'; known: float32, float64$"
    ):
        affine_losses(model, X, y, origin, D, C, precision="float16")


@pytest.mark.parametrize("hidden", [[], [4]])
def test_float32_overflows_where_float64_does_not(hidden: list[int]) -> None:
    """Far enough out the mse logits pass 1e19, so their squares pass float32's largest
    number (3.4e38) though not float64's: the float32 grid is float32 arithmetic all the
    way to the loss (inf there), the float64 one the core's own loss (the reference loop)."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(23, 3)), rng.normal(size=23)
    model = MLP(3, hidden, 1, "relu" if hidden else [], "mse")
    origin = model.init_params(rng)
    D = rng.normal(size=(2, model.n_params))
    # A linear model's logits grow like the coordinates, a relu network's like their square.
    scale = 1e10 if hidden else 1e20
    angles = np.linspace(0.0, 2 * np.pi, 8, endpoint=False)
    C = scale * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    ref = _loop(model, X, y, origin, D, C)
    assert np.all((ref > 1e39) & (ref < 1e300))
    np.testing.assert_allclose(affine_losses(model, X, y, origin, D, C), ref, rtol=1e-12, atol=0)
    assert np.isposinf(affine_losses(model, X, y, origin, D, C, precision="float32")).all()


def _callers(workers: int | None = None) -> list[int]:
    """The thread that reported each chunk of the 2-6-5-1 problem (its losses checked)."""
    model, X, y, origin, D, C = _problem("tanh", "bce", [6, 5])
    threads: list[int] = []
    got = affine_losses(
        model,
        X,
        y,
        origin,
        D,
        C,
        workers=workers,
        between=lambda: threads.append(threading.get_ident()),
    )
    np.testing.assert_allclose(got, _loop(model, X, y, origin, D, C), rtol=1e-12, atol=0)
    return threads


def test_one_worker_stays_on_the_calling_thread_and_two_leave_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """37 points, one per chunk (CHUNK_FLOATS = 200 holds one point's 23 samples x 6
    units): one worker reports every chunk from the caller's thread, two from their own."""
    monkeypatch.setattr(evaluate, "CHUNK_FLOATS", 200)
    here = threading.get_ident()
    threads = _callers(workers=1)
    assert threads == [here] * 37
    threads = _callers(workers=2)
    assert len(threads) == 37
    assert here not in threads


@pytest.mark.parametrize(
    ("min_work", "cpus", "threaded"),
    [
        (37 * 23 * 6, 4, True),  # points x samples x widest layer: exactly the threshold
        (37 * 23 * 6 + 1, 4, False),  # one short of it
        (37 * 23 * 6, None, False),  # an unknown CPU count is one CPU
        (37 * 23 * 6, 1, False),  # one CPU, one thread
    ],
)
def test_workers_default_to_two_threads_from_parallel_min_work(
    monkeypatch: pytest.MonkeyPatch, min_work: int, cpus: int | None, threaded: bool
) -> None:
    """Left to itself the evaluator uses min(MAX_WORKERS, CPUs) threads once the work
    reaches PARALLEL_MIN_WORK, and the caller's thread below it."""
    monkeypatch.setattr(evaluate, "CHUNK_FLOATS", 200)
    monkeypatch.setattr(evaluate, "PARALLEL_MIN_WORK", min_work)
    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    threads = _callers()
    assert len(threads) == 37
    assert (threading.get_ident() not in threads) is threaded


@pytest.mark.parametrize("workers", [1, 2])
def test_between_is_called_once_per_chunk_of_several_points(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """Four points per chunk (552 = 4 x 23 samples x 6 units): 37 points are 10 chunks,
    split 5 and 5 between two workers."""
    monkeypatch.setattr(evaluate, "CHUNK_FLOATS", 552)
    threads = _callers(workers=workers)
    assert len(threads) == 10


def test_two_workers_overflow_without_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker thread ignores overflow itself (errstate is per thread): far-out points
    on two threads are inf or nan, and no RuntimeWarning escapes."""
    model, X, y, origin, D, C = _problem("relu", "mse", [5])
    monkeypatch.setattr(evaluate, "CHUNK_FLOATS", 200)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        huge = affine_losses(model, X, y, origin, D, C * 1e200, precision="float32", workers=2)
    assert not np.isfinite(huge).any()


class _Opaque:
    """An MLP seen only through ``batch_loss``: not an ``MLP``, so the generic path."""

    def __init__(self, net: MLP) -> None:
        self.net = net

    def batch_loss(
        self, thetas: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> FloatArray:
        return np.asarray(self.net.batch_loss(thetas, X, y), dtype=np.float64)


@pytest.mark.parametrize(("chunk_floats", "chunks"), [(14, 8), (3, 50)])
def test_generic_models_get_their_data_and_report_each_chunk(
    monkeypatch: pytest.MonkeyPatch, chunk_floats: int, chunks: int
) -> None:
    """A model with data on the generic path: the losses are the network's own (the
    reference loop) and ``between`` runs once per chunk of GENERIC_CHUNK_FLOATS numbers
    (P = 2 here: 14 // 2 = 7 points a chunk, or 3 // 2 = 1)."""
    net = MLP(1, [], 1, [], "mse")
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(20, 1)), rng.normal(size=20)
    origin, D = np.array([0.5, -0.25]), np.array([[1.0, 0.5], [-0.3, 1.0]])
    C = rng.uniform(-3, 3, size=(50, 2))
    monkeypatch.setattr(evaluate, "GENERIC_CHUNK_FLOATS", chunk_floats)
    calls: list[int] = []
    got = affine_losses(
        cast(Model, _Opaque(net)), X, y, origin, D, C, between=lambda: calls.append(1)
    )
    np.testing.assert_allclose(got, _loop(net, X, y, origin, D, C), rtol=1e-12, atol=0)
    assert len(calls) == chunks


def test_blocked_matmul_is_the_plain_product_for_every_shape() -> None:
    """``_serial_matmul(a, b)`` against NumPy's ``a @ b`` where the blocking is unusual."""
    rng = np.random.default_rng(8)
    pairs = [
        # stacks broadcast as in @: a stack by one matrix, and stacks of both sides
        (rng.normal(size=(3, 40, 70)), rng.normal(size=(70, 300))),
        (rng.normal(size=(2, 1, 40, 70)), rng.normal(size=(1, 3, 70, 300))),
        # one row past the gemv limit, done a column at a time (9215 // 5000 = 1)
        (rng.normal(size=(1, 5000)), rng.normal(size=(5000, 4))),
        # two rows of a long inner dimension: a gemm, whole columns
        (rng.normal(size=(2, 9216)), rng.normal(size=(9216, 1))),
        # many rows, a short inner dimension: row blocks of full width
        (rng.normal(size=(1, 9216, 1)), rng.normal(size=(1, 64))),
    ]
    for a, b in pairs:
        np.testing.assert_allclose(evaluate._serial_matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    a32, b32 = rng.normal(size=(3, 40)).astype(np.float32), rng.normal(size=(40, 5))
    assert evaluate._serial_matmul(a32, b32.astype(np.float32)).dtype == np.float32


def test_a_one_row_product_with_a_long_inner_dimension_is_written() -> None:
    # k = 10,000 > BLAS_SERIAL_GEMV: the gemv column step BLAS_SERIAL_GEMV // k was 0, so
    # no column was written and the result was np.empty's leftovers (a 9216-wide hidden
    # layer feeding a small output reaches it)
    a, b = np.ones((1, 10_000)), np.arange(20_000.0).reshape(10_000, 2)
    assert np.array_equal(evaluate._serial_matmul(a, b), a @ b)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 1, 12_000)), rng.standard_normal((12_000, 5))
    np.testing.assert_allclose(evaluate._serial_matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("precision", ["float32", "float64"])
def test_the_grid_works_in_its_precision_throughout(
    precision: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The float32 display grid is half the memory of float64: the plan computed once per
    call and every worker's buffers are float32, not float64 arrays cast at the end."""
    model, X, y, origin, D, C = _problem("tanh", "mse", [6, 5])
    plans: list[object] = []
    spaces: list[object] = []
    plan_of, space_of = evaluate._mlp_plan, evaluate._Workspace

    def plan(*args: object) -> object:
        plans.append(plan_of(*args))  # type: ignore[arg-type]
        return plans[-1]

    def space(*args: object) -> object:
        spaces.append(space_of(*args))  # type: ignore[arg-type]
        return spaces[-1]

    monkeypatch.setattr(evaluate, "_mlp_plan", plan)
    monkeypatch.setattr(evaluate, "_Workspace", space)
    out = affine_losses(model, X, y, origin, D, C, precision=precision, workers=2)
    np.testing.assert_allclose(out, _loop(model, X, y, origin, D, C), rtol=1e-5)
    want = np.dtype(precision)
    assert len(plans) == 1 and spaces
    (p,) = plans
    arrays = [p.first, *p.deeper, p.y]  # type: ignore[attr-defined]
    assert [a.dtype for a in arrays] == [want] * len(arrays)
    for s in spaces:
        buffers = [s.first, *s.hidden, *s.pre]  # type: ignore[attr-defined]
        assert [b.dtype for b in buffers] == [want] * len(buffers)
