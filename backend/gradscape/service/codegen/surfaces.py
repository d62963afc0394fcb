"""The analytic surfaces as source text: constants, ``f(x, y)`` and its exact gradient.

The expressions are ``core.functions``' own, in the same order of operations, so a
snippet's descent retraces the server's. ``value`` is written with ``np.`` and serves
PyTorch too (``torch.`` in its place, autograd for the gradient).
"""

from __future__ import annotations

from dataclasses import dataclass

from gradscape.core.functions import AnalyticFunction, Beale, Quadratic
from gradscape.service.codegen.recipe import number


@dataclass(frozen=True)
class SurfaceText:
    """One surface: its formula, constants, value expression and gradient body."""

    formula: str
    constants: list[str]
    value: str
    gradient: list[str]  # lines of a function body ending in ``return [dx, dy]``


def surface_text(f: AnalyticFunction) -> SurfaceText:
    """The source text of surface ``f`` with its options filled in."""
    o = f.options
    name = f.name
    if name == "rosenbrock":
        return SurfaceText(
            "(a - x)^2 + b (y - x^2)^2",
            [f"a, b = {number(o['a'])}, {number(o['b'])}"],
            "(a - x) ** 2 + b * (y - x * x) ** 2",
            ["r = y - x * x", "return [-2.0 * (a - x) - 4.0 * b * x * r, 2.0 * b * r]"],
        )
    if name == "beale" and isinstance(f, Beale):
        terms = ", ".join(number(c) for c in f._c)
        return SurfaceText(
            "sum_i (c_i - x + x y^i)^2",
            [f"c = ({terms})"],
            "sum((ci - x + x * y**i) ** 2 for i, ci in enumerate(c, start=1))",
            [
                "gx, gy = 0.0, 0.0",
                "for i, ci in enumerate(c, start=1):",
                "    r = ci - x + x * y**i",
                "    gx = gx + 2.0 * r * (y**i - 1.0)",
                "    gy = gy + 2.0 * r * i * x * y ** (i - 1)",
                "return [gx, gy]",
            ],
        )
    if name == "himmelblau":
        return SurfaceText(
            "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
            [],
            "(x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2",
            [
                "u, v = x * x + y - 11.0, x + y * y - 7.0",
                "return [4.0 * x * u + 2.0 * v, 2.0 * u + 4.0 * y * v]",
            ],
        )
    if name == "saddle":
        return SurfaceText(
            "scale (x^2 - y^2)",
            [f"scale = {number(o['scale'])}"],
            "scale * (x * x - y * y)",
            ["return [2.0 * scale * x, -2.0 * scale * y]"],
        )
    if name == "quadratic" and isinstance(f, Quadratic):
        return SurfaceText(
            f"0.5 p^T H p (condition {o['condition']:g}, angle {o['angle']:g} degrees)",
            [f"hxx, hxy, hyy = {number(f.hxx)}, {number(f.hxy)}, {number(f.hyy)}  # H"],
            "0.5 * (hxx * x * x + 2.0 * hxy * x * y + hyy * y * y)",
            ["return [hxx * x + hxy * y, hxy * x + hyy * y]"],
        )
    if name == "rastrigin":
        return SurfaceText(
            "2 A + sum (p_i^2 - A cos(2 pi p_i))",
            [f"A = {number(o['A'])}", "w = 2.0 * np.pi"],
            "2.0 * A + x * x - A * np.cos(w * x) + y * y - A * np.cos(w * y)",
            ["return [2.0 * x + A * w * np.sin(w * x), 2.0 * y + A * w * np.sin(w * y)]"],
        )
    raise ValueError(f"model.function: no code export for the {name!r} surface")
