"""The Keras snippet: ``model.compile(optimizer=..., loss=...)`` and ``model.fit`` as the
chapter writes them, from gradscape's start weights (``set_weights``).

Keras cannot retrace the server's run: it shuffles mini-batches its own way, and some
optimizers put epsilon elsewhere. The notes say where it differs; what Keras has no
setting for is left out and named.
"""

from __future__ import annotations

from typing import Any

from gradscape.core.activations import LEAKY_SLOPE
from gradscape.service.codegen.optim_numpy import TITLES
from gradscape.service.codegen.recipe import Recipe, array_lines, number
from gradscape.service.codegen.text import data_lines, header

ACTIVATIONS = {
    "identity": None,
    "tanh": '"tanh"',
    "sigmoid": '"sigmoid"',
    "relu": '"relu"',
    "softplus": '"softplus"',
    "leaky_relu": None,  # a LeakyReLU layer of its own, with gradscape's slope
}
LOSSES = {
    "bce": "keras.losses.BinaryCrossentropy(from_logits=True)",
    "mse": '"mean_squared_error"',
    "cross_entropy": "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
}


def render(r: Recipe) -> tuple[str, list[str], list[str]]:
    """The snippet, its notes and what it leaves out beyond the recipe's omissions."""
    if r.function is not None:
        raise ValueError(
            "language: Keras code export covers layer models; for the "
            f"{r.function} surface ask for language=numpy or language=pytorch"
        )
    optimizer, notes, omits = _optimizer(r.optimizer)
    notes = [*_general_notes(r), *notes]
    lines = [*header(r, "Keras", [*r.omits, *omits], False), "import numpy as np", "import keras"]
    lines += ["", 'keras.config.set_floatx("float64")  # gradscape computes in float64', ""]
    lines += [*data_lines(r, "np.array", "float"), "", *_model(r, regularize=_l2(r.optimizer))]
    lines += [
        "model.compile(",
        f"    optimizer={optimizer},",
        f"    loss={LOSSES[r.loss or 'mse']},",
        ")",
    ]
    assert r.X is not None
    batch = r.batch_size or r.X.shape[0]
    full = "  # the full batch" if r.batch_size is None else ""
    lines += [
        f"history = model.fit(X, y, epochs={r.epochs}, batch_size={batch}, verbose=0){full}",
        'for epoch, loss in enumerate(history.history["loss"]):',
        f"    if epoch % {r.every} == 0:",
        '        print(f"epoch {epoch:4d} loss {loss:.4f}")',
        'print("final weights:", model.get_weights())',
    ]
    return "\n".join(lines) + "\n", notes, omits


def _general_notes(r: Recipe) -> list[str]:
    notes = [
        "Keras computes in float32 unless told otherwise; the snippet sets float64 with "
        'keras.config.set_floatx("float64") to match gradscape.',
    ]
    if r.loss in ("bce", "cross_entropy"):
        notes.append(
            "The output layer has no activation and the loss takes logits (from_logits=True), "
            "as gradscape computes it; the chapter's Dense(1, activation='sigmoid') with "
            "'binary_crossentropy' clips the probabilities at 1e-7 instead."
        )
    if r.batch_size is not None:
        notes += [
            "Keras shuffles the samples its own way every epoch, so its mini-batches, and the "
            "path, differ from gradscape's (which uses np.random.default_rng([seed, epoch])).",
            "history.history['loss'][e] is the mean of epoch e's batch losses as it trained, "
            "not the loss on all the data at the epoch's start that gradscape records.",
        ]
    return notes


def _l2(opt: dict[str, Any]) -> float:
    """The L2 penalty torch's weight_decay adds to the gradient (not AdamW's decoupled one)."""
    return 0.0 if opt["name"] == "adamw" else float(opt.get("weight_decay", 0.0))


