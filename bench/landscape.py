"""Landscape benchmark: batched surfaces against a per-point loop, plus scale numbers.

Baseline (same run): a Python loop calling the core's ``model.loss`` once per grid
point. The floor is the time for just the activations (tanh over every hidden unit of
every sample at every grid point, in cache-sized chunks): no evaluation that computes
the activations can beat it. Times are the best of several runs (the machine is
shared); no absolute time is a pass/fail threshold.

    .venv/bin/python bench/landscape.py
"""

from __future__ import annotations

import os
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from gradscape.core.data import make_dataset
from gradscape.core.nn import MLP
from gradscape.landscape import evaluate as engine
from gradscape.landscape import lambda_max, make_plane, principal_directions, surface

CHAPTER_X = np.array([[5, 7], [3, 4], [8, 6], [2, 3]], dtype=float)
CHAPTER_Y = np.array([1, 0, 1, 0], dtype=float)
CHAPTER_THETA = np.array([0.4967141530112327, -0.13826430117118466, 0.0])


def best(fn: Callable[[], Any], repeats: int = 5) -> float:
    """Best wall time in seconds over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def descend(
    model: MLP, X: np.ndarray, y: np.ndarray, theta: np.ndarray, lr: float, steps: int
) -> np.ndarray:
    """Full-batch gradient descent: the trajectory ``(steps + 1, P)``."""
    path = [theta]
    for _ in range(steps):
        path.append(path[-1] - lr * model.loss_and_grad(path[-1], X, y)[1])
    return np.array(path)


def moons(n: int) -> tuple[np.ndarray, np.ndarray]:
    data = make_dataset({"name": "moons", "n_samples": n, "noise": 0.1}, seed=0)
    return data.X, data.y


def tanh_floor(n_points: int, n: int, widths: list[int], dtype: type[np.floating]) -> float:
    """Seconds for tanh over every hidden unit, in the evaluator's chunk shapes."""
    chunk = max(1, engine.CHUNK_FLOATS // (n * max(widths)))
    bufs = [np.random.default_rng(0).normal(size=(chunk, w, n)).astype(dtype) for w in widths]
    full, rest = divmod(n_points, chunk)

    def run() -> None:
        for buf in bufs:
            for _ in range(full):
                np.tanh(buf, out=buf)
            np.tanh(buf[:rest], out=buf[:rest])

    return best(run, 3)


def headline() -> None:
    X, y = moons(512)
    model = MLP(2, [16, 16], 1, "tanh", "bce")
    traj = descend(model, X, y, model.init_params(np.random.default_rng(0)), 0.5, 200)
    plane = make_plane("random", model, X, y, traj, seed=0)
    G = 101
    grid = np.linspace(-1, 1, G)
    points = [plane.point(a, b) for b in grid for a in grid]
    runs = {
        "float32, 1 thread ": partial(surface, precision="float32", workers=1),
        "float32, 2 threads": partial(surface, precision="float32", workers=2),
        "float64, 1 thread ": partial(surface, precision="float64", workers=1),
        "float64, 2 threads": partial(surface, precision="float64", workers=2),
    }
    loop: list[float] = []
    fast: dict[str, list[float]] = {key: [] for key in runs}
    for _ in range(3):  # interleaved, so a noisy neighbour hurts both sides alike
        loop.append(best(lambda: [model.loss(p, X, y) for p in points], 1))
        for key, run in runs.items():
            fast[key].append(best(partial(run, model, X, y, plane, resolution=G), 2))
    base = min(loop)
    print(
        f"MLP 2-16-16-1 tanh, 512 moons, random plane, G={G} ({G * G} points), P={model.n_params}"
    )
    row("baseline: per-point loop of model.loss", base, base)
    for key, times in fast.items():
        row(f"surface {key}", min(times), base)
    for name, dtype in (("float32", np.float32), ("float64", np.float64)):
        row(f"floor: tanh alone, {name}, 1 thread", tanh_floor(G * G, 512, [16, 16], dtype), base)
    ref = np.array([model.loss(p, X, y) for p in points]).reshape(G, G)
    for prec in ("float32", "float64"):
        z = surface(model, X, y, plane, resolution=G, precision=prec).z
        print(f"  max relative error vs the loop, {prec}: {np.max(np.abs(z - ref) / ref):.1e}")


def row(label: str, seconds: float, base: float) -> None:
    print(f"  {label:<44}{seconds * 1e3:8.1f} ms   ratio {base / seconds:5.2f}x")


def memory() -> None:
    X, y = moons(512)
    model = MLP(2, [16, 16], 1, "tanh", "bce")
    plane = make_plane("random", model, X, y, center=model.init_params(np.random.default_rng(0)))
    for prec, workers in (("float32", 1), ("float32", 2), ("float64", 1)):
        tracemalloc.start()
        surface(model, X, y, plane, resolution=201, precision=prec, workers=workers)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"  peak traced memory, G=201 MLP surface, {prec} x{workers}: {peak / 2**20:6.1f} MiB"
        )


