"""The update inspector against references: the chapter's own loop, torch.optim's step and
autograd, and the run's own trajectory (rebuilt bit for bit, left unchanged)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from gradscape.core.session import TrainingSession
from gradscape.service.errors import ConflictError
from gradscape.service.live import LiveRun
from gradscape.service.updates import update_view
from tests.chapter_loop import chapter_loop
from tests.helpers import require_torch

NAMES = ["w_study", "w_sleep", "bias"]


def _run(config: dict[str, Any], steps: int) -> LiveRun:
    run = LiveRun.create(config)
    run.step(steps, evaluate="none")
    return run


def _col(view: dict[str, Any], key: str) -> np.ndarray:
    return np.array([row[key] for row in view["rows"]], dtype=float)


def test_pass_fail_step_1_is_the_chapters_first_update() -> None:
    loop = chapter_loop(1)[0]
    view = update_view(_run({"preset": "pass-fail"}, 1), 1)
    assert [row["name"] for row in view["rows"]] == NAMES
    for key, ref in (("before", loop.before), ("grad", loop.grad), ("after", loop.after)):
        np.testing.assert_allclose(_col(view, key), ref, rtol=0, atol=1e-12)
    # The chapter's numbers, to 4 dp: w_study 0.4967 -> 0.4416 (gradient 0.5515) ...
    assert np.round(_col(view, "before"), 4).tolist() == [0.4967, -0.1383, 0.0]
    assert np.round(_col(view, "grad"), 4).tolist() == [0.5515, 0.8219, 0.2845]
    assert np.round(_col(view, "after"), 4).tolist() == [0.4416, -0.2205, -0.0284]
    np.testing.assert_allclose(_col(view, "plain_step"), -0.1 * loop.grad, rtol=1e-15)
    np.testing.assert_allclose(_col(view, "taken"), _col(view, "plain_step"), rtol=1e-12)
    assert view["optimizer"] == {
        "name": "sgd",
        "hyper": {
            "momentum": 0.0,
            "dampening": 0.0,
            "weight_decay": 0.0,
            "nesterov": False,
            "maximize": False,
        },
        "lr": 0.1,
        "base_lr": 0.1,
        "t": 1,
    }
    assert view["batch"] == {"size": 4, "full": True}
    assert view["clip"] == {"norm": None, "grad_norm": pytest.approx(np.linalg.norm(loop.grad)),
                            "scale": 1.0}  # fmt: skip
    assert view["loss_before"] == pytest.approx(loop.loss, abs=3e-9)  # the loop adds 1e-9
    assert view["buffers"] == [] and all(r["state_before"] == {} for r in view["rows"])
    assert view["explain"].startswith("sgd without momentum: the step taken is exactly -lr x")


def test_pass_fail_after_500_epochs_is_the_chapters_500th_update() -> None:
    loop = chapter_loop(500)
    run = _run({"preset": "pass-fail"}, 700)
    view = update_view(run, 500)  # replayed from the checkpoint at 400
    for key in ("before", "grad", "after"):
        ref = getattr(loop[499], key)
        np.testing.assert_allclose(_col(view, key), ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(_col(view, "after"), run.session.params_at([500])[0])
    assert view["optimizer"]["t"] == 500


def _torch_step(view: dict[str, Any]) -> tuple[Any, dict[str, np.ndarray]]:
    """torch.optim's step from the reported theta_{k-1}, gradient and state_before."""
    torch = require_torch()
    opt_info = view["optimizer"]
    name, hyper = opt_info["name"], dict(opt_info["hyper"])
    if "betas" in hyper:
        hyper["betas"] = tuple(hyper["betas"])
    p = torch.tensor(_col(view, "before"), dtype=torch.float64, requires_grad=True)
    p.grad = torch.tensor(_col(view, "grad"), dtype=torch.float64)
    cls = {
        "sgd": torch.optim.SGD,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "rmsprop": torch.optim.RMSprop,
        "adagrad": torch.optim.Adagrad,
    }[name]
    opt = cls([p], lr=opt_info["lr"], foreach=False, **hyper)
    state: dict[str, Any] = {}
    for key in view["buffers"]:
        values = [row["state_before"][key] for row in view["rows"]]
        if values[0] is not None:
            state[key] = torch.tensor(values, dtype=torch.float64)
    if state:  # else the optimizer's first update: torch makes its state on its own
        if name != "sgd":
            state["step"] = torch.tensor(float(opt_info["t"] - 1))
        opt.state[p] = state
    opt.step()
    return p.detach().numpy(), {k: v.numpy() for k, v in opt.state[p].items() if k != "step"}


