"""The PyTorch snippet: ``nn.Sequential`` from theta_0, the loss from logits, torch.optim.

In float64, on the same data, with the same mini-batch order and the config's
``torch.optim`` optimizer, so it retraces the server's steps (gradscape's optimizers
follow torch's update rules). Linear layers are named ``layer1``, ``layer2`` ... as
gradscape names them; their ``weight`` is the transpose of gradscape's ``W``.
"""

from __future__ import annotations

from typing import Any

from gradscape.service.codegen.optim_numpy import TITLES
from gradscape.service.codegen.recipe import Recipe, array_lines, number
from gradscape.service.codegen.surfaces import surface_text
from gradscape.service.codegen.text import data_lines, header

MODULES = {
    "identity": None,
    "tanh": "nn.Tanh()",
    "sigmoid": "nn.Sigmoid()",
    "relu": "nn.ReLU()",
    "leaky_relu": "nn.LeakyReLU(0.01)",
    "softplus": "nn.Softplus()",
}
LOSSES = {
    "bce": "nn.BCEWithLogitsLoss()  # sigmoid + cross-entropy from the logits, mean over the batch",
    "mse": "nn.MSELoss()  # mean squared error, mean over the batch",
    "cross_entropy": "nn.CrossEntropyLoss()  # softmax + cross-entropy from the logits, mean",
}
#: Hyperparameters shown even at their defaults (the rest only when they differ).
ALWAYS = {"sgd": ("momentum",), "adam": ("betas", "eps"), "adamw": ("betas", "eps", "weight_decay")}
DEFAULTS: dict[str, Any] = {
    "momentum": 0.0,
    "dampening": 0.0,
    "weight_decay": 0.0,
    "nesterov": False,
    "maximize": False,
    "amsgrad": False,
    "centered": False,
    "lr_decay": 0.0,
    "initial_accumulator_value": 0.0,
}


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, list | tuple):
        return "(" + ", ".join(number(x) for x in v) + ")"
    return number(v)


def optimizer_call(opt: dict[str, Any], params: str) -> str:
    """``torch.optim.Adam(params, lr=0.01, betas=(0.9, 0.999), eps=1e-08)``."""
    name = opt["name"]
    shown = [f"lr={number(opt['lr'])}"]
    for key, value in opt.items():
        if key in ("name", "lr"):
            continue
        if key in ALWAYS.get(name, ()) or DEFAULTS.get(key, object()) != value:
            shown.append(f"{key}={_value(value)}")
    return f"torch.optim.{TITLES[name]}({params}, {', '.join(shown)})"


def render(r: Recipe) -> tuple[str, list[str]]:
    """The snippet and its notes."""
    if r.function is not None:
        return "\n".join(_surface(r)) + "\n", []
    notes = [
        "torch's Linear.weight is (units, inputs), the transpose of gradscape's W "
        "(inputs, units): the snippet loads theta_0 transposed.",
    ]
    if any(L.activation == "softplus" for L in r.layers[:-1]):
        notes.append(
            "nn.Softplus returns z itself above z = 20 (its threshold); gradscape computes "
            "log(1 + e^z) there too, a difference below 2e-9."
        )
    return "\n".join(_network(r)) + "\n", notes


def _model(r: Recipe) -> list[str]:
    lines = ["model = nn.Sequential(", "    OrderedDict(", "        ["]
    last = len(r.layers) - 1
    for i, L in enumerate(r.layers):
        comment = "  # the logits" if i == last and r.output == "identity" else ""
        lines.append(f'            ("{L.name}", nn.Linear({L.fan_in}, {L.fan_out})),{comment}')
        act = MODULES[L.activation] if i < last else MODULES.get(r.output)
        if act is not None:
            label = L.activation if i < last else r.output
            lines.append(f'            ("{label}{i + 1}", {act}),')
    lines += ["        ]", "    )", ")"]
    lines.append("# gradscape's start weights theta_0 (Linear.weight is the transpose of its W)")
    lines.append("with torch.no_grad():")
    for L in r.layers:
        weight, bias = f"    model.{L.name}.weight", f"    model.{L.name}.bias"
        lines += array_lines(L.W, f"{weight}.copy_(torch.tensor(", "))", transpose=True)
        lines += array_lines(L.b, f"{bias}.copy_(torch.tensor(", "))")
    return lines


