"""A run's state: a copy is an independent checkpoint, and its size is counted."""

from __future__ import annotations

import numpy as np

from gradscape.core.optim import make_optimizer
from gradscape.core.state import State


def _adam_state() -> State:
    """A state with no field at its default: Adam stepped once (two buffers), mid-epoch."""
    opt = make_optimizer("adam", 3, lr=0.1, betas=(0.8, 0.99), eps=1e-6)
    theta = np.array([1.0, -2.0, 3.0])
    opt.step(theta, np.array([0.5, 0.25, -1.0]))
    schedule = {"name": "step", "step_size": 5, "gamma": 0.5}
    return State(7, theta, opt, 0.2, 0.1, 16, schedule, 2.0, epoch_index=3, pos=32, n=100)


def test_a_copy_has_every_field_and_shares_no_array_or_dict() -> None:
    s = _adam_state()
    c = s.copy()
    assert (c.step, c.base_lr, c.lr, c.batch_size, c.clip_norm) == (7, 0.2, 0.1, 16, 2.0)
    assert (c.epoch_index, c.pos, c.n) == (3, 32, 100)
    assert c.schedule == {"name": "step", "step_size": 5, "gamma": 0.5}
    assert c.schedule is not s.schedule
    np.testing.assert_array_equal(c.theta, s.theta)
    assert c.theta is not s.theta
    assert c.optimizer is not s.optimizer and c.optimizer.name == "adam"
    assert c.optimizer.hyper == s.optimizer.hyper
    assert c.optimizer.hyper["betas"] == (0.8, 0.99) and c.optimizer.hyper["eps"] == 1e-6
    want, got = s.optimizer.state_dict(), c.optimizer.state_dict()
    assert got["step"] == want["step"] == 1 and sorted(got["state"]) == ["exp_avg", "exp_avg_sq"]
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_array_equal(got["state"][key], want["state"][key])
    # 32 of 100 samples into the fourth epoch: 3 + 32 / 100
    assert c.epoch == 3.32
    first = float(s.theta[0])
    c.theta[0] = 99.0
    c.schedule["gamma"] = 0.1
    assert s.theta[0] == first and s.schedule["gamma"] == 0.5


def test_the_size_counts_theta_once_per_buffer_plus_512() -> None:
    """theta is 3 float64s = 24 bytes; Adam keeps exp_avg and exp_avg_sq after one step:
    24 * (1 + 2) + 512 = 584; a fresh SGD without momentum keeps none: 24 + 512 = 536."""
    assert _adam_state().nbytes() == 584
    sgd = make_optimizer("sgd", 3, lr=0.1)
    fresh = State(0, np.zeros(3), sgd, 0.1, 0.1, None, {"name": "constant"}, None)
    assert fresh.nbytes() == 536
