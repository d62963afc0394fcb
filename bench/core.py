"""Training-core benchmark: steps/s of TrainingSession.step against baselines in the same run.

Baselines: a plain hand-written NumPy loop doing the same maths (no bookkeeping) and,
when torch is installed, torch autograd + torch.optim.SGD in float64. Prints ratios;
no absolute time is a pass/fail threshold (the machine is shared and noisy).

    .venv/bin/python bench/core.py
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

import numpy as np

from gradscape.core.checkpoints import replay_bound
from gradscape.core.data import make_dataset
from gradscape.core.session import TrainingSession

try:  # optional reference
    import torch
except ImportError:  # pragma: no cover
    torch = None

CHAPTER_X = np.array([[5, 7], [3, 4], [8, 6], [2, 3]], dtype=float)
CHAPTER_Y = np.array([1, 0, 1, 0], dtype=float)
MLP_CONFIG = {
    "data": {"name": "moons", "n_samples": 512, "noise": 0.1},
    "model": {"hidden": [16, 16], "activation": "tanh", "init": "xavier"},
    "loss": "bce",
    "optimizer": {"name": "sgd", "lr": 0.05},
    "batch_size": 32,
    "seed": 0,
}


def best_rate(fn: Callable[[int], None], steps: int, repeats: int = 5) -> float:
    """Best steps/s over ``repeats`` runs of ``fn(steps)`` (best-of resists noise)."""
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(steps)
        best = min(best, time.perf_counter() - t0)
    return steps / best


def session_neuron(steps: int) -> None:
    TrainingSession({"preset": "pass-fail"}).step(steps, evaluate="last")


def plain_neuron(steps: int) -> None:
    """The chapter's own hand-written loop (forward, loss, backward, update)."""
    weights = np.array([0.4967141530112327, -0.13826430117118466])
    bias = 0.0
    for _ in range(steps):
        z = CHAPTER_X @ weights + bias
        pred = 1 / (1 + np.exp(-z))
        _loss = -np.mean(
            CHAPTER_Y * np.log(pred + 1e-9) + (1 - CHAPTER_Y) * np.log(1 - pred + 1e-9)
        )
        error = pred - CHAPTER_Y
        weights -= 0.1 * (CHAPTER_X.T @ error / len(CHAPTER_X))
        bias -= 0.1 * np.mean(error)


def torch_neuron(steps: int) -> None:
    assert torch is not None
    X, y = torch.tensor(CHAPTER_X), torch.tensor(CHAPTER_Y)
    w = torch.tensor(
        [0.4967141530112327, -0.13826430117118466], dtype=torch.float64, requires_grad=True
    )
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([w, b], lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(X @ w + b, y)
        loss.backward()
        opt.step()


def session_mlp(steps: int) -> None:
    TrainingSession(MLP_CONFIG).step(steps, evaluate="last")


def _moons() -> tuple[np.ndarray, np.ndarray]:
    ds = make_dataset(MLP_CONFIG["data"], seed=0)  # type: ignore[arg-type]
    return ds.X, ds.y


def plain_mlp(steps: int) -> None:
    X, y = _moons()
    rng = np.random.default_rng(0)
    sizes = [2, 16, 16, 1]
    Ws = [rng.uniform(-1, 1, (a, b)) * math.sqrt(6 / (a + b)) for a, b in itertools.pairwise(sizes)]
    bs = [np.zeros(b) for b in sizes[1:]]
    perm, pos = rng.permutation(512), 0
    for _ in range(steps):
        idx = perm[pos : pos + 32]
        pos = (pos + 32) % 512
        a0 = X[idx]
        a1 = np.tanh(a0 @ Ws[0] + bs[0])
        a2 = np.tanh(a1 @ Ws[1] + bs[1])
        z = (a2 @ Ws[2] + bs[2])[:, 0]
        _loss = np.mean(np.maximum(z, 0) - z * y[idx] + np.log1p(np.exp(-np.abs(z))))
        d3 = ((1 / (1 + np.exp(-z)) - y[idx]) / len(idx))[:, None]
        d2 = (d3 @ Ws[2].T) * (1 - a2 * a2)
        d1 = (d2 @ Ws[1].T) * (1 - a1 * a1)
        for W, bb, a, d in ((Ws[2], bs[2], a2, d3), (Ws[1], bs[1], a1, d2), (Ws[0], bs[0], a0, d1)):
            W -= 0.05 * (a.T @ d)
            bb -= 0.05 * d.sum(axis=0)


def torch_mlp(steps: int) -> None:
    assert torch is not None
    X, y = (torch.tensor(a) for a in _moons())
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 16),
        torch.nn.Tanh(),
        torch.nn.Linear(16, 1),
    ).double()
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    perm, pos = torch.randperm(512), 0
    for _ in range(steps):
        idx = perm[pos : pos + 32]
        pos = (pos + 32) % 512
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(X[idx])[:, 0], y[idx])
        loss.backward()
        opt.step()


