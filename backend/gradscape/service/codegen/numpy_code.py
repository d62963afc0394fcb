"""The NumPy snippet: the chapter's loop (forward, loss, backward, update) for the config.

A single neuron trained by plain gradient descent is written as the chapter writes it
(``weights``, ``bias``, ``error = pred - y``); any other network gets one ``W``/``b``
pair per layer and the optimizer's update over the list of them; a surface gets
``f(x, y)``, its gradient and the same update. Mini-batches follow the server's order:
epoch ``e`` visits ``np.random.default_rng([seed, e]).permutation(n)`` in slices of
``batch_size``. The loss at every printed epoch is kept in ``losses`` and the final
parameters in ``theta``, in gradscape's order.
"""

from __future__ import annotations

from gradscape.service.codegen import layers_numpy as nn
from gradscape.service.codegen.optim_numpy import hyper_lines, state_lines, update_lines
from gradscape.service.codegen.recipe import Recipe, array_lines, number
from gradscape.service.codegen.surfaces import surface_text
from gradscape.service.codegen.text import data_lines, header

SIGMOID = ["def sigmoid(z):", "    return 1 / (1 + np.exp(-z))"]
LOG_SOFTMAX = [
    "def log_softmax(z):",
    '    """log(softmax(z)) per row, shifted by the row\'s max so exp cannot overflow."""',
    "    shifted = z - np.max(z, axis=1, keepdims=True)",
    "    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))",
]
PRINT = 'print(f"{unit} {{{unit}:4d}} loss {{losses[{unit}]:.4f}}")'


def render(r: Recipe) -> tuple[str, list[str]]:
    """The snippet and its notes."""
    if r.function is not None:
        lines = _surface(r)
    elif r.single_neuron and _plain_sgd(r):
        lines = _chapter(r)
    else:
        lines = _network(r)
    notes = []
    if r.loss == "bce":
        notes.append(
            "The loss is computed from the logits z (np.logaddexp), as gradscape does; the "
            "chapter's -mean(y log(pred + 1e-9) + ...) is the same loss moved by its 1e-9 "
            "(up to 2.1e-9 on pass-fail)."
        )
    return "\n".join(lines) + "\n", notes


def _plain_sgd(r: Recipe) -> bool:
    o = r.optimizer
    plain = o.get("momentum", 0) == 0 and o.get("weight_decay", 0) == 0
    return o["name"] == "sgd" and plain and not o["maximize"]


def _imports(r: Recipe) -> list[str]:
    lines = ["import numpy as np", "", ""]
    if r.function is None and nn.needs_sigmoid(r):
        lines += [*SIGMOID, "", ""]
    if r.loss == "cross_entropy":
        lines += [*LOG_SOFTMAX, "", ""]
    return lines


def _data(r: Recipe) -> list[str]:
    lines = data_lines(r, "np.array", "float")
    if r.loss == "cross_entropy":
        lines.append(f"Y = np.eye({r.n_classes})[y]  # one-hot rows")
    return lines


def _run_settings(r: Recipe) -> list[str]:
    lines = hyper_lines(r.optimizer)
    if r.batch_size is not None:
        lines += [
            f"batch_size = {r.batch_size}",
            f"seed = {r.seed}  # gradscape shuffles epoch e with np.random.default_rng([seed, e])",
        ]
    unit = "steps" if r.function is not None else "epochs"
    return [*lines, f"{unit} = {r.epochs}"]


def _loop(r: Recipe, step: list[str], update: list[str]) -> list[str]:
    """The epoch loop around one batch's ``step`` and ``update`` lines."""
    keep = [f"    if epoch % {r.every} == 0:"]
    lines = ["losses = {}  # epoch -> loss on all the data, at the printed epochs"]
    lines.append("for epoch in range(epochs):")
    if r.batch_size is None:
        lines += ["    " + s for s in step + update]
        keep += ["        losses[epoch] = loss"]
        return lines + keep + ["        " + PRINT.format(unit="epoch")]
    lines += [*keep, "        losses[epoch] = data_loss()", "        " + PRINT.format(unit="epoch")]
    lines += [
        "    order = np.random.default_rng([seed, epoch]).permutation(len(X))",
        "    for start in range(0, len(X), batch_size):",
        "        batch = order[start : start + batch_size]",
        "        Xb, yb, Yb = X[batch], y[batch], Y[batch]"
        if r.loss == "cross_entropy"
        else "        Xb, yb = X[batch], y[batch]",
    ]
    return lines + ["        " + s for s in step + update]