OPTIMIZERS = [
    {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
    {"name": "sgd", "lr": 0.05, "momentum": 0.8, "dampening": 0.1, "weight_decay": 1e-2},
    {"name": "adam", "lr": 0.01},
    {"name": "adam", "lr": 0.01, "weight_decay": 1e-3, "amsgrad": True},
    {"name": "adamw", "lr": 0.01, "weight_decay": 0.05},
    {"name": "rmsprop", "lr": 0.005, "momentum": 0.5, "centered": True},
    {"name": "adagrad", "lr": 0.05, "lr_decay": 1e-3},
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: "-".join(map(str, o.values())))
@pytest.mark.parametrize("k", [1, 103])
def test_moons_minibatch_update_matches_torch_optim(optimizer: dict[str, Any], k: int) -> None:
    torch = require_torch()
    run = _run({"preset": "moons-mlp", "optimizer": optimizer, "batch_size": 16}, 120)
    view = update_view(run, k, limit=500)
    assert view["total"] == view["n_params"] == len(view["rows"]) == 337
    assert view["batch"] == {"size": 16, "full": False}
    after, state_after = _torch_step(view)
    np.testing.assert_allclose(_col(view, "after"), after, rtol=1e-12, atol=1e-300)
    assert sorted(state_after) == view["buffers"]
    for key, ref in state_after.items():
        ours = np.array([row["state_after"][key] for row in view["rows"]])
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-300)
    # The gradient is update k's own mini-batch's, as torch autograd computes it.
    Xb, yb, theta = run.session.batch_at(k)
    np.testing.assert_array_equal(_col(view, "before"), theta)
    t = torch.tensor(theta, requires_grad=True)
    a = torch.tensor(Xb)
    model = run.session.model
    for layer in model.layers:
        a = a @ t[layer.w_slice].reshape(layer.fan_in, layer.fan_out) + t[layer.b_slice]
        if layer.index < len(model.layers) - 1:
            a = torch.tanh(a)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(a[:, 0], torch.tensor(yb))
    loss.backward()
    np.testing.assert_allclose(_col(view, "grad_raw"), t.grad.numpy(), rtol=1e-10, atol=1e-14)
    assert view["loss_before"] == pytest.approx(loss.item(), rel=1e-12)


def test_adam_rows_show_bias_corrections() -> None:
    run = _run({"preset": "moons-mlp"}, 5)
    view = update_view(run, 5, limit=3)
    h, t = view["optimizer"]["hyper"], view["optimizer"]["t"]
    (b1, b2), eps, lr = h["betas"], h["eps"], view["optimizer"]["lr"]
    for row in view["rows"]:
        m, v = row["state_after"]["exp_avg"], row["state_after"]["exp_avg_sq"]
        assert row["m_hat"] == pytest.approx(m / (1 - b1**t), rel=1e-14)
        assert row["v_hat"] == pytest.approx(v / (1 - b2**t), rel=1e-14)
        assert row["denominator"] == pytest.approx(np.sqrt(row["v_hat"]) + eps, rel=1e-12)
        assert row["taken"] == pytest.approx(-lr * row["m_hat"] / row["denominator"], rel=1e-9)
        assert row["taken"] != pytest.approx(row["plain_step"], rel=0.01)
    assert view["explain"].startswith("adam: each weight's step is lr x m_hat / (sqrt(v_hat)")