def compare(
    name: str,
    session: Callable[[int], None],
    plain: Callable[[int], None],
    ref: Callable[[int], None] | None,
    steps: int,
) -> None:
    s, p = best_rate(session, steps), best_rate(plain, steps)
    line = f"{name:<28} session {s:9.0f} steps/s | plain loop {p:9.0f} | overhead x{p / s:4.2f}"
    if ref is not None:
        t = best_rate(ref, steps // 4)
        line += f" | torch {t:7.0f} | session/torch x{s / t:5.1f}"
    print(line)


def scaling() -> None:
    print("\ncost per step vs batch size x parameters (MLP, session):")
    base = None
    for hidden, batch in (([16, 16], 32), ([16, 16], 128), ([64, 64], 32), ([64, 64], 128)):
        cfg = {
            **MLP_CONFIG,
            "model": {**MLP_CONFIG["model"], "hidden": hidden},
            "batch_size": batch,
        }
        sess = TrainingSession(cfg)
        rate = best_rate(lambda n, s=sess: s.step(n, evaluate="none") and None, 2000, 3)
        work = batch * sess.model.n_params
        base = base or (work, rate)
        print(
            f"  hidden {hidden} batch {batch:3d} P {sess.model.n_params:5d}: "
            f"{1e6 / rate:7.1f} us/step "
            f"(work x{work / base[0]:5.1f}, time x{base[1] / rate:5.2f})"
        )


BIG_CONFIG = {
    "data": {"name": "moons", "n_samples": 10_000, "noise": 0.1},
    "model": {"hidden": [256, 256, 64], "activation": "tanh", "init": "xavier"},
    "loss": "bce",
    "optimizer": {"name": "adam", "lr": 0.001},
    "batch_size": 32,
    "seed": 0,
}


def _worst_step(s: TrainingSession) -> int:
    """The step whose rebuild replays the most: the one before the end of the widest gap."""
    ends = [*s.checkpoint_steps, s.step_count]
    gap, end = max((b - a, b) for a, b in itertools.pairwise(ends))
    return end - 1 if gap > 1 else 0


def memory() -> None:
    """moons-mlp memory and snapshot bytes per 1,000,000 steps; the worst rebuild."""
    sess = TrainingSession({"preset": "moons-mlp"})
    seen, t_steps = {}, 0.0
    for target in (50_000, 100_000):
        t0 = time.perf_counter()
        sess.step(target - sess.step_count, evaluate="none")
        t_steps += time.perf_counter() - t0
        seen[target] = (sess.memory_bytes(), len(sess.snapshot()))
        print(
            f"  moons-mlp at {target:7d} steps: memory {seen[target][0] / 1e6:6.2f} MB, "
            f"snapshot {seen[target][1] / 1e6:6.2f} MB, {len(sess.checkpoint_steps)} checkpoints"
        )
    (m1, b1), (m2, b2) = seen[50_000], seen[100_000]
    print(
        f"  per 1,000,000 steps: memory +{(m2 - m1) / 5e4:6.1f} MB, "
        f"snapshot +{(b2 - b1) / 5e4:6.1f} MB ({(b2 - b1) / 5e4:5.1f} B/step)"
    )
    per_step = t_steps / 100_000
    fresh = TrainingSession.restore(sess.snapshot(), sess.config)  # nothing cached
    k = _worst_step(fresh)
    replays = k - max(c for c in fresh.checkpoint_steps if c <= k)
    t0 = time.perf_counter()
    fresh.params_at([k])
    rebuild = time.perf_counter() - t0
    print(
        f"  worst rebuild at T=100,000 (step {k}, replays {replays}"
        f", bound {replay_bound(100_000)}): {rebuild * 1e3:6.1f} ms = "
        f"x{rebuild / per_step:7.0f} one step ({per_step * 1e6:5.1f} us); "
        f"at 1,000,000 steps <= ~{replay_bound(1_000_000) * per_step:4.1f} s"
    )


def big_model() -> None:
    """The 83k-parameter Adam model: checkpoints capped by bytes, not count."""
    sess = TrainingSession(BIG_CONFIG)
    sess.step(2000, evaluate="none")
    held = sess._trainer.checkpoints
    ends = [*sess.checkpoint_steps, sess.step_count]
    worst = max(b - a for a, b in itertools.pairwise(ends)) - 1
    print(
        f"  big model P={sess.model.n_params} at 2,000 steps: memory "
        f"{sess.memory_bytes() / 1e6:5.1f} MB (checkpoints {held.nbytes() / 1e6:5.1f} MB of "
        f"{held.max_bytes / 1e6:4.1f}), snapshot {len(sess.snapshot()) / 1e6:5.1f} MB, "
        f"{len(held)} checkpoints, worst replay {worst} steps"
    )


def main() -> None:
    if torch is not None:
        torch.set_num_threads(1)  # like the session: tiny tensors, one thread is torch's best
    print(f"numpy {np.__version__}; torch {'absent' if torch is None else torch.__version__}")
    compare(
        "chapter neuron (full batch)",
        session_neuron,
        plain_neuron,
        torch_neuron if torch else None,
        20_000,
    )
    compare("MLP 2-16-16-1, batch 32", session_mlp, plain_mlp, torch_mlp if torch else None, 5_000)
    scaling()
    print("\nmemory and snapshots (history + checkpoints):")
    memory()
    big_model()


if __name__ == "__main__":
    main()
