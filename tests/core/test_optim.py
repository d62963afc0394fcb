"""Optimizers against hand-written documented update rules, and against torch.optim if present."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from gradscape.core import optim, schedules
from gradscape.core.optim import (
    OPTIMIZERS,
    SGD,
    Adagrad,
    Adam,
    AdamW,
    Optimizer,
    RMSprop,
    clip_grad_norm,
    hyperparameter_specs,
    make_optimizer,
)
from tests.helpers import require_torch

A = np.array([[3.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 0.5]])
B = np.array([1.0, -1.0, 0.5])
THETA0 = np.array([0.5, -1.5, 2.0])

Changes = dict[int, dict[str, Any]]


def quad_grad(theta: np.ndarray) -> np.ndarray:
    """Gradient of 0.5 theta^T A theta - b^T theta."""
    return A @ theta - B


def hyper_at(base: dict[str, Any], changes: Changes, t: int) -> dict[str, Any]:
    """Hyperparameters in force at step t (1-based): changes keyed by step apply from then on."""
    h = dict(base)
    for at in sorted(changes):
        if at <= t:
            h.update(changes[at])
    return h


def run_ours(name: str, hyper: dict[str, Any], changes: Changes, steps: int) -> list[np.ndarray]:
    """Thetas after each of ``steps`` updates of our optimizer on the quadratic."""
    opt = make_optimizer(name, 3, **hyper)
    theta = THETA0.copy()
    out = []
    for t in range(1, steps + 1):
        if t in changes:
            opt.set(**changes[t])
        opt.step(theta, quad_grad(theta))
        out.append(theta.copy())
    return out


# Reference rules, written from the torch docs' pseudo-code (not torch's operation order).


def ref_sgd(h: dict[str, Any], theta: np.ndarray, t: int, s: dict[str, Any]) -> np.ndarray:
    g = quad_grad(theta)
    if h.get("maximize", False):
        g = -g
    g = g + h.get("weight_decay", 0.0) * theta
    mu, tau = h.get("momentum", 0.0), h.get("dampening", 0.0)
    if mu != 0:
        s["b"] = g if "b" not in s else mu * s["b"] + (1 - tau) * g
        g = g + mu * s["b"] if h.get("nesterov", False) else s["b"]
    return theta - h["lr"] * g


def ref_adagrad(h: dict[str, Any], theta: np.ndarray, t: int, s: dict[str, Any]) -> np.ndarray:
    g = quad_grad(theta) + h.get("weight_decay", 0.0) * theta
    lr_t = h["lr"] / (1 + (t - 1) * h.get("lr_decay", 0.0))
    s["sum"] = s.get("sum", h.get("initial_accumulator_value", 0.0)) + g**2
    return theta - lr_t * g / (np.sqrt(s["sum"]) + h.get("eps", 1e-10))


def ref_rmsprop(h: dict[str, Any], theta: np.ndarray, t: int, s: dict[str, Any]) -> np.ndarray:
    g = quad_grad(theta) + h.get("weight_decay", 0.0) * theta
    alpha, mu, eps = h.get("alpha", 0.99), h.get("momentum", 0.0), h.get("eps", 1e-8)
    s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g**2
    v_tilde = s["v"]
    if h.get("centered", False):
        s["g_ave"] = alpha * s.get("g_ave", 0.0) + (1 - alpha) * g
        v_tilde = v_tilde - s["g_ave"] ** 2
    if mu > 0:
        s["b"] = mu * s.get("b", 0.0) + g / (np.sqrt(v_tilde) + eps)
        return theta - h["lr"] * s["b"]
    return theta - h["lr"] * g / (np.sqrt(v_tilde) + eps)


def ref_adam(
    h: dict[str, Any], theta: np.ndarray, t: int, s: dict[str, Any], decoupled: bool = False
) -> np.ndarray:
    (b1, b2), lr, eps = h.get("betas", (0.9, 0.999)), h["lr"], h.get("eps", 1e-8)
    wd = h.get("weight_decay", 1e-2 if decoupled else 0.0)
    g = quad_grad(theta)
    if decoupled:
        theta = theta - lr * wd * theta
    else:
        g = g + wd * theta
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    m_hat = s["m"] / (1 - b1**t)
    if h.get("amsgrad", False):
        s["v_max"] = np.maximum(s.get("v_max", 0.0), s["v"])
        v_hat = s["v_max"] / (1 - b2**t)
    else:
        v_hat = s["v"] / (1 - b2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_adamw(h: dict[str, Any], theta: np.ndarray, t: int, s: dict[str, Any]) -> np.ndarray:
    return ref_adam(h, theta, t, s, decoupled=True)


REFERENCES: dict[str, Callable[..., np.ndarray]] = {
    "sgd": ref_sgd,
    "adagrad": ref_adagrad,
    "rmsprop": ref_rmsprop,
    "adam": ref_adam,
    "adamw": ref_adamw,
}


def run_reference(
    name: str, hyper: dict[str, Any], changes: Changes, steps: int
) -> list[np.ndarray]:
    """Thetas after each step of the documented rule for ``name``."""
    theta, state, out = THETA0.copy(), {}, []
    for t in range(1, steps + 1):
        theta = REFERENCES[name](hyper_at(hyper, changes, t), theta, t, state)
        out.append(theta)
    return out


CASES: list[tuple[str, dict[str, Any], Changes]] = [
    ("sgd", {"lr": 0.1}, {3: {"lr": 0.05}}),
    ("sgd", {"lr": 0.1, "momentum": 0.9}, {}),
    ("sgd", {"lr": 0.1, "momentum": 0.8, "dampening": 0.3}, {3: {"momentum": 0.5}}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, {2: {"lr": 0.1}}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.1}, {}),
    ("sgd", {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.2, "maximize": True}, {}),
    ("adagrad", {"lr": 0.1}, {}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.5, "weight_decay": 0.1}, {3: {"lr": 0.2}}),
    ("adagrad", {"lr": 0.1, "initial_accumulator_value": 0.3, "eps": 1e-3}, {}),
    ("rmsprop", {"lr": 0.01}, {}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9, "centered": True}, {}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1}, {3: {"lr": 0.02}}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.8, "momentum": 0.5, "centered": True}, {}),
    ("adam", {"lr": 0.1}, {}),
    ("adam", {"lr": 0.1, "amsgrad": True}, {}),
    ("adam", {"lr": 0.1, "weight_decay": 0.1, "eps": 1e-3}, {3: {"betas": (0.5, 0.9)}}),
    ("adam", {"lr": 0.1, "betas": (0.3, 0.6)}, {2: {"lr": 0.01}}),
    ("adamw", {"lr": 0.1}, {}),
    ("adamw", {"lr": 0.1, "weight_decay": 0.5, "amsgrad": True}, {3: {"lr": 0.2}}),
]


@pytest.mark.parametrize(("name", "hyper", "changes"), CASES)
def test_first_steps_match_documented_rule(
    name: str, hyper: dict[str, Any], changes: Changes
) -> None:
    ours = run_ours(name, hyper, changes, 4)
    ref = run_reference(name, hyper, changes, 4)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=0)
    assert not np.allclose(ours[-1], THETA0)


def test_sgd_momentum_by_hand() -> None:
    theta = np.array([1.0, -2.0])
    opt = SGD(2, lr=0.1, momentum=0.9)
    expected = [[0.9, -1.8], [0.72, -1.44], [0.486, -0.972]]
    for want in expected:
        opt.step(theta, theta.copy())  # f = |theta|^2 / 2, so the gradient is theta
        np.testing.assert_allclose(theta, want, rtol=1e-14)


def test_adam_first_step_moves_lr_times_sign() -> None:
    theta = np.array([1.0, -2.0, 3.0])
    grad = np.array([0.5, -4.0, 1e-3])
    Adam(3, lr=0.1, eps=1e-12).step(theta, grad)
    np.testing.assert_allclose(theta, [0.9, -1.9, 2.9], rtol=1e-9)


def test_adamw_decay_is_decoupled_from_the_gradient() -> None:
    theta = np.array([2.0, -4.0])
    AdamW(2, lr=0.1, weight_decay=0.5).step(theta, np.zeros(2))
    np.testing.assert_allclose(theta, [2.0 * 0.95, -4.0 * 0.95], rtol=1e-15)
    theta = np.array([2.0, -4.0])
    Adam(2, lr=0.1, weight_decay=0.5).step(theta, np.zeros(2))
    np.testing.assert_allclose(theta, [1.9, -3.9], rtol=1e-6)  # L2: moves lr * sign


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_step_does_not_modify_grad(name: str) -> None:
    hyper = {"weight_decay": 0.1} if name != "adamw" else {}
    opt = make_optimizer(name, 3, **hyper)
    theta, grad = THETA0.copy(), quad_grad(THETA0)
    kept = grad.copy()
    for _ in range(3):
        opt.step(theta, grad)
    np.testing.assert_array_equal(grad, kept)


def test_sgd_momentum_buffer_does_not_alias_grad() -> None:
    opt, theta, grad = SGD(3, lr=0.1, momentum=0.9), THETA0.copy(), quad_grad(THETA0)
    kept = grad.copy()
    opt.step(theta, grad)
    opt.step(theta, grad)
    np.testing.assert_array_equal(grad, kept)


def test_step_rejects_wrong_shapes_and_types() -> None:
    opt = Adam(3)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        opt.step(np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        opt.step(np.zeros(3), np.zeros(2))
    with pytest.raises(TypeError, match="float64"):
        opt.step(np.zeros(3, dtype=np.float32), np.zeros(3))  # type: ignore[arg-type]
    assert opt.step_count == 0


# Validation


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("sgd", {"lr": 0.0}, "lr"),
    ("sgd", {"lr": -0.1}, "lr"),
    ("sgd", {"lr": 1e7}, "lr"),
    ("sgd", {"lr": math.nan}, "lr"),
    ("sgd", {"lr": math.inf}, "lr"),
    ("sgd", {"lr": "0.1"}, "lr"),
    ("sgd", {"lr": True}, "lr"),
    ("sgd", {"momentum": 1.0}, "momentum"),
    ("sgd", {"momentum": -0.1}, "momentum"),
    ("sgd", {"dampening": 1.5}, "dampening"),
    ("sgd", {"weight_decay": -1e-3}, "weight_decay"),
    ("sgd", {"weight_decay": 1e4}, "weight_decay"),
    ("sgd", {"nesterov": 1}, "nesterov"),
    ("sgd", {"maximize": "yes"}, "maximize"),
    ("sgd", {"nesterov": True}, "nesterov"),
    ("sgd", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov"),
    ("sgd", {"betas": (0.9, 0.99)}, "betas"),
    ("adagrad", {"lr_decay": -1.0}, "lr_decay"),
    ("adagrad", {"initial_accumulator_value": -0.1}, "initial_accumulator_value"),
    ("adagrad", {"eps": 0.0}, "eps"),
    ("adagrad", {"eps": 2.0}, "eps"),
    ("rmsprop", {"alpha": 1.0}, "alpha"),
    ("rmsprop", {"momentum": 1.5}, "momentum"),
    ("rmsprop", {"centered": None}, "centered"),
    ("rmsprop", {"eps": -1e-8}, "eps"),
    ("adam", {"betas": (1.0, 0.999)}, "betas"),
    ("adam", {"betas": (0.9, -0.1)}, "betas"),
    ("adam", {"betas": (0.9, math.nan)}, "betas"),
    ("adam", {"betas": (0.9,)}, "betas"),
    ("adam", {"betas": 0.9}, "betas"),
    ("adam", {"amsgrad": 0}, "amsgrad"),
    ("adam", {"momentum": 0.9}, "momentum"),
    ("adamw", {"weight_decay": -0.01}, "weight_decay"),
    ("adamw", {"lr": None}, "lr"),
]


@pytest.mark.parametrize(("name", "hyper", "field"), INVALID)
def test_invalid_hyperparameter_names_the_field(
    name: str, hyper: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=rf"optimizer\.{field}\b"):
        make_optimizer(name, 3, **hyper)
    opt = make_optimizer(name, 3)
    before = opt.hyper
    with pytest.raises(ValueError, match=rf"optimizer\.{field}\b"):
        opt.set(**hyper)
    assert opt.hyper == before


def test_error_message_wording() -> None:
    with pytest.raises(ValueError, match=r"^optimizer\.momentum must be in \[0, 1\), got 2\.0$"):
        SGD(3, momentum=2.0)


def test_n_params_must_be_a_positive_int() -> None:
    for bad in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="n_params"):
            SGD(bad)  # type: ignore[arg-type]


def test_unknown_optimizer_lists_known_names() -> None:
    with pytest.raises(ValueError, match=r"one of sgd, adagrad, rmsprop, adam, adamw; got 'lbfgs'"):
        make_optimizer("lbfgs", 3)
    with pytest.raises(ValueError, match="sgd"):
        hyperparameter_specs("nope")


def test_set_is_atomic_and_keeps_state() -> None:
    opt, twin = SGD(3, lr=0.1, momentum=0.9), SGD(3, lr=0.1, momentum=0.9)
    a, b = THETA0.copy(), THETA0.copy()
    for _ in range(2):
        opt.step(a, quad_grad(a))
        twin.step(b, quad_grad(b))
    with pytest.raises(ValueError, match=r"optimizer\.momentum"):
        opt.set(lr=0.5, momentum=2.0)
    with pytest.raises(ValueError, match=r"optimizer\.nesterov"):
        opt.set(nesterov=True, dampening=0.5)
    assert opt.hyper == twin.hyper
    assert opt.hyper["lr"] == 0.1
    for _ in range(2):
        opt.step(a, quad_grad(a))
        twin.step(b, quad_grad(b))
    np.testing.assert_array_equal(a, b)


def test_set_nesterov_together_with_momentum() -> None:
    opt = SGD(3)
    opt.set(momentum=0.9, nesterov=True)
    assert opt.hyper["nesterov"] is True
    with pytest.raises(ValueError, match=r"optimizer\.nesterov"):
        opt.set(momentum=0.0)
    assert opt.hyper["momentum"] == 0.9


def test_hyper_is_a_copy_with_betas_as_float_tuple() -> None:
    opt = Adam(3, betas=[0.8, 0.9], lr=1)
    hyper = opt.hyper
    assert hyper == {
        "lr": 1.0,
        "betas": (0.8, 0.9),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
    }
    assert isinstance(hyper["betas"], tuple)
    assert all(type(b) is float for b in hyper["betas"])
    assert type(hyper["lr"]) is float
    hyper["lr"] = 5.0
    assert opt.hyper["lr"] == 1.0


# State


ROUND_TRIP: list[tuple[str, dict[str, Any]]] = [
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.1, "initial_accumulator_value": 0.1}),
    ("rmsprop", {"momentum": 0.5, "centered": True}),
    ("adam", {"lr": 0.05, "amsgrad": True}),
    ("adamw", {"lr": 0.05, "betas": (0.5, 0.7)}),
]


@pytest.mark.parametrize(("name", "hyper"), ROUND_TRIP)
def test_state_dict_round_trip_continues_bit_identically(name: str, hyper: dict[str, Any]) -> None:
    opt, theta = make_optimizer(name, 3, **hyper), THETA0.copy()
    for _ in range(3):
        opt.step(theta, quad_grad(theta))
    saved, theta_saved = opt.state_dict(), theta.copy()
    assert saved["step"] == 3
    assert saved["state"]
    for _ in range(3):
        opt.step(theta, quad_grad(theta))
    restored = make_optimizer(name, 3)
    restored.load_state_dict(saved)
    for buf in saved["state"].values():
        buf += 1.0  # the loaded state must be a copy
    assert restored.hyper == opt.hyper
    for _ in range(3):
        restored.step(theta_saved, quad_grad(theta_saved))
    np.testing.assert_array_equal(theta_saved, theta)
    assert restored.step_count == opt.step_count == 6


def test_state_dict_is_a_copy() -> None:
    opt, theta = Adam(3), THETA0.copy()
    opt.step(theta, quad_grad(theta))
    sd = opt.state_dict()
    sd["state"]["exp_avg"][:] = 99.0
    assert not np.any(opt.state_dict()["state"]["exp_avg"] == 99.0)


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        ({"name": "sgd"}, "expected 'adam'"),
        ({"n_params": 4}, "n_params"),
        ({"step": -1}, r"state\.step"),
        ({"hyper": {"lr": -1.0}}, r"optimizer\.lr"),
        ({"state": {"exp_avg": np.zeros(4)}}, r"state\.state\.exp_avg"),
        ({"state": {"momentum_buffer": np.zeros(3)}}, r"state\.state\.momentum_buffer"),
    ],
)
def test_load_state_dict_rejects_bad_state_and_changes_nothing(
    edit: dict[str, Any], match: str
) -> None:
    opt, theta = Adam(3, lr=0.01), THETA0.copy()
    opt.step(theta, quad_grad(theta))
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict({**before, **edit})
    after = opt.state_dict()
    assert after["step"] == before["step"]
    assert after["hyper"] == before["hyper"]
    for key, buf in before["state"].items():
        np.testing.assert_array_equal(after["state"][key], buf)


def test_a_state_dict_without_buffers_restarts_them() -> None:
    """``state`` may be left out of a state dict (so may ``hyper``): the optimizer keeps the
    given step count and starts its buffers afresh, so Adam's next first step (t = 1,
    m_hat = g, v_hat = g^2) moves each parameter by lr * g / (|g| + eps), whatever the
    moments it had gathered before."""
    opt = Adam(2, lr=0.1)
    for _ in range(3):
        opt.step(np.zeros(2), np.array([5.0, 5.0]))
    opt.load_state_dict({"name": "adam", "n_params": 2, "step": 0, "hyper": {"lr": 0.1}})
    assert opt.state_dict()["state"] == {} and opt.state_dict()["step"] == 0
    theta, g = np.zeros(2), np.array([2.0, -0.5])
    opt.step(theta, g)
    np.testing.assert_allclose(theta, [-0.1 * 2 / (2 + 1e-8), 0.1 * 0.5 / (0.5 + 1e-8)], rtol=1e-14)
    bare = SGD(3, lr=0.5)
    bare.load_state_dict({"name": "sgd", "n_params": 3, "step": 7})
    assert bare.state_dict()["step"] == 7 and bare.hyper["lr"] == 1e-3  # the defaults


def test_centered_rmsprop_stays_finite_under_a_constant_gradient() -> None:
    opt, theta = RMSprop(2, lr=1e-3, centered=True), np.zeros(2)
    for _ in range(5000):
        opt.step(theta, np.array([1.0, -3.0]))
    assert np.all(np.isfinite(theta))


# Catalog


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_specs_describe_every_hyperparameter_and_defaults_validate(name: str) -> None:
    specs = hyperparameter_specs(name)
    defaults = {key: spec["default"] for key, spec in specs.items()}
    assert make_optimizer(name, 2).hyper == defaults
    assert "lr" in specs
    for spec in specs.values():
        assert set(spec) == {"default", "min", "max", "type", "description"}
        assert spec["type"] in {"float", "bool", "pair"}
        assert spec["description"]


def test_specs_and_class_table_match_the_brief() -> None:
    assert dict(OPTIMIZERS) == {
        "sgd": SGD,
        "adagrad": Adagrad,
        "rmsprop": RMSprop,
        "adam": Adam,
        "adamw": AdamW,
    }
    assert SGD(1).hyper["lr"] == 1e-3
    assert Adagrad(1).hyper["eps"] == 1e-10
    assert AdamW(1).hyper["weight_decay"] == 1e-2
    assert issubclass(AdamW, Optimizer)
    assert optim.validate_schedule is schedules.validate_schedule


# Gradient clipping


def test_clip_grad_norm_values() -> None:
    g = np.array([3.0, 4.0])
    clipped = clip_grad_norm(g, 1.0)
    np.testing.assert_allclose(clipped, g / (5.0 + 1e-6), rtol=1e-15)
    assert clipped is not g
    np.testing.assert_array_equal(g, [3.0, 4.0])
    np.testing.assert_array_equal(clip_grad_norm(g, 10.0), g)
    assert clip_grad_norm(g, 10.0) is not g


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, "1", True])
def test_clip_grad_norm_rejects_bad_max_norm(bad: Any) -> None:
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm(np.ones(2), bad)


# Against torch (skipped when torch is not installed)

TORCH_CLASSES = {
    "sgd": "SGD",
    "adagrad": "Adagrad",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
}

TORCH_CASES = [
    *CASES,
    ("sgd", {"lr": 0.02, "momentum": 0.9}, {5: {"momentum": 0.0}, 9: {"momentum": 0.7}}),
    ("adam", {"lr": 0.05, "betas": (0.9, 0.99), "amsgrad": True}, {7: {"betas": (0.6, 0.95)}}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.3}, {4: {"weight_decay": 0.0}, 8: {"lr": 0.01}}),
]


def random_quadratic(seed: int, n: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random SPD matrix, linear term and start point."""
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    return M @ M.T / n + 0.1 * np.eye(n), rng.normal(size=n), rng.normal(size=n)