def test_replays_live_changes_exactly() -> None:
    run = LiveRun.create({"preset": "moons-mlp", "optimizer": {"name": "sgd", "lr": 0.1}})
    run.step(40, evaluate="none")
    run.set({"lr": 0.03, "batch_size": 10})
    run.step(30, evaluate="none")
    run.set({"optimizer": {"name": "adam", "lr": 0.005}, "clip_norm": 0.05})
    run.step(45, evaluate="none")
    s = run.session
    lrs = s.recorded(0, s.step_count + 1, ["lr"])["lr"]
    for k in (1, 40, 41, 70, 71, 72, 100, 115):
        tr = s.update_at(k)
        np.testing.assert_array_equal(tr.before, s.params_at([k - 1])[0])
        np.testing.assert_array_equal(tr.after, s.params_at([k])[0])
        np.testing.assert_array_equal(tr.grad_raw, s.grads_at([k])[0])
        assert tr.lr == lrs[k]
    assert s.update_at(71).t == 1 and s.update_at(71).state_before == {}
    assert s.update_at(41).batch_size == 10 and s.update_at(40).batch_size == 32


def test_clipping_is_reported() -> None:
    run = _run({"preset": "pass-fail", "clip_norm": 0.5}, 3)
    view = update_view(run, 2)
    clip = view["clip"]
    assert clip["norm"] == 0.5 and clip["grad_norm"] > 0.5
    assert clip["scale"] == pytest.approx(0.5 / (clip["grad_norm"] + 1e-6), rel=1e-14)
    np.testing.assert_allclose(_col(view, "grad"), _col(view, "grad_raw") * clip["scale"])
    np.testing.assert_allclose(_col(view, "plain_step"), -0.1 * _col(view, "grad"), rtol=1e-15)
    assert "clip_norm 0.5" in view["explain"]


def test_momentum_step_follows_the_velocity() -> None:
    run = _run({"preset": "rosenbrock", "optimizer": {"momentum": 0.9}}, 5)
    first, later = update_view(run, 1), update_view(run, 5)
    assert first["batch"] == {"size": None, "full": True}
    assert [r["state_before"] for r in first["rows"]] == [{"momentum_buffer": None}] * 2
    np.testing.assert_allclose(_col(first, "taken"), _col(first, "plain_step"), rtol=1e-12)
    assert "on this first update" in first["explain"]
    lr = later["optimizer"]["lr"]
    velocity = np.array([r["state_after"]["momentum_buffer"] for r in later["rows"]])
    np.testing.assert_allclose(_col(later, "taken"), -lr * velocity, rtol=1e-12)
    assert later["explain"].startswith("momentum 0.9: the step follows the velocity buffer")


def test_explain_names_weight_decay_and_the_rule() -> None:
    def sentence(optimizer: dict[str, Any]) -> str:
        run = _run({"preset": "pass-fail", "optimizer": optimizer}, 2)
        return str(update_view(run, 1)["explain"])

    assert "nesterov momentum 0.9" in sentence({"momentum": 0.9, "nesterov": True})
    decayed = sentence({"weight_decay": 0.01})
    assert decayed.startswith("sgd without momentum: the step taken is -lr x the adjusted")
    assert "weight decay adds 0.01 x weight" in decayed
    assert "they agree" in sentence({"momentum": 0.5})  # b starts as the gradient
    assert "they agree" not in sentence({"momentum": 0.5, "weight_decay": 0.1})
    assert "decoupled weight decay" in sentence({"name": "adamw", "lr": 0.01})
    assert sentence({"name": "rmsprop"}).startswith("rmsprop: each weight's step is lr x")
    assert sentence({"name": "adagrad"}).startswith("adagrad: each weight's step is lr x")
    assert "goes uphill" in sentence({"maximize": True})