def scale() -> None:
    neuron = MLP(2, [], 1, [], "bce")
    traj = descend(neuron, CHAPTER_X, CHAPTER_Y, CHAPTER_THETA, 0.1, 2000)
    plane = make_plane("axes", neuron, CHAPTER_X, CHAPTER_Y, traj)
    for G in (61, 201):
        t = best(lambda: surface(neuron, CHAPTER_X, CHAPTER_Y, plane, resolution=G, path=traj))  # noqa: B023
        print(f"  chapter neuron, axes surface G={G:<4} + 2001-point path   {t * 1e3:7.2f} ms")
    t = best(lambda: plane.recentered(traj[1000]))
    print(f"  chapter neuron, re-centre a plane                     {t * 1e3:7.3f} ms")
    X, y = moons(512)
    model = MLP(2, [16, 16], 1, "tanh", "bce")
    mlp_traj = descend(model, X, y, model.init_params(np.random.default_rng(0)), 0.5, 2000)
    t = best(lambda: make_plane("pca", model, X, y, mlp_traj))
    print(f"  MLP, PCA plane of a 2000-step trajectory (P={model.n_params})      {t * 1e3:7.2f} ms")
    t = best(lambda: lambda_max(model, X, y, mlp_traj[-1]))
    print(f"  MLP, lambda_max at the final point                    {t * 1e3:7.2f} ms")


def growth() -> None:
    print("  surface (float32, auto workers) vs G, samples n, width h (P):")
    for G, n, h in (
        (51, 512, 16),
        (101, 512, 16),
        (201, 512, 16),
        (101, 128, 16),
        (101, 2048, 16),
        (101, 512, 32),
        (101, 512, 64),
    ):
        X, y = moons(n)
        model = MLP(2, [h, h], 1, "tanh", "bce")
        plane = make_plane(
            "random", model, X, y, center=model.init_params(np.random.default_rng(0))
        )
        t = best(lambda: surface(model, X, y, plane, resolution=G), 2)  # noqa: B023
        per = t / (G * G * n) * 1e9
        size = f"G={G:<4} n={n:<5} h={h:<3} P={model.n_params:<5}"
        print(f"    {size} {t * 1e3:8.1f} ms   {per:6.2f} ns per point x sample")
    print("  PCA vs trajectory length T and P (exact below min(T, P) = 512, randomised above):")
    rng = np.random.default_rng(0)
    for T, P in ((500, 337), (2000, 337), (8000, 337), (2000, 5000), (2000, 50000)):
        M = np.cumsum(rng.normal(size=(T, 8)), axis=0) @ rng.normal(size=(8, P))
        t = best(lambda: principal_directions(M), 2)  # noqa: B023
        print(f"    T={T:<5} P={P:<6} {t * 1e3:8.1f} ms")
    print("  lambda_max vs P (512 moons; cost = Lanczos steps x 2 backprops):")
    X, y = moons(512)
    for h in (8, 16, 64, 256):
        model = MLP(2, [h, h], 1, "tanh", "bce")
        theta = descend(model, X, y, model.init_params(np.random.default_rng(0)), 0.3, 100)[-1]
        t = best(lambda: lambda_max(model, X, y, theta), 2)  # noqa: B023
        print(f"    P={model.n_params:<6} {t * 1e3:8.1f} ms")


def main() -> None:
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"gradscape landscape benchmark (best of several runs; OPENBLAS_NUM_THREADS={threads})")
    headline()
    print("Memory")
    memory()
    print("Scale")
    scale()
    print("Growth")
    growth()


if __name__ == "__main__":
    main()
