"""``TrainingSession.update_at`` (core/update.py) against references: the chapter's loop,
torch.optim's step and ``clip_grad_norm_``, central differences, and the run's own steps."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gradscape.core.session import TrainingSession
from tests.chapter_loop import chapter_loop
from tests.helpers import central_difference, require_torch


def _session(config: dict[str, Any], steps: int) -> TrainingSession:
    s = TrainingSession(config)
    s.step(steps)
    return s


def test_a_chapter_update_is_its_loops_update_and_leaves_the_run_alone() -> None:
    s = _session({"preset": "pass-fail"}, 12)
    before_run = s.params.copy()
    tr = s.update_at(7)
    ref = chapter_loop(7)[6]
    np.testing.assert_allclose(tr.before, ref.before, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tr.grad_raw, ref.grad, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tr.after, ref.after, rtol=0, atol=1e-12)
    # the run's own theta_6 and theta_7, bit for bit; the session has not moved
    np.testing.assert_array_equal(tr.before, s.params_at([6])[0])
    np.testing.assert_array_equal(tr.after, s.params_at([7])[0])
    np.testing.assert_array_equal(s.params, before_run)
    assert s.step_count == 12
    model, X, y = s.model, s.dataset.X, s.dataset.y  # type: ignore[union-attr]
    fd = central_difference(lambda th: model.loss(th, X, y), tr.before)
    np.testing.assert_allclose(tr.grad_raw, fd, rtol=1e-6)
    np.testing.assert_array_equal(tr.grad, tr.grad_raw)  # no clipping
    assert tr.loss_before == pytest.approx(ref.loss, abs=3e-9)  # the loop adds 1e-9
    assert tr.grad_norm == pytest.approx(float(np.linalg.norm(ref.grad)), rel=1e-12)
    assert (tr.step, tr.optimizer, tr.t, tr.batch_size, tr.full) == (7, "sgd", 7, 4, True)
    assert (tr.clip_norm, tr.clip_scale, tr.lr, tr.base_lr) == (None, 1.0, 0.1, 0.1)
    assert tr.state_before == tr.state_after == {}


def _torch_update(tr: Any) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    torch = require_torch()
    hyper = dict(tr.hyper)
    lr = hyper.pop("lr")
    if "betas" in hyper:
        hyper["betas"] = tuple(hyper["betas"])
    p = torch.tensor(tr.before, dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor(tr.grad, dtype=torch.float64)
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
    opt = cls[tr.optimizer]([p], lr=lr, foreach=False, **hyper)
    state = {k: torch.tensor(v, dtype=torch.float64) for k, v in tr.state_before.items()}
    if tr.optimizer != "sgd":
        state["step"] = torch.tensor(float(tr.t - 1))
    opt.state[p] = state
    opt.step()
    return p.detach().numpy(), {k: v.numpy() for k, v in opt.state[p].items() if k != "step"}


@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
        {"name": "adam", "lr": 0.01, "amsgrad": True},
        {"name": "rmsprop", "lr": 0.005, "momentum": 0.5, "centered": True},
    ],
    ids=lambda o: str(o["name"]),
)
def test_a_minibatch_update_is_torch_optims_step_on_its_own_batch(
    optimizer: dict[str, Any],
) -> None:
    torch = require_torch()
    s = _session({"preset": "moons-mlp", "optimizer": optimizer, "batch_size": 16}, 30)
    tr = s.update_at(23)
    after, state_after = _torch_update(tr)
    np.testing.assert_allclose(tr.after, after, rtol=1e-12, atol=1e-300)
    np.testing.assert_array_equal(tr.after, s.params_at([23])[0])
    assert sorted(tr.state_after) == sorted(state_after)
    for key, ref in state_after.items():
        np.testing.assert_allclose(tr.state_after[key], ref, rtol=1e-12, atol=1e-300)
    assert (tr.t, tr.batch_size, tr.full) == (23, 16, False)
    # the gradient is the loss's on update 23's own mini-batch (torch autograd)
    Xb, yb, theta = s.batch_at(23)
    np.testing.assert_array_equal(tr.before, theta)
    loss, grad = s.model.loss_and_grad(theta, Xb, yb)
    np.testing.assert_array_equal(tr.grad_raw, grad)
    assert tr.loss_before == loss
    t = torch.tensor(theta, requires_grad=True)
    a = torch.tensor(Xb)
    for layer in s.model.layers:
        a = a @ t[layer.w_slice].reshape(layer.fan_in, layer.fan_out) + t[layer.b_slice]
        if layer.index < len(s.model.layers) - 1:
            a = torch.tanh(a)
    torch.nn.functional.binary_cross_entropy_with_logits(a[:, 0], torch.tensor(yb)).backward()
    np.testing.assert_allclose(tr.grad_raw, t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_a_clipped_update_is_given_torchs_clipped_gradient() -> None:
    torch = require_torch()
    s = _session({"preset": "exploding", "clip_norm": 1.0}, 5)
    tr = s.update_at(4)
    assert tr.clip_norm == 1.0 and tr.grad_norm > 1.0
    p = torch.tensor(tr.before, requires_grad=True)
    p.grad = torch.tensor(tr.grad_raw)
    torch.nn.utils.clip_grad_norm_([p], max_norm=1.0)
    np.testing.assert_allclose(tr.grad, p.grad.numpy(), rtol=1e-12)
    assert tr.clip_scale == pytest.approx(1.0 / (np.linalg.norm(tr.grad_raw) + 1e-6), rel=1e-14)
    assert tr.grad_norm == pytest.approx(float(np.linalg.norm(tr.grad_raw)), rel=1e-12)
    np.testing.assert_array_equal(tr.after, s.params_at([4])[0])


@pytest.mark.parametrize("k", [0, 6, -1, True, 2.0])
def test_update_at_takes_a_step_of_the_run(k: Any) -> None:
    s = _session({"preset": "pass-fail"}, 5)
    assert s.update_at(1).step == 1 and s.update_at(5).step == 5  # the first and the last
    with pytest.raises(ValueError, match=r"^step must be an integer in \[1, 5\], got "):
        s.update_at(k)


def test_an_update_on_an_analytic_surface_has_no_batch() -> None:
    """rosenbrock is a function, not a data set: the trace has no batch size and counts
    as a full batch; its loss is the surface's value at theta_{k-1} (Rosenbrock with
    a = 1, b = 100: (1 - x)^2 + 100 (y - x^2)^2)."""
    s = _session({"preset": "rosenbrock"}, 3)
    tr = s.update_at(2)
    assert (tr.batch_size, tr.full, tr.step, tr.t) == (None, True, 2, 2)
    x, y = tr.before
    assert tr.loss_before == pytest.approx((1 - x) ** 2 + 100 * (y - x * x) ** 2, rel=1e-12)
    np.testing.assert_array_equal(tr.after, s.params_at([2])[0])