def test_nothing_in_the_session_changes() -> None:
    run = _run({"preset": "moons-mlp", "optimizer": {"momentum": 0.9, "name": "sgd"}}, 130)
    twin = _run({"preset": "moons-mlp", "optimizer": {"momentum": 0.9, "name": "sgd"}}, 130)
    s = run.session
    before = s.snapshot()
    params, events, settings = s.params, s.events, s.settings
    for k in (130, 1, 77, 101, 130, 5):
        update_view(run, k, limit=7, match="layer1")
    assert s.snapshot() == before
    assert s.step_count == 130 and s.events == events and s.settings == settings
    np.testing.assert_array_equal(s.params, params)
    run.step(20, evaluate="none")
    twin.step(20, evaluate="none")
    np.testing.assert_array_equal(s.params, twin.session.params)
    np.testing.assert_array_equal(
        s.trajectory(fields=["batch_loss"])["batch_loss"],
        twin.session.trajectory(fields=["batch_loss"])["batch_loss"],
    )


def test_rows_are_filtered_and_paged() -> None:
    run = _run({"preset": "moons-mlp"}, 2)
    names = run.session.model.param_names
    view = update_view(run, None, offset=3, limit=4, match="LAYER2.W[1,")
    expected = [i for i, n in enumerate(names) if "layer2.w[1," in n.lower()]
    assert view["total"] == len(expected) == 16 and view["match"] == "LAYER2.W[1,"
    assert [r["index"] for r in view["rows"]] == expected[3:7]
    assert [r["name"] for r in view["rows"]] == [names[i] for i in expected[3:7]]
    assert view["step"] == 2  # the default: the last update
    assert update_view(run, 2, offset=10_000)["rows"] == []
    assert update_view(run, 2, match="nothing like it")["total"] == 0


def test_a_big_model_serialises_only_the_rows_asked_for() -> None:
    config = {
        "data": {"name": "moons", "n_samples": 64},
        "model": {"hidden": [256, 256]},
        "batch_size": 16,
    }
    run = _run(config, 3)
    view = update_view(run, 2, offset=100, limit=5)
    assert view["n_params"] == view["total"] == run.session.model.n_params > 60_000
    assert [r["index"] for r in view["rows"]] == [100, 101, 102, 103, 104]
    np.testing.assert_array_equal(_col(view, "after"), run.session.params_at([2])[0][100:105])
    assert update_view(run, 3, match="layer3")["total"] == 257


def test_bad_requests_are_refused() -> None:
    fresh = LiveRun.create({"preset": "pass-fail"})
    with pytest.raises(ConflictError, match="no update yet"):
        update_view(fresh, None)
    run = _run({"preset": "pass-fail"}, 3)
    for step in (0, 4, -1):
        with pytest.raises(ValueError, match=r"^step: must be in \[1, 3\]"):
            update_view(run, step)
    with pytest.raises(ValueError, match=r"^limit"):
        update_view(run, 1, limit=501)
    with pytest.raises(ValueError, match=r"^limit"):
        update_view(run, 1, limit=0)
    with pytest.raises(ValueError, match=r"^offset"):
        update_view(run, 1, offset=-1)
    with pytest.raises(ValueError, match=r"^match"):
        update_view(run, 1, match="x" * 65)
    with pytest.raises(ValueError, match="step must be an integer"):
        TrainingSession({"preset": "pass-fail"}).update_at(1)


