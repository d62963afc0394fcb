"""The NumPy lines of a network's forward pass, loss and backward pass, layer by layer.

Written out per layer (``z1 = X @ W1 + b1``, ``a1 = np.tanh(z1)`` ...) rather than in
a loop, so a reader sees each product of the chain rule. The expressions are
``core.nn``'s and ``core.losses``': the loss from the logits, ``dL/dz`` of the output
layer (``error = pred - y`` for sigmoid + cross-entropy), then each layer's delta
computed once, used for its weights and passed to the layer below.
"""

from __future__ import annotations

from gradscape.core.activations import LEAKY_SLOPE
from gradscape.service.codegen.recipe import Recipe

#: activation -> (a from z, da/dz from z and a or None for 1, what the slope is)
ACTIVATIONS: dict[str, tuple[str, str | None, str]] = {
    "identity": ("{z}", None, ""),
    "tanh": ("np.tanh({z})", "(1 - {a}**2)", "tanh'(z) = 1 - a^2"),
    "sigmoid": ("sigmoid({z})", "{a} * (1 - {a})", "sigmoid'(z) = a (1 - a)"),
    "relu": ("np.maximum({z}, 0.0)", "({z} > 0)", "relu'(z) = 1 where z > 0, else 0"),
    "leaky_relu": (
        f"np.where({{z}} > 0, {{z}}, {LEAKY_SLOPE} * {{z}})",
        f"np.where({{z}} > 0, 1.0, {LEAKY_SLOPE})",
        f"leaky_relu'(z) = 1 where z > 0, else {LEAKY_SLOPE}",
    ),
    "softplus": ("np.logaddexp(0.0, {z})", "sigmoid({z})", "softplus'(z) = sigmoid(z)"),
}

#: The chapter's loss line, and how far its ``+ 1e-9`` moves pass-fail's loss.
CHAPTER_BCE = [
    "# the chapter's -np.mean(y * np.log(pred + 1e-9) + (1 - y) * np.log(1 - pred + 1e-9))",
    "# is the same loss moved by its + 1e-9 (by up to 2.1e-9 on pass-fail)",
]


def needs_sigmoid(r: Recipe) -> bool:
    """Whether the code calls ``sigmoid``."""
    acts = {L.activation for L in r.layers[:-1]}
    return r.loss == "bce" or r.output == "sigmoid" or bool(acts & {"sigmoid", "softplus"})


def hidden_forward(r: Recipe, inp: str) -> list[str]:
    """``z1 = X @ W1 + b1``, ``a1 = np.tanh(z1)`` ... up to the last hidden layer."""
    lines, prev = [], inp
    for i, L in enumerate(r.layers[:-1], start=1):
        lines.append(f"z{i} = {prev} @ W{i} + b{i}")
        lines.append(f"a{i} = " + ACTIVATIONS[L.activation][0].format(z=f"z{i}"))
        prev = f"a{i}"
    return lines


def logits_line(r: Recipe, inp: str) -> str:
    """The output layer: ``z``, the logits (one per sample, or a row of class scores)."""
    k = len(r.layers)
    prev = inp if k == 1 else f"a{k - 1}"
    if r.loss == "cross_entropy":
        return f"z = {prev} @ W{k} + b{k}  # the logits, one row of class scores per sample"
    return f"z = ({prev} @ W{k} + b{k})[:, 0]  # the logits, one per sample"


def prediction_lines(r: Recipe) -> list[str]:
    """``pred`` from the logits (``logp`` for softmax)."""
    if r.loss == "cross_entropy":
        return ["logp = log_softmax(z)"]
    if r.loss == "bce" or r.output == "sigmoid":
        return ["pred = sigmoid(z)"]
    return ["pred = z  # no output activation: the prediction is z itself"]


def loss_lines(r: Recipe, target: str) -> list[str]:
    """The loss of the batch, from the logits as gradscape computes it."""
    if r.loss == "bce":
        return [
            "# Loss (binary cross-entropy, from the logits z as gradscape computes it)",
            f"loss = np.mean(np.logaddexp(0.0, z) - {target} * z)",
            *CHAPTER_BCE,
        ]
    if r.loss == "cross_entropy":
        return [
            "# Loss (softmax cross-entropy: minus the log-probability of the true class)",
            f"loss = -np.mean(logp[np.arange(len({target})), {target}])",
        ]
    return ["# Loss (mean squared error)", f"error = pred - {target}", "loss = np.mean(error**2)"]


def output_delta(r: Recipe, inp: str, target: str) -> list[str]:
    """``dL/dz`` of the output layer, divided by the batch size (the loss is a mean)."""
    k, n = len(r.layers), f"len({inp})"
    if r.loss == "bce":
        return [
            f"error = pred - {target}  # dL/dz for sigmoid + cross-entropy",
            f"delta{k} = (error / {n})[:, None]",
        ]
    if r.loss == "cross_entropy":
        onehot = "Yb" if target == "yb" else "Y"
        return [
            f"error = np.exp(logp) - {onehot}  # softmax - one-hot: dL/dz for softmax + "
            "cross-entropy",
            f"delta{k} = error / {n}",
        ]
    if r.output == "sigmoid":
        return [
            f"delta{k} = (2 / {n} * error * pred * (1 - pred))[:, None]"
            "  # dL/dpred x dpred/dz: the sigmoid's slope stays in",
        ]
    return [f"delta{k} = (2 / {n} * error)[:, None]  # dL/dz of the mean squared error"]


def backward_lines(r: Recipe, inp: str) -> list[str]:
    """Each layer's gradients from its delta, and the delta passed to the layer below."""
    k = len(r.layers)
    lines: list[str] = []
    for i in range(k, 0, -1):
        prev = inp if i == 1 else f"a{i - 1}"
        lines.append(f"dW{i}, db{i} = {prev}.T @ delta{i}, delta{i}.sum(axis=0)")
        if i == 1:
            break
        below = r.layers[i - 2].activation
        _, slope, text = ACTIVATIONS[below]
        line = f"delta{i - 1} = delta{i} @ W{i}.T"
        if slope is not None:
            line += " * " + slope.format(z=f"z{i - 1}", a=f"a{i - 1}") + f"  # {text}"
        lines.append(line)
    grads = ", ".join(f"dW{i}, db{i}" for i in range(1, k + 1))
    return [*lines, f"grads = [{grads}]"]


def step_lines(r: Recipe, inp: str, target: str) -> list[str]:
    """Forward pass, loss and backward pass of one batch (the update comes after)."""
    return [
        "# Forward pass",
        *hidden_forward(r, inp),
        logits_line(r, inp),
        *prediction_lines(r),
        *loss_lines(r, target),
        "# Backward pass: each layer's delta dL/dz is computed once, gives that layer's",
        "# gradients and is passed down to the layer below",
        *output_delta(r, inp, target),
        *backward_lines(r, inp),
    ]


def data_loss_lines(r: Recipe) -> list[str]:
    """``def data_loss()``: the loss on all the training data (gradscape's loss curve)."""
    body = [*hidden_forward(r, "X"), logits_line(r, "X")]
    if r.loss != "bce":  # cross-entropy is computed from z itself
        body += prediction_lines(r)
    loss = [line for line in loss_lines(r, "y") if not line.startswith("#")]
    loss[-1] = loss[-1].replace("loss = ", "return ", 1).split("  #")[0]
    return [
        "def data_loss():",
        '    """The loss on all the training data, which gradscape records at every step."""',
        *("    " + line for line in body + loss),
    ]
