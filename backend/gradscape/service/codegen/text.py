"""The words every snippet shares: its opening comment and what its data is."""

from __future__ import annotations

import textwrap

from gradscape.service.codegen.recipe import Recipe, array_lines, integral, row


def _comment(text: str, first: str = "# ", rest: str = "# ") -> list[str]:
    return textwrap.wrap(text, 96, initial_indent=first, subsequent_indent=rest)


def header(r: Recipe, language: str, omits: list[str], retraces: bool) -> list[str]:
    """The opening comment: what runs, for how long, and what the code leaves out."""
    lines = [f"# gradscape: {r.title}, in {language}."]
    if r.function is not None:
        run = f"It runs the session's config for {r.epochs} steps from gradscape's start point"
    else:
        updates = r.epochs * r.steps_per_epoch
        unit = "update" if updates == 1 else "updates"
        epochs = "epoch" if r.epochs == 1 else "epochs"
        run = (
            f"It trains the session's config for {r.epochs} {epochs} ({updates} {unit}) from "
            "gradscape's start weights on gradscape's data"
        )
        if r.batch_size is not None:
            run += " in its mini-batch order"
    run += ", so it retraces the server's steps." if retraces and not omits else "."
    lines += _comment(run)
    if omits:
        lines.append("# Left out, so this does not retrace the server's run exactly:")
        for item in omits:
            lines += _comment(item, "#   - ", "#     ")
    return lines


def data_comment(r: Recipe) -> list[str]:
    """What X and y hold."""
    if r.X is None:
        return []
    n, d = r.X.shape
    features = ", ".join(r.feature_names)
    if r.loss == "cross_entropy":
        target = f"class 0..{(r.n_classes or 2) - 1}"
    elif r.loss == "bce":
        target = "0 or 1"
    else:
        target = "a number"
    lines = [f"# Training data: {n} samples of [{features}] -> {r.target_name} ({target})"]
    if len(lines[0]) > 96:
        lines = [f"# Training data: {n} samples of {d} features -> {r.target_name} ({target})"]
    if r.standardized is not None:
        mean, std = r.standardized
        lines += _comment(
            "X is standardised as gradscape holds it: (raw - mean) / std with the training "
            f"rows' mean {row(mean)} and std {row(std)}; do the same to new inputs."
        )
    return lines


def data_lines(r: Recipe, make: str, float_dtype: str) -> list[str]:
    """``X = make([...])`` and ``y = make([...])``: class labels as integers, whole-number
    features as the chapter writes them (``[[5, 7], ...]`` with ``dtype=float``)."""
    if r.X is None or r.y is None:
        return []
    lines = data_comment(r)
    for name, values in (("X", r.X), ("y", r.y)):
        if name == "y" and r.loss == "cross_entropy":
            lines += array_lines(values, f"y = {make}(", ")  # class labels", as_int=True)
            continue
        whole = integral(values)
        suffix = f", dtype={float_dtype})" if whole else ")"
        lines += array_lines(values, f"{name} = {make}(", suffix, as_int=whole)
    return lines