def _chapter(r: Recipe) -> list[str]:
    """The chapter's single neuron, for any loss of one output and any batch size."""
    (layer,) = r.layers
    mini = r.batch_size is not None
    X, y = ("Xb", "yb") if mini else ("X", "y")
    lines = [*header(r, "plain NumPy", r.omits, True), *_imports(r), *_data(r), ""]
    lines += [
        "# Start weights and bias (gradscape's theta_0)",
        *array_lines(layer.W[:, 0], "weights = np.array(", ")"),
        f"bias = {number(layer.b[0])}",
        "",
        *_run_settings(r),
        "",
    ]
    forward = ["# Forward pass", f"z = {X} @ weights + bias", *nn.prediction_lines(r)]
    loss = nn.loss_lines(r, y)
    if r.loss == "bce":
        dz = "error"
        backward = [f"error = pred - {y}  # dL/dz for sigmoid + cross-entropy"]
    else:
        dz = "dz"
        backward = ["dz = 2 * error  # dL/dz of the squared error, per sample"]
        if r.output == "sigmoid":
            backward = [
                "dz = 2 * error * pred * (1 - pred)  # dL/dz: the sigmoid's slope pred (1 - pred)",
                "# stays in, so the gradient fades where the prediction saturates",
            ]
    backward = [
        "# Backward pass (gradients)",
        *backward,
        f"grad_w = {X}.T @ {dz} / len({X})",
        f"grad_b = np.mean({dz})",
    ]
    update = [
        "# Update (gradient descent)",
        "weights -= learning_rate * grad_w",
        "bias -= learning_rate * grad_b",
    ]
    if mini:
        body = [f"    {s}" for s in forward[1:] + loss if not s.startswith("#")]
        body = [s.replace("Xb", "X").replace("yb", "y") for s in body]
        body[-1] = body[-1].replace("loss = ", "return ", 1).split("  #")[0]
        lines += ["", "def data_loss():", '    """The loss on all the training data."""', *body]
        lines += ["", ""]
    lines += _loop(r, [*forward, *loss, *backward], update)
    return [
        *lines,
        "",
        "theta = np.append(weights, bias)  # gradscape's parameter order",
        'print("final weights:", weights, "bias:", bias)',
    ]


def _network(r: Recipe) -> list[str]:
    """Any dense network: one W, b per layer, the optimizer's update over all of them."""
    mini = r.batch_size is not None
    X, y = ("Xb", "yb") if mini else ("X", "y")
    lines = [*header(r, "plain NumPy", r.omits, True), *_imports(r), *_data(r), ""]
    lines.append("# Start weights and biases (gradscape's theta_0): W is (inputs, units)")
    names = []
    for i, L in enumerate(r.layers, start=1):
        lines += array_lines(L.W, f"W{i} = np.array(", ")")
        lines += array_lines(L.b, f"b{i} = np.array(", ")")
        names += [f"W{i}", f"b{i}"]
    lines += [f"params = [{', '.join(names)}]", "", *_run_settings(r)]
    state = state_lines(r.optimizer)
    lines += ["", *state] if state else []
    if mini:
        lines += ["", "", *nn.data_loss_lines(r), "", ""]
    else:
        lines.append("")
    lines += _loop(r, nn.step_lines(r, X, y), update_lines(r.optimizer))
    return [
        *lines,
        "",
        "# gradscape's flat order: W1 row by row, then b1, then W2 ...",
        "theta = np.concatenate([p.ravel() for p in params])",
        'print("final weights:", theta)',
    ]


def _surface(r: Recipe) -> list[str]:
    """Gradient descent (or the config's optimizer) on an analytic surface."""
    assert r.surface is not None
    text = surface_text(r.surface)
    lines = [*header(r, "plain NumPy", r.omits, True), "import numpy as np", ""]
    lines += [*text.constants, "", ""] if text.constants else [""]
    lines += [
        "def f(x, y):",
        f'    """The loss surface {text.formula}."""',
        f"    return {text.value}",
        "",
        "",
        "def gradient(x, y):",
        '    """The exact gradient [df/dx, df/dy]."""',
        *("    " + s for s in text.gradient),
        "",
        "",
        f"theta = np.array([{number(r.theta0[0])}, {number(r.theta0[1])}])  # the start point",
        "params = [theta]",
        *_run_settings(r),
    ]
    state = state_lines(r.optimizer)
    lines += ["", *state] if state else []
    step = ["x, y = theta", "loss = f(x, y)", "grads = [np.array(gradient(x, y))]"]
    body = ["    " + s for s in step + update_lines(r.optimizer)]
    return [
        *lines,
        "",
        "losses = {}  # step -> loss, at the printed steps",
        "for step in range(steps):",
        *body,
        f"    if step % {r.every} == 0:",
        "        losses[step] = loss",
        "        " + PRINT.format(unit="step"),
        "",
        'print("final point:", theta)',
    ]