@pytest.mark.parametrize(("name", "hyper", "changes"), TORCH_CASES)
def test_twenty_steps_match_torch(name: str, hyper: dict[str, Any], changes: Changes) -> None:
    torch = require_torch()
    Q, c, start = random_quadratic(7)
    p = torch.tensor(start.copy(), dtype=torch.float64, requires_grad=True)
    ref = getattr(torch.optim, TORCH_CLASSES[name])([p], foreach=False, **hyper)
    opt, theta = make_optimizer(name, start.size, **hyper), start.copy()
    for t in range(1, 21):
        if t in changes:
            opt.set(**changes[t])
            ref.param_groups[0].update(changes[t])
        p.grad = torch.from_numpy(Q @ p.detach().numpy() - c)
        ref.step()
        opt.step(theta, Q @ theta - c)
        np.testing.assert_allclose(theta, p.detach().numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_defaults_match_torch(name: str) -> None:
    torch = require_torch()
    p = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    group = getattr(torch.optim, TORCH_CLASSES[name])([p]).param_groups[0]
    for key, value in make_optimizer(name, 1).hyper.items():
        assert group[key] == value, key


def test_clip_grad_norm_matches_torch() -> None:
    torch = require_torch()
    g = np.random.default_rng(0).normal(size=7) * 3
    for max_norm in (0.5, 2.0, 100.0):
        p = torch.zeros(7, dtype=torch.float64, requires_grad=True)
        p.grad = torch.from_numpy(g.copy())
        torch.nn.utils.clip_grad_norm_([p], max_norm)
        np.testing.assert_allclose(clip_grad_norm(g, max_norm), p.grad.numpy(), rtol=1e-14)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_states_its_rule_and_when_it_helps(name: str) -> None:
    doc = optim.optimizer_docs()[name]
    assert set(doc) == {"rule", "when"}
    assert "p ← p − lr" in doc["rule"] and "\n" not in doc["rule"]  # one line, torch's p and lr
    assert doc["when"].endswith(".") and 40 < len(doc["when"]) < 200


SGD_CATALOG = {  # torch.optim.SGD's defaults, each with the interval make_optimizer enforces
    "lr": {"default": 1e-3, "min": 0.0, "max": 1e6, "type": "float",
           "description": "Learning rate. Allowed: (0, 1e+06]."},
    "momentum": {"default": 0.0, "min": 0.0, "max": 1.0, "type": "float",
                 "description": "Momentum factor mu. Allowed: [0, 1)."},
    "dampening": {"default": 0.0, "min": 0.0, "max": 1.0, "type": "float",
                  "description": "Dampening tau for momentum. Allowed: [0, 1]."},
    "weight_decay": {"default": 0.0, "min": 0.0, "max": 1e3, "type": "float",
                     "description": "L2 penalty added to the gradient. Allowed: [0, 1000]."},
    "nesterov": {"default": False, "min": None, "max": None, "type": "bool",
                 "description": "Nesterov momentum; needs momentum > 0 and dampening 0."},
    "maximize": {"default": False, "min": None, "max": None, "type": "bool",
                 "description": "Maximise the objective instead of minimising it."},
}  # fmt: skip


def test_the_sgd_catalog_is_torchs_defaults_with_their_intervals() -> None:
    assert hyperparameter_specs("sgd") == SGD_CATALOG
    adam = hyperparameter_specs("adam")
    assert adam["betas"] == {
        "default": (0.9, 0.999), "min": 0.0, "max": 1.0, "type": "pair",
        "description": "Decay rates of the moment averages. Allowed: [0, 1).",
    }  # fmt: skip
    assert adam["eps"]["description"] == "Added to the denominator for stability. Allowed: (0, 1]."


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_published_interval_is_the_enforced_one(name: str) -> None:
    """Each float bound is accepted exactly when its bracket is closed, and the value just
    past it is refused: the catalog publishes the bound make_optimizer enforces."""
    for key, spec in hyperparameter_specs(name).items():
        if spec["type"] != "float":
            assert spec["type"] == "bool" or key == "betas"
            continue
        bracket = re.search(r"Allowed: ([\[(])(.+), (.+)([\])])\.$", spec["description"])
        assert bracket is not None, spec
        assert float(bracket.group(2)) == spec["min"] and float(bracket.group(3)) == spec["max"]
        lo, hi = spec["min"], spec["max"]
        for value, closed in ((lo, bracket.group(1) == "["), (hi, bracket.group(4) == "]")):
            if closed:
                make_optimizer(name, 1, **{key: value})
            else:
                with pytest.raises(ValueError, match=rf"^optimizer\.{key} "):
                    make_optimizer(name, 1, **{key: value})
        for outside in (lo - max(1e-9, abs(lo) * 1e-9), hi + max(1e-9, abs(hi) * 1e-9)):
            with pytest.raises(ValueError, match=rf"^optimizer\.{key} "):
                make_optimizer(name, 1, **{key: outside})


def test_lerp_at_one_half_is_torchs_second_branch_bit_for_bit() -> None:
    """torch.lerp switches formula at |weight| < 0.5; at 0.5 itself it takes the second,
    end - (end - start) (1 - weight), which rounds differently from the first. (Elsewhere
    torch's kernel fuses the multiply-add, so only 1e-15 agreement is to be had.)"""
    torch = require_torch()
    from gradscape.core.optim import _lerp_

    rng = np.random.default_rng(3)
    start, end = rng.normal(size=2000) * 1e3, rng.normal(size=2000)
    for weight in (0.5, 0.1, 0.9):
        ours = start.copy()
        _lerp_(ours, end, weight)
        ref = torch.lerp(torch.tensor(start), torch.tensor(end), weight).numpy()
        if weight == 0.5:
            np.testing.assert_array_equal(ours, ref)
        np.testing.assert_allclose(ours, ref, rtol=1e-15, atol=1e-12)


def test_a_weight_decay_of_one_is_applied_like_any_other() -> None:
    """SGD with weight_decay 1: the step is lr x (grad + 1 x theta) (torch's L2 term)."""
    opt = make_optimizer("sgd", 2, lr=0.1, weight_decay=1.0)
    theta, grad = np.array([2.0, -4.0]), np.array([0.5, 0.25])
    opt.step(theta, grad)
    np.testing.assert_allclose(theta, [2.0 - 0.1 * 2.5, -4.0 - 0.1 * (0.25 - 4.0)], rtol=1e-15)


def test_an_adamw_weight_decay_of_one_is_still_decoupled() -> None:
    """AdamW with weight_decay 1, lr 0.1: theta first shrinks by 1 - 0.1 x 1 = 0.9, then
    takes Adam's first step, lr x g / (|g| + eps) (m_hat = g, v_hat = g^2 at t = 1), with
    the raw gradient g: the decay never enters the moments."""
    opt = make_optimizer("adamw", 2, lr=0.1, weight_decay=1.0)
    theta, grad = np.array([2.0, -4.0]), np.array([0.5, 0.25])
    opt.step(theta, grad)
    want = [0.9 * 2.0 - 0.1 * 0.5 / (0.5 + 1e-8), 0.9 * -4.0 - 0.1 * 0.25 / (0.25 + 1e-8)]
    np.testing.assert_allclose(theta, want, rtol=1e-15)
    np.testing.assert_allclose(opt.state_dict()["state"]["exp_avg"], 0.1 * grad, rtol=1e-15)


def test_rmsprop_without_momentum_keeps_no_momentum_buffer() -> None:
    """torch's RMSprop creates momentum_buffer only when momentum > 0: at momentum 0 the
    state after a step is the squared-gradient average alone, (1 - alpha) g^2."""
    opt = RMSprop(2, lr=0.01, alpha=0.9)
    opt.step(np.zeros(2), np.array([2.0, -1.0]))
    state = opt.state_dict()["state"]
    assert sorted(state) == ["square_avg"]
    np.testing.assert_allclose(state["square_avg"], [0.1 * 4.0, 0.1 * 1.0], rtol=1e-15)


def test_clipping_a_float32_gradient_works_in_float64() -> None:
    """The norm and the clipped gradient are computed in float64 whatever the input's dtype
    (torch clips a float64 parameter's gradient in float64): the reference is the float64
    norm of the float32 values, sqrt(sum(v^2)) term by term."""
    g32 = np.full(7, 0.1, dtype=np.float32)
    values = [float(v) for v in g32]
    norm = math.sqrt(sum(v * v for v in values))
    coef = optim.clip_coefficient(g32, 0.05)
    assert coef == pytest.approx(0.05 / (norm + 1e-6), rel=1e-15)
    clipped = clip_grad_norm(g32, 0.05)
    assert clipped.dtype == np.float64
    np.testing.assert_allclose(clipped, [v * 0.05 / (norm + 1e-6) for v in values], rtol=1e-15)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (0.0, "max_norm must be in (0, inf], got 0.0"),
        (-1, "max_norm must be in (0, inf], got -1.0"),
        (math.nan, "max_norm must be finite, got nan"),
        ("1", "max_norm must be a number, got '1'"),
        (True, "max_norm must be a number, got True"),
    ],
)
def test_clip_grad_norm_says_exactly_what_is_wrong_with_max_norm(bad: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        clip_grad_norm(np.ones(2), bad)


KNOWN_ADAM = "lr, betas, eps, weight_decay, amsgrad"


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda: SGD(3, nesterov=1), ValueError, "optimizer.nesterov must be a bool, got 1"),
        (lambda: SGD(3, lr="0.1"), ValueError, "optimizer.lr must be a number, got '0.1'"),
        (lambda: SGD(3, lr=True), ValueError, "optimizer.lr must be a number, got True"),
        (lambda: SGD(3, lr=math.inf), ValueError, "optimizer.lr must be finite, got inf"),
        (lambda: SGD(3, lr=0.0), ValueError, "optimizer.lr must be in (0, 1e+06], got 0.0"),
        (lambda: Adam(3, betas=(0.9,)), ValueError,
         "optimizer.betas must be a pair of two numbers, got (0.9,)"),
        (lambda: Adam(3, betas=0.9), ValueError,
         "optimizer.betas must be a pair of two numbers, got 0.9"),
        (lambda: Adam(3, betas=(0.9, 1.0)), ValueError,
         "optimizer.betas[1] must be in [0, 1), got 1.0"),
        (lambda: Adam(3, betas=(1.0, 0.5)), ValueError,
         "optimizer.betas[0] must be in [0, 1), got 1.0"),
        (lambda: Adam(3, momentum=0.9, alpha=1), ValueError,
         f"optimizer.alpha is not a hyperparameter of adam (known: {KNOWN_ADAM})"),
        (lambda: SGD(0), ValueError, "n_params must be a positive int, got 0"),
        (lambda: SGD(2.0), ValueError, "n_params must be a positive int, got 2.0"),
        (lambda: SGD(True), ValueError, "n_params must be a positive int, got True"),
        (lambda: SGD(3, nesterov=True, momentum=0.9, dampening=0.1), ValueError,
         "optimizer.nesterov requires momentum > 0 and dampening == 0, got momentum=0.9, "
         "dampening=0.1"),
        (lambda: SGD(3, nesterov=True), ValueError,
         "optimizer.nesterov requires momentum > 0 and dampening == 0, got momentum=0.0, "
         "dampening=0.0"),
        (lambda: make_optimizer(["sgd"], 3), ValueError,  # unhashable: TypeError inside
         "optimizer.name must be one of sgd, adagrad, rmsprop, adam, adamw; got ['sgd']"),
        (lambda: Adam(3).step(np.zeros(3, dtype=np.float32), np.zeros(3)), TypeError,
         "params must be a float64 ndarray, got ndarray"),
        (lambda: Adam(3).step([0.0, 0.0, 0.0], np.zeros(3)), TypeError,
         "params must be a float64 ndarray, got list"),
        (lambda: Adam(3).step(np.zeros(3), np.zeros(2)), ValueError,
         "params and grad must have shape (3,), got (3,) and (2,)"),
        (lambda: Adam(3).step(np.zeros(4), np.zeros(3)), ValueError,
         "params and grad must have shape (3,), got (4,) and (3,)"),
    ],
)  # fmt: skip
def test_a_refused_optimizer_call_says_exactly_why(
    make: Callable[[], object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        make()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"name": "sgd"}, "state is for 'sgd' with n_params=3, expected 'adam' with n_params=3"),
        ({"n_params": 4}, "state is for 'adam' with n_params=4, expected 'adam' with n_params=3"),
        ({"step": -1}, "state.step must be an int >= 0, got -1"),
        ({"step": True}, "state.step must be an int >= 0, got True"),
        ({"step": 1.0}, "state.step must be an int >= 0, got 1.0"),
        ({"state": [1]}, "state.state must be a dict of arrays, got list"),
        ({"state": {"sum": np.zeros(3)}}, "state.state.sum is not a buffer of adam"),
        ({"state": {"exp_avg": np.zeros(4)}}, "state.state.exp_avg must have shape (3,), got (4,)"),
    ],
)
def test_a_refused_state_dict_says_exactly_why(edit: dict[str, Any], message: str) -> None:
    opt = Adam(3)
    opt.step(np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        opt.load_state_dict({**opt.state_dict(), **edit})


def test_one_parameter_and_step_zero_are_allowed() -> None:
    """n_params >= 1 and a loaded step >= 0: the bounds themselves are valid."""
    opt = SGD(1, lr=0.5)
    theta = np.array([2.0])
    opt.step(theta, np.array([1.0]))
    assert theta[0] == 1.5 and opt.step_count == 1
    opt.load_state_dict({**opt.state_dict(), "step": 0})
    assert opt.step_count == 0


def test_a_float32_gradient_and_loaded_buffers_are_taken_as_float64() -> None:
    """SGD at lr 0.1 on the float32 gradient 0.1 moves theta by -0.1 x float(float32(0.1))
    worked in float64 (in float32 the product would round differently); loaded buffers
    (an int list here) become float64 arrays."""
    theta = np.zeros(1)
    SGD(1, lr=0.1).step(theta, np.array([0.1], dtype=np.float32))
    assert theta[0] == -0.1 * float(np.float32(0.1))
    assert theta[0] != float(np.float32(-0.1) * np.float32(0.1))
    opt = Adam(3)
    opt.load_state_dict({"name": "adam", "n_params": 3, "step": 1, "state": {"exp_avg": [1, 2, 3]}})
    loaded = opt.state_dict()["state"]["exp_avg"]
    assert loaded.dtype == np.float64
    np.testing.assert_array_equal(loaded, [1.0, 2.0, 3.0])


def test_no_weight_decay_adds_nothing_to_the_gradient_even_at_an_infinite_weight() -> None:
    """weight_decay 0 leaves g alone (torch skips the term): a diverged weight of inf with
    gradient 1 steps to inf - 0.1 = inf, not to nan from 0 x inf."""
    theta = np.array([math.inf, 1.0])
    SGD(2, lr=0.1).step(theta, np.array([1.0, 1.0]))
    np.testing.assert_array_equal(theta, [math.inf, 0.9])
