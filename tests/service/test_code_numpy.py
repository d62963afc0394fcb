"""service.codegen's NumPy and PyTorch writers, line by line: which loop a config gets, the
hyperparameters and optimizer state a snippet declares, its update, the sigmoid it defines
and the notes and omissions it names (each case also run, where it claims to retrace)."""

from __future__ import annotations

from typing import Any

import pytest

from gradscape.service.code import code
from gradscape.service.live import LiveRun
from tests.service.test_code import _retraced

#: A small network on the line data: 12 samples, one tanh hidden layer of 3, mean squared error.
LINE_NET: dict[str, Any] = {"data": {"name": "line", "n_samples": 12}, "model": {"hidden": [3]}}


def _between(text: str, first: str, stop: str) -> list[str]:
    """The lines from the first one starting with ``first`` up to (not with) the next one
    starting with ``stop``."""
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(first))
    j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith(stop))
    return lines[i:j]


# -- which loop: the chapter's neuron only for plain gradient descent --------------------


@pytest.mark.parametrize(
    "optimizer", [{"momentum": 0.9}, {"weight_decay": 0.01}], ids=["momentum", "weight-decay"]
)
def test_a_single_neuron_with_momentum_or_weight_decay_gets_the_network_loop(
    optimizer: dict[str, Any],
) -> None:
    # the chapter's "weights -= learning_rate * grad_w" has neither, so the neuron is
    # written as a one-layer network with the optimizer's update over [W1, b1]
    config = {"preset": "pass-fail", "optimizer": {"name": "sgd", "lr": 0.1, **optimizer}}
    text = code(LiveRun.create(config), "numpy", 20)["code"]
    assert "params = [W1, b1]" in text
    assert "weights -= learning_rate * grad_w" not in text
    _retraced(config, "numpy", 20)


def test_the_chapters_neuron_with_a_sigmoid_and_squared_error_keeps_the_slope_in_dz() -> None:
    config = {"preset": "pass-fail", "loss": "mse", "model": {"output": "sigmoid"}}
    lines = code(LiveRun.create(config), "numpy", 3)["code"].splitlines()
    i = lines.index("    # Backward pass (gradients)")
    assert lines[i + 1 : i + 5] == [
        "    dz = 2 * error * pred * (1 - pred)  # dL/dz: the sigmoid's slope pred (1 - pred)",
        "    # stays in, so the gradient fades where the prediction saturates",
        "    grad_w = X.T @ dz / len(X)",
        "    grad_b = np.mean(dz)",
    ]


# -- the hyperparameters, state and update each optimizer declares ---------------------

SETTINGS_AND_UPDATES: dict[str, tuple[dict[str, Any], list[str], list[str]]] = {
    # dampening only acts on a momentum buffer: with momentum 0 it is plain SGD, no state
    "sgd-dampening-without-momentum": (
        {"name": "sgd", "lr": 0.1, "dampening": 0.5},
        ["learning_rate = 0.1", "epochs = 3", ""],
        ["for p, g in zip(params, grads):", "    p -= learning_rate * g"],
    ),
    "sgd-nesterov": (
        {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True},
        [
            "learning_rate = 0.1",
            "momentum = 0.9",
            "epochs = 3",
            "",
            "velocity = [np.zeros_like(p) for p in params]  # the momentum buffers",
            "",
        ],
        [
            "for p, g, v in zip(params, grads, velocity):",
            "    v *= momentum",
            "    v += g",
            "    p -= learning_rate * (g + momentum * v)  # Nesterov: look ahead",
        ],
    ),
    # torch's defaults: alpha 0.99, eps 1e-8, momentum 0, not centered
    "rmsprop": (
        {"name": "rmsprop", "lr": 0.01},
        [
            "learning_rate = 0.01",
            "alpha = 0.99",
            "eps = 1e-08",
            "epochs = 3",
            "",
            "square_avg = [np.zeros_like(p) for p in params]  # moving average of the squared "
            "gradient",
            "",
        ],
        [
            "for p, g, sq in zip(params, grads, square_avg):",
            "    sq *= alpha",
            "    sq += (1 - alpha) * g * g",
            "    avg = np.sqrt(sq)",
            "    avg += eps",
            "    p -= learning_rate * g / avg",
        ],
    ),
    # lr_decay 0: the rate stays learning_rate, so no step counter
    "adagrad": (
        {"name": "adagrad", "lr": 0.01},
        [
            "learning_rate = 0.01",
            "eps = 1e-10",
            "epochs = 3",
            "",
            "sums = [np.full_like(p, 0.0) for p in params]  # sums of squared gradients",
            "",
        ],
        [
            "for p, g, s in zip(params, grads, sums):",
            "    s += g * g",
            "    p -= learning_rate * g / (np.sqrt(s) + eps)",
        ],
    ),
    # AdamW without its decoupled decay (torch's default is 0.01) is Adam's update
    "adamw-without-decay": (
        {"name": "adamw", "lr": 0.01, "weight_decay": 0.0},
        [
            "learning_rate = 0.01",
            "beta1, beta2 = 0.9, 0.999",
            "eps = 1e-08",
            "epochs = 3",
            "",
            "m = [np.zeros_like(p) for p in params]  # moving average of the gradient",
            "v = [np.zeros_like(p) for p in params]  # moving average of its square",
            "t = 0  # updates so far",
            "",
        ],
        [
            "t += 1",
            "for p, g, m_p, v_p in zip(params, grads, m, v):",
            "    m_p += (1 - beta1) * (g - m_p)  # torch's lerp",
            "    v_p *= beta2",
            "    v_p += (1 - beta2) * g * g",
            "    step_size = learning_rate / (1 - beta1**t)",
            "    denom = np.sqrt(v_p) / (1 - beta2**t) ** 0.5 + eps",
            "    p -= step_size * m_p / denom",
        ],
    ),
}