def _network(r: Recipe) -> list[str]:
    lines = [*header(r, "PyTorch", r.omits, True), "from collections import OrderedDict", ""]
    lines += ["import numpy as np", "import torch", "from torch import nn", ""]
    lines += ["torch.set_default_dtype(torch.float64)  # gradscape computes in float64", ""]
    lines += [*data_lines(r, "torch.tensor", "torch.float64"), "", *_model(r), ""]
    lines += [f"loss_fn = {LOSSES[r.loss or 'mse']}"]
    lines += [f"optimizer = {optimizer_call(r.optimizer, 'model.parameters()')}"]
    if r.batch_size is not None:
        lines += [
            f"batch_size = {r.batch_size}",
            f"seed = {r.seed}  # gradscape shuffles epoch e with np.random.default_rng([seed, e])",
        ]
    lines += [f"epochs = {r.epochs}", "", "", "def output(X):"]
    pick = "" if r.loss == "cross_entropy" else "[:, 0]"
    lines += [f'    """The model\'s outputs{" (one per sample)" if pick else ""}."""']
    lines += [f"    return model(X){pick}", "", ""]
    lines += ["losses = {}  # epoch -> loss on all the data, at the printed epochs"]
    lines += ["for epoch in range(epochs):"]
    step = [
        "optimizer.zero_grad()",
        "loss = loss_fn(output({X}), {y})  # forward pass and loss",
        "loss.backward()  # backpropagation: every gradient in one backward sweep",
        "optimizer.step()  # the update",
    ]
    keep = f"    if epoch % {r.every} == 0:"
    show = '        print(f"epoch {epoch:4d} loss {losses[epoch]:.4f}")'
    if r.batch_size is None:
        lines += ["    " + s.format(X="X", y="y") for s in step]
        lines += [keep, "        losses[epoch] = loss.item()", show]
    else:
        lines += [keep, "        with torch.no_grad():"]
        lines += ["            losses[epoch] = loss_fn(output(X), y).item()", show]
        lines += [
            "    order = np.random.default_rng([seed, epoch]).permutation(len(X))",
            "    for start in range(0, len(X), batch_size):",
            "        batch = order[start : start + batch_size]",
        ]
        lines += ["        " + s.format(X="X[batch]", y="y[batch]") for s in step]
    return [
        *lines,
        "",
        "with torch.no_grad():",
        "    linear = [layer for layer in model if isinstance(layer, nn.Linear)]",
        "    # gradscape's order: per layer W (= weight.T) row by row, then b",
        "    theta = torch.cat([t for L in linear for t in (L.weight.T.flatten(), L.bias)])",
        'print("final weights:", theta)',
    ]


def _surface(r: Recipe) -> list[str]:
    assert r.surface is not None
    text = surface_text(r.surface)
    constants = [c.replace("np.", "torch.") for c in text.constants]
    start = f"[{number(r.theta0[0])}, {number(r.theta0[1])}]"
    lines = [*header(r, "PyTorch", r.omits, True), "import torch", ""]
    lines += ["torch.set_default_dtype(torch.float64)", ""]
    lines += [*constants, "", ""] if constants else [""]
    lines += [
        "def f(x, y):",
        f'    """The loss surface {text.formula}."""',
        f"    return {text.value.replace('np.', 'torch.')}",
        "",
        "",
        f"theta = torch.tensor({start}, requires_grad=True)  # the start point",
        f"optimizer = {optimizer_call(r.optimizer, '[theta]')}",
        f"steps = {r.epochs}",
        "",
        "losses = {}  # step -> loss, at the printed steps",
        "for step in range(steps):",
        "    optimizer.zero_grad()",
        "    loss = f(theta[0], theta[1])",
        "    loss.backward()  # autograd: the gradient of f at theta",
        "    optimizer.step()",
        f"    if step % {r.every} == 0:",
        "        losses[step] = loss.item()",
        '        print(f"step {step:4d} loss {losses[step]:.4f}")',
        "",
        'print("final point:", theta.detach())',
    ]
    return lines
