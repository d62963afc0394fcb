"""The NumPy lines of each optimizer's update, with torch.optim's rule and order of operations.

Each update loops over ``params`` and ``grads`` (lists of arrays updated in place), so
one text serves a network's ``W1, b1, ...`` and a surface's ``theta`` alike. The order
of operations is ``core.optim``'s (torch's single-tensor one), so a snippet retraces
the server's steps to rounding.
"""

from __future__ import annotations

from typing import Any

from gradscape.service.codegen.recipe import number

TITLES = {
    "sgd": "SGD",
    "adam": "Adam",
    "adamw": "AdamW",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
}


def hyper_lines(opt: dict[str, Any]) -> list[str]:
    """The hyperparameters as variables (the ones at their neutral value left out)."""
    name = opt["name"]
    lines = [f"learning_rate = {number(opt['lr'])}"]
    if name == "sgd":
        if opt["momentum"] != 0:
            lines.append(f"momentum = {number(opt['momentum'])}")
        if opt["momentum"] != 0 and opt["dampening"] != 0:
            lines.append(f"dampening = {number(opt['dampening'])}")
    elif name in ("adam", "adamw"):
        beta1, beta2 = opt["betas"]
        lines.append(f"beta1, beta2 = {number(beta1)}, {number(beta2)}")
        lines.append(f"eps = {number(opt['eps'])}")
    elif name == "rmsprop":
        lines.append(f"alpha = {number(opt['alpha'])}")
        lines.append(f"eps = {number(opt['eps'])}")
        if opt["momentum"] != 0:
            lines.append(f"momentum = {number(opt['momentum'])}")
    elif name == "adagrad":
        if opt["lr_decay"] != 0:
            lines.append(f"lr_decay = {number(opt['lr_decay'])}")
        lines.append(f"eps = {number(opt['eps'])}")
    if opt.get("weight_decay", 0) != 0:
        lines.append(f"weight_decay = {number(opt['weight_decay'])}")
    return lines


def state_lines(opt: dict[str, Any]) -> list[str]:
    """The optimizer's state, one buffer per parameter array, as torch keeps it."""
    name = opt["name"]
    zeros = "[np.zeros_like(p) for p in params]"
    if name == "sgd":
        if opt["momentum"] == 0:
            return []
        lines = [f"velocity = {zeros}  # the momentum buffers"]
        return [*lines, "t = 0  # updates so far"] if opt["dampening"] != 0 else lines
    if name in ("adam", "adamw"):
        lines = [
            f"m = {zeros}  # moving average of the gradient",
            f"v = {zeros}  # moving average of its square",
        ]
        if opt["amsgrad"]:
            lines.append(f"v_max = {zeros}  # AMSGrad: the largest v so far")
        return [*lines, "t = 0  # updates so far"]
    if name == "rmsprop":
        lines = [f"square_avg = {zeros}  # moving average of the squared gradient"]
        if opt["centered"]:
            lines.append(f"grad_avg = {zeros}  # centered: moving average of the gradient")
        if opt["momentum"] != 0:
            lines.append(f"velocity = {zeros}  # the momentum buffers")
        return lines
    start = number(opt["initial_accumulator_value"])
    lines = [f"sums = [np.full_like(p, {start}) for p in params]  # sums of squared gradients"]
    return [*lines, "t = 0  # updates so far"] if opt["lr_decay"] != 0 else lines


def update_lines(opt: dict[str, Any]) -> list[str]:
    """The update of every parameter array (unindented; the caller indents)."""
    name = opt["name"]
    title = TITLES[name]
    head = [f"# Update ({title}, as torch.optim.{title})"]
    if name == "sgd":
        return head + _sgd(opt)
    if name in ("adam", "adamw"):
        return head + _adam(opt)
    if name == "rmsprop":
        return head + _rmsprop(opt)
    return head + _adagrad(opt)


def _decay(opt: dict[str, Any]) -> list[str]:
    if opt.get("weight_decay", 0) == 0:
        return []
    return ["    g = g + weight_decay * p  # L2 weight decay, added to the gradient"]


def _sgd(opt: dict[str, Any]) -> list[str]:
    body = ["    g = -g  # maximize: climb instead of descend"] if opt["maximize"] else []
    body += _decay(opt)
    if opt["momentum"] == 0:
        return ["for p, g in zip(params, grads):", *body, "    p -= learning_rate * g"]
    if opt["dampening"] != 0:
        body += [
            "    if t == 1:",
            "        v[...] = g  # torch starts the buffer at the first gradient, undamped",
            "    else:",
            "        v *= momentum",
            "        v += (1 - dampening) * g",
        ]
    else:
        body += ["    v *= momentum", "    v += g"]
    if opt["nesterov"]:
        body.append("    p -= learning_rate * (g + momentum * v)  # Nesterov: look ahead")
    else:
        body.append("    p -= learning_rate * v")
    head = ["t += 1"] if opt["dampening"] != 0 else []
    return [*head, "for p, g, v in zip(params, grads, velocity):", *body]


def _adam(opt: dict[str, Any]) -> list[str]:
    lists, names = "params, grads, m, v", "p, g, m_p, v_p"
    if opt["amsgrad"]:
        lists, names = lists + ", v_max", names + ", vmax_p"
    body = []
    if opt["name"] == "adamw" and opt["weight_decay"] != 0:
        body.append("    p *= 1 - learning_rate * weight_decay  # decoupled weight decay")
    else:
        body += _decay(opt)
    body += [
        "    m_p += (1 - beta1) * (g - m_p)  # torch's lerp",
        "    v_p *= beta2",
        "    v_p += (1 - beta2) * g * g",
    ]
    second = "v_p"
    if opt["amsgrad"]:
        body.append("    np.maximum(vmax_p, v_p, out=vmax_p)")
        second = "vmax_p"
    body += [
        "    step_size = learning_rate / (1 - beta1**t)",
        f"    denom = np.sqrt({second}) / (1 - beta2**t) ** 0.5 + eps",
        "    p -= step_size * m_p / denom",
    ]
    return ["t += 1", f"for {names} in zip({lists}):", *body]


def _rmsprop(opt: dict[str, Any]) -> list[str]:
    lists, names = "params, grads, square_avg", "p, g, sq"
    if opt["centered"]:
        lists, names = lists + ", grad_avg", names + ", g_avg"
    if opt["momentum"] != 0:
        lists, names = lists + ", velocity", names + ", v"
    body = [*_decay(opt), "    sq *= alpha", "    sq += (1 - alpha) * g * g"]
    if opt["centered"]:
        body += [
            "    g_avg += (1 - alpha) * (g - g_avg)",
            "    avg = np.sqrt(np.maximum(sq - g_avg * g_avg, 0.0))",
        ]
    else:
        body.append("    avg = np.sqrt(sq)")
    body.append("    avg += eps")
    if opt["momentum"] != 0:
        body += ["    v *= momentum", "    v += g / avg", "    p -= learning_rate * v"]
    else:
        body.append("    p -= learning_rate * g / avg")
    return [f"for {names} in zip({lists}):", *body]


def _adagrad(opt: dict[str, Any]) -> list[str]:
    head, rate = [], "learning_rate"
    if opt["lr_decay"] != 0:
        head = ["t += 1", "clr = learning_rate / (1 + (t - 1) * lr_decay)"]
        rate = "clr"
    body = [*_decay(opt), "    s += g * g", f"    p -= {rate} * g / (np.sqrt(s) + eps)"]
    return [*head, "for p, g, s in zip(params, grads, sums):", *body]