@pytest.mark.parametrize("case", list(SETTINGS_AND_UPDATES))
def test_a_network_declares_only_the_hyperparameters_and_state_its_update_uses(
    case: str,
) -> None:
    optimizer, settings, update = SETTINGS_AND_UPDATES[case]
    config = {**LINE_NET, "optimizer": optimizer}
    text = code(LiveRun.create(config), "numpy", 3)["code"]
    assert _between(text, "learning_rate = ", "losses = {}") == settings
    assert _between(text, "    # Update (", "    if epoch % ")[1:] == ["    " + s for s in update]
    _retraced(config, "numpy", 3)


def test_a_surface_under_plain_gradient_descent_declares_no_state() -> None:
    config = {"preset": "rosenbrock", "optimizer": {"name": "sgd", "lr": 0.001, "momentum": 0.0}}
    text = code(LiveRun.create(config), "numpy", 5)["code"]
    assert _between(text, "learning_rate = ", "for step in ") == [
        "learning_rate = 0.001",
        "steps = 5",
        "",
        "losses = {}  # step -> loss, at the printed steps",
    ]
    _retraced(config, "numpy", 5)


# -- the sigmoid a network calls, and the notes on it --------------------------------------


@pytest.mark.parametrize(
    "activations", [["tanh", "softplus"], ["relu", "sigmoid"]], ids=["softplus", "sigmoid"]
)
def test_a_network_defines_sigmoid_when_a_deeper_hidden_layer_calls_it(
    activations: list[str],
) -> None:
    # mean squared error, no output activation: only the second hidden layer calls sigmoid
    # (softplus' slope is sigmoid(z))
    config = {
        "data": {"name": "line", "n_samples": 12},
        "model": {"hidden": [3, 3], "activation": activations},
    }
    lines = code(LiveRun.create(config), "numpy", 3)["code"].splitlines()
    i = lines.index("def sigmoid(z):")
    assert lines[i + 1] == "    return 1 / (1 + np.exp(-z))"
    _retraced(config, "numpy", 3)


def test_pytorch_notes_softplus_threshold_when_a_deeper_hidden_layer_is_softplus() -> None:
    config = {
        "data": {"name": "line", "n_samples": 12},
        "model": {"hidden": [3, 3], "activation": ["tanh", "softplus"]},
    }
    assert code(LiveRun.create(config), "pytorch", 3)["notes"] == [
        "torch's Linear.weight is (units, inputs), the transpose of gradscape's W "
        "(inputs, units): the snippet loads theta_0 transposed.",
        "nn.Softplus returns z itself above z = 20 (its threshold); gradscape computes "
        "log(1 + e^z) there too, a difference below 2e-9.",
    ]


# -- a sigmoid output under squared error ------------------------------------------------

SIGMOID_MSE: dict[str, Any] = {
    "preset": "pass-fail",
    "loss": "mse",
    "model": {"hidden": [3], "output": "sigmoid"},
}


def test_numpy_keeps_the_sigmoids_slope_in_the_output_delta() -> None:
    lines = code(LiveRun.create(SIGMOID_MSE), "numpy", 3)["code"].splitlines()
    assert (
        "    delta2 = (2 / len(X) * error * pred * (1 - pred))[:, None]"
        "  # dL/dpred x dpred/dz: the sigmoid's slope stays in"
    ) in lines


def test_pytorch_names_the_output_sigmoid_after_its_layer() -> None:
    lines = code(LiveRun.create(SIGMOID_MSE), "pytorch", 3)["code"].splitlines()
    i = lines.index("model = nn.Sequential(")
    assert lines[i : i + 10] == [
        "model = nn.Sequential(",
        "    OrderedDict(",
        "        [",
        '            ("layer1", nn.Linear(2, 3)),',
        '            ("tanh1", nn.Tanh()),',
        '            ("layer2", nn.Linear(3, 1)),',
        '            ("sigmoid2", nn.Sigmoid()),',
        "        ]",
        "    )",
        ")",
    ]


# -- a one-layer network in mini-batches -------------------------------------------------


def test_a_one_layer_networks_data_loss_feeds_all_the_data_to_its_layer() -> None:
    # pass-fail's neuron under Adam (not the chapter's loop), in batches of 2 of its 4 rows
    config = {"preset": "pass-fail", "batch_size": 2, "optimizer": {"name": "adam", "lr": 0.05}}
    text = code(LiveRun.create(config), "numpy", 10)["code"]
    assert _between(text, "def data_loss():", "losses = {}") == [
        "def data_loss():",
        '    """The loss on all the training data, which gradscape records at every step."""',
        "    z = (X @ W1 + b1)[:, 0]  # the logits, one per sample",
        "    return np.mean(np.logaddexp(0.0, z) - y * z)",
        "",
        "",
    ]
    _retraced(config, "numpy", 10)


# -- what a surface's snippet leaves out ---------------------------------------------------


@pytest.mark.parametrize("language", ["numpy", "pytorch"])
def test_a_surfaces_opening_names_what_it_leaves_out(language: str) -> None:
    out = code(LiveRun.create({"preset": "rosenbrock", "clip_norm": 1.0}), language, 5)
    title = "plain NumPy" if language == "numpy" else "PyTorch"
    assert out["exact"] is False
    assert out["code"].splitlines()[:4] == [
        f"# gradscape: preset rosenbrock, the rosenbrock surface, in {title}.",
        "# It runs the session's config for 5 steps from gradscape's start point.",
        "# Left out, so this does not retrace the server's run exactly:",
        "#   - Gradient clipping (clip_norm 1.0): the code does not clip.",
    ]