@pytest.mark.parametrize(
    ("optimizer", "explain"),
    [
        ({"name": "adam", "lr": 0.01, "amsgrad": True},
         "adam: each weight's step is lr x m_hat / (sqrt(v_hat) + eps) (v_hat from the running "
         "maximum of v, amsgrad), the bias-corrected average gradient over its typical size, so "
         "each weight moves by about lr (0.01) whatever the scale of its gradient."),
        ({"name": "adam", "lr": 0.01},
         "adam: each weight's step is lr x m_hat / (sqrt(v_hat) + eps), the bias-corrected "
         "average gradient over its typical size, so each weight moves by about lr (0.01) "
         "whatever the scale of its gradient."),
        # torch.optim.SGD: b = momentum x b + (1 - dampening) x gradient after the first step
        ({"name": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.25},
         "momentum 0.9: the step follows the velocity buffer b = 0.9 b + 0.75 x gradient, "
         "taken = -lr x b, so past gradients keep pushing the weight."),
        ({"name": "sgd", "lr": 0.1, "momentum": 0.5},
         "momentum 0.5: the step follows the velocity buffer b = 0.5 b + 1 x gradient, "
         "taken = -lr x b, so past gradients keep pushing the weight."),
        ({"name": "adagrad", "lr": 0.05, "lr_decay": 0.001},
         "adagrad: each weight's step is lr x gradient / (sqrt(sum of its squared gradients) + "
         "eps) with lr decayed to lr / (1 + (t - 1) x 0.001), shrinking as its gradients add up."),
        ({"name": "adagrad", "lr": 0.05},
         "adagrad: each weight's step is lr x gradient / (sqrt(sum of its squared gradients) + "
         "eps), shrinking as its gradients add up."),
        # torch.optim.RMSprop: centered subtracts the squared running mean of the gradient
        ({"name": "rmsprop", "lr": 0.01},
         "rmsprop: each weight's step is lr x gradient / (sqrt(square_avg) + eps), so weights "
         "whose recent gradients were large take smaller steps."),
        ({"name": "rmsprop", "lr": 0.01, "centered": True, "momentum": 0.5},
         "rmsprop: each weight's step is lr x gradient / (sqrt(square_avg minus the squared "
         "mean gradient (centered)) + eps), accumulated with momentum 0.5, so weights whose "
         "recent gradients were large take smaller steps."),
    ],
)  # fmt: skip
def test_the_update_explains_its_optimizers_rule(optimizer: dict[str, Any], explain: str) -> None:
    assert (
        update_view(_run({"preset": "pass-fail", "optimizer": optimizer}, 3), 3)["explain"]
        == explain
    )


def _derived_case(optimizer: dict[str, Any]) -> dict[str, Any]:
    run = _run({"preset": "moons-mlp", "optimizer": optimizer}, 6)
    return update_view(run, 6, limit=40)


def test_adamw_and_amsgrad_rows_show_what_the_step_divides_by() -> None:
    # torch.optim.Adam(W): m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) with v the running
    # maximum max_exp_avg_sq under amsgrad; step = lr x m_hat / (sqrt(v_hat) + eps), and AdamW
    # first shrinks the weight by lr x weight_decay x weight.
    for optimizer, second in (
        ({"name": "adamw", "lr": 0.01, "weight_decay": 0.05}, "exp_avg_sq"),
        ({"name": "adam", "lr": 0.01, "amsgrad": True}, "max_exp_avg_sq"),
        ({"name": "adamw", "lr": 0.01, "amsgrad": True}, "max_exp_avg_sq"),
    ):
        view = _derived_case(optimizer)
        h, t, lr = view["optimizer"]["hyper"], view["optimizer"]["t"], view["optimizer"]["lr"]
        (b1, b2), eps, decay = h["betas"], h["eps"], h["weight_decay"]
        m = np.array([r["state_after"]["exp_avg"] for r in view["rows"]])
        v = np.array([r["state_after"][second] for r in view["rows"]])
        if second == "max_exp_avg_sq":  # the running maximum is not v itself here
            v_now = np.array([r["state_after"]["exp_avg_sq"] for r in view["rows"]])
            assert np.any(v > v_now * (1 + 1e-6))
        np.testing.assert_allclose(_col(view, "m_hat"), m / (1 - b1**t), rtol=1e-14)
        np.testing.assert_allclose(_col(view, "v_hat"), v / (1 - b2**t), rtol=1e-14)
        denominator = np.sqrt(v / (1 - b2**t)) + eps
        np.testing.assert_allclose(_col(view, "denominator"), denominator, rtol=1e-12)
        shrink = -lr * decay * _col(view, "before") if optimizer["name"] == "adamw" else 0.0
        step = shrink - lr * _col(view, "m_hat") / denominator
        np.testing.assert_allclose(_col(view, "taken"), step, rtol=1e-9, atol=1e-15)