def _optimizer(opt: dict[str, Any]) -> tuple[str, list[str], list[str]]:
    """The Keras optimizer call, notes on how it differs from torch's, and what it lacks."""
    name, lr = opt["name"], number(opt["lr"])
    notes: list[str] = []
    omits: list[str] = []
    if _l2(opt):
        notes.append(
            "Keras' weight_decay is decoupled (AdamW's) in every optimizer; torch's "
            f"{TITLES[name]} adds weight_decay x w to the gradient, so the snippet adds that "
            "as an L2 penalty (weight_decay / 2) on every kernel and bias, and the loss "
            "Keras reports includes it."
        )
    if opt.get("maximize"):
        omits.append("Maximize: Keras optimizers only minimise.")
    if name == "sgd":
        args = [f"learning_rate={lr}", f"momentum={number(opt['momentum'])}"]
        if opt["nesterov"]:
            args.append("nesterov=True")
        if opt["momentum"] != 0 and opt["dampening"] != 0:
            omits.append(f"SGD's dampening {opt['dampening']!r}: Keras' SGD has none.")
        return f"keras.optimizers.SGD({', '.join(args)})", notes, omits
    if name in ("adam", "adamw"):
        beta1, beta2 = opt["betas"]
        args = [f"learning_rate={lr}"]
        if name == "adamw":
            args.append(f"weight_decay={number(opt['weight_decay'])}")
        args += [f"beta_1={number(beta1)}", f"beta_2={number(beta2)}"]
        args.append(f"epsilon={number(opt['eps'])}")
        if opt["amsgrad"]:
            args.append("amsgrad=True")
        notes.append(
            f"Keras' Adam epsilon defaults to 1e-7 (torch's to 1e-8), so the snippet sets "
            f"epsilon={number(opt['eps'])}; Keras adds it to sqrt(v) before the bias "
            "correction, torch after, which matters only while v is tiny."
        )
        title = "AdamW" if name == "adamw" else "Adam"
        return f"keras.optimizers.{title}({', '.join(args)})", notes, omits
    if name == "rmsprop":
        args = [f"learning_rate={lr}", f"rho={number(opt['alpha'])}"]
        args += [f"momentum={number(opt['momentum'])}", f"epsilon={number(opt['eps'])}"]
        if opt["centered"]:
            args.append("centered=True")
        notes.append(
            "Keras' RMSprop calls torch's alpha rho and adds epsilon inside the square root "
            "(sqrt(v + eps)), torch outside (sqrt(v) + eps)."
        )
        return f"keras.optimizers.RMSprop({', '.join(args)})", notes, omits
    args = [f"learning_rate={lr}"]
    args.append(f"initial_accumulator_value={number(opt['initial_accumulator_value'])}")
    args.append(f"epsilon={number(opt['eps'])}")
    if opt["lr_decay"] != 0:
        omits.append(f"Adagrad's lr_decay {opt['lr_decay']!r}: Keras' Adagrad has none.")
    notes.append(
        "Keras' Adagrad starts its sums at 0.1 and uses epsilon 1e-7 by default (torch: 0 "
        "and 1e-10), so the snippet sets both; it adds epsilon inside the square root."
    )
    return f"keras.optimizers.Adagrad({', '.join(args)})", notes, omits


def _model(r: Recipe, regularize: float) -> list[str]:
    assert r.X is not None
    reg, lines = "", []
    if regularize:
        reg = ", kernel_regularizer=L2, bias_regularizer=L2"
        lines = [f"L2 = keras.regularizers.L2({number(regularize / 2)})  # torch's weight_decay"]
    lines += ["model = keras.Sequential(", "    ["]
    lines.append(f"        keras.Input(shape=({r.X.shape[1]},)),")
    last = len(r.layers) - 1
    for i, L in enumerate(r.layers):
        act_name = L.activation if i < last else r.output
        act = ACTIVATIONS.get(act_name)
        args = f"{L.fan_out}" + (f", activation={act}" if act else "") + reg
        if i == last and not act:
            lines.append("        # the logits: the loss applies the output activation")
        lines.append(f'        keras.layers.Dense({args}, name="{L.name}"),')
        if act_name == "leaky_relu":
            lines.append(f"        keras.layers.LeakyReLU(negative_slope={LEAKY_SLOPE}),")
    lines += ["    ]", ")"]
    lines.append("# gradscape's start weights theta_0: a Dense kernel is (inputs, units) like W")
    lines.append("model.set_weights(")
    lines.append("    [")
    for L in r.layers:
        lines += array_lines(L.W, "        np.array(", "),")
        lines += array_lines(L.b, "        np.array(", "),")
    return [*lines, "    ]", ")"]