def test_rmsprop_and_adagrad_rows_show_the_denominator_of_their_step() -> None:
    # torch.optim.RMSprop: step = lr x grad / (sqrt(square_avg - grad_avg^2) + eps) when
    # centered, sqrt(square_avg) without; torch.optim.Adagrad: lr x grad / (sqrt(sum) + eps).
    for optimizer in (
        {"name": "rmsprop", "lr": 0.01, "centered": True},
        {"name": "rmsprop", "lr": 0.01},
        {"name": "adagrad", "lr": 0.05},
    ):
        view = _derived_case(optimizer)
        eps, lr = view["optimizer"]["hyper"]["eps"], view["optimizer"]["lr"]
        rows = view["rows"]
        buf = {key: np.array([r["state_after"][key] for r in rows]) for key in view["buffers"]}
        if optimizer["name"] == "adagrad":
            denominator = np.sqrt(buf["sum"]) + eps
        elif optimizer.get("centered"):
            denominator = np.sqrt(buf["square_avg"] - buf["grad_avg"] ** 2) + eps
        else:
            denominator = np.sqrt(buf["square_avg"]) + eps
        np.testing.assert_allclose(_col(view, "denominator"), denominator, rtol=1e-12)
        step = -lr * _col(view, "grad") / denominator
        np.testing.assert_allclose(_col(view, "taken"), step, rtol=1e-9, atol=1e-15)
        assert set(view["rows"][0]) - {"state_before", "state_after"} == {
            "index", "name", "before", "grad", "grad_raw", "plain_step", "taken", "after",
            "denominator",
        }  # fmt: skip


def test_a_page_is_200_rows_unless_asked_and_the_limits_are_inclusive() -> None:
    run = _run({"preset": "moons-mlp"}, 2)  # 337 parameters: more than one page
    view = update_view(run, 2)
    assert view["limit"] == 200 and len(view["rows"]) == 200 and view["total"] == 337
    assert [r["index"] for r in view["rows"]] == list(range(200))
    assert view["match"] == ""  # no filter
    one = update_view(run, 2, limit=1)  # the smallest page
    assert [r["index"] for r in one["rows"]] == [0] and one["limit"] == 1
    assert len(update_view(run, 2, limit=500)["rows"]) == 337  # the largest page
    longest = "w" * 64  # exactly MAX_MATCH characters is still accepted
    assert update_view(run, 2, match=longest)["match"] == longest


def test_refusals_say_exactly_what_is_wrong() -> None:
    fresh = LiveRun.create({"preset": "pass-fail"})
    with pytest.raises(ConflictError) as conflict:
        update_view(fresh, None)
    assert str(conflict.value) == (
        "the session has made no update yet: step it first (update k is 1..T)"
    )
    run = _run({"preset": "pass-fail"}, 3)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"step": 4}, "step: must be in [1, 3], got 4"),
        ({"step": 1, "limit": 0}, "limit: must be in [1, 500], got 0"),
        ({"step": 1, "limit": 501}, "limit: must be in [1, 500], got 501"),
        ({"step": 1, "offset": -1}, "offset: must be >= 0, got -1"),
        ({"step": 1, "match": "x" * 65}, "match: at most 64 characters, got 65"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            update_view(run, **kwargs)


def test_explain_joins_every_adjustment_into_one_sentence() -> None:
    run = _run({"preset": "pass-fail", "optimizer": {"weight_decay": 0.01, "maximize": True}}, 3)
    assert update_view(run, 2)["explain"] == (
        "sgd without momentum: the step taken is -lr x the adjusted gradient (lr 0.1); "
        "weight decay adds 0.01 x weight to the gradient first (L2); "
        "maximize flips the gradient's sign, so the step goes uphill."
    )
    momentum = _run({"preset": "pass-fail", "optimizer": {"momentum": 0.5}}, 2)
    assert update_view(momentum, 1)["explain"] == (
        "momentum 0.5: the step follows the velocity buffer b = 0.5 b + 1 x gradient, "
        "taken = -lr x b, so past gradients keep pushing the weight, so on this first update, "
        "where b starts as the gradient, they agree."
    )
