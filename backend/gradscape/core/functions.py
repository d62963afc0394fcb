"""Analytic 2-parameter loss surfaces that train exactly like a model.

Each surface is a ``Model`` with ``theta = [x, y]``: a session, the landscape and the
API drive it like a network, but the loss, gradient and Hessian are closed-form, so
the picture is exact. ``X`` and ``y`` are ignored and may be None.

Arrays of points are ``(..., 2)``; ``value`` gives ``(...)``, ``gradient`` ``(..., 2)``
and ``hessian`` ``(..., 2, 2)``. Huge points (a diverging run) give inf or nan, never
a RuntimeWarning, so the session can mark the run diverged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from gradscape.core.types import FloatArray

Point = tuple[float, float]
Extent = tuple[tuple[float, float], tuple[float, float]]
Parts = tuple[Any, ...]


@dataclass(frozen=True)
class OptionSpec:
    """One numeric option of a surface: default and inclusive bounds."""

    default: float
    min: float
    max: float
    type: str = "float"


class AnalyticFunction:
    """Base class: a closed-form surface ``f(x, y)`` that implements ``Model``.

    Subclasses give ``_value``, ``_gradient`` and ``_hessian`` on the coordinate
    arrays ``x, y``, value and derivatives side by side.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    option_specs: ClassVar[dict[str, OptionSpec]] = {}
    start: Point
    minima: tuple[Point, ...]
    extent: Extent

    def __init__(self, **options: Any) -> None:
        self.options: dict[str, float] = _validate_options(self.option_specs, options)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({args})"

    # --- the surface --------------------------------------------------------

    def value(self, P: FloatArray) -> FloatArray:
        """Loss ``(...)`` at points ``(..., 2)``."""
        x, y = _split(P)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(self._value(x, y), dtype=np.float64)

    def gradient(self, P: FloatArray) -> FloatArray:
        """Exact gradient ``(..., 2)`` at points ``(..., 2)``."""
        x, y = _split(P)
        out = np.empty((*x.shape, 2))
        with np.errstate(over="ignore", invalid="ignore"):
            out[..., 0], out[..., 1] = self._gradient(x, y)
        return out

    def hessian(self, P: FloatArray) -> FloatArray:
        """Exact Hessian ``(..., 2, 2)`` at points ``(..., 2)``."""
        x, y = _split(P)
        out = np.empty((*x.shape, 2, 2))
        with np.errstate(over="ignore", invalid="ignore"):
            hxx, hxy, hyy = self._hessian(x, y)
            out[..., 0, 0], out[..., 0, 1], out[..., 1, 1] = hxx, hxy, hyy
        out[..., 1, 0] = out[..., 0, 1]
        return out

    def _value(self, x: FloatArray, y: FloatArray) -> Any:
        raise NotImplementedError

    def _gradient(self, x: FloatArray, y: FloatArray) -> Parts:
        raise NotImplementedError

    def _hessian(self, x: FloatArray, y: FloatArray) -> Parts:
        raise NotImplementedError

    # --- the Model protocol -------------------------------------------------

    @property
    def n_params(self) -> int:
        """Always 2: ``theta = [x, y]``."""
        return 2

    @property
    def param_names(self) -> tuple[str, ...]:
        """The surface's axes."""
        return ("x", "y")

    @property
    def layer_slices(self) -> tuple[tuple[str, slice], ...]:
        """One pseudo-layer holding both parameters."""
        return (("surface", slice(0, 2)),)

    @property
    def needs_data(self) -> bool:
        """Surfaces ignore ``X`` and ``y``."""
        return False

    def init_params(self, rng: np.random.Generator) -> FloatArray:
        """The surface's demo start point; deterministic, ``rng`` is unused."""
        return np.array(self.start, dtype=np.float64)

    def loss(self, theta: FloatArray, X: FloatArray | None, y: FloatArray | None) -> float:
        """``f(theta)``; ``X`` and ``y`` are ignored."""
        return float(self.value(_theta(theta)))

    def loss_and_grad(
        self, theta: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> tuple[float, FloatArray]:
        """``f(theta)`` and its exact gradient ``(2,)``."""
        theta = _theta(theta)
        return float(self.value(theta)), self.gradient(theta)

    def batch_loss(
        self, thetas: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> FloatArray:
        """Losses ``(K,)`` at ``(K, 2)`` points."""
        thetas = np.asarray(thetas, dtype=np.float64)
        if thetas.ndim != 2:
            raise ValueError(f"thetas must have shape (K, 2), got {thetas.shape}")
        return self.value(thetas)

    def accuracy(
        self, theta: FloatArray, X: FloatArray | None, y: FloatArray | None
    ) -> float | None:
        """None: a surface has nothing to classify."""
        return None


def _split(P: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Coordinate arrays ``x, y`` ``(...)`` of points ``(..., 2)``."""
    P = np.asarray(P, dtype=np.float64)
    if P.ndim == 0 or P.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2), got {P.shape}")
    return P[..., 0], P[..., 1]


def _theta(theta: FloatArray) -> FloatArray:
    """``theta`` as a float64 ``(2,)`` vector, or ValueError."""
    theta = np.asarray(theta, dtype=np.float64)
    if theta.shape != (2,):
        raise ValueError(f"theta must have shape (2,), got {theta.shape}")
    return theta


def _validate_options(specs: dict[str, OptionSpec], options: dict[str, Any]) -> dict[str, float]:
    """Defaults overlaid with ``options``, each checked finite and in bounds."""
    unknown = sorted(set(options) - set(specs))
    if unknown:
        known = ", ".join(specs) or "none"
        raise ValueError(f"model.{unknown[0]}: unknown option; known: {known}")
    values = {key: spec.default for key, spec in specs.items()}
    for key, raw in options.items():
        spec = specs[key]
        if isinstance(raw, bool) or not isinstance(raw, int | float | np.integer | np.floating):
            raise ValueError(f"model.{key}: must be a number, got {raw!r}")
        value = float(raw)
        if not math.isfinite(value):
            raise ValueError(f"model.{key}: must be finite, got {value}")
        if not spec.min <= value <= spec.max:
            raise ValueError(f"model.{key}: must be in [{spec.min}, {spec.max}], got {value}")
        values[key] = value
    return values


class Rosenbrock(AnalyticFunction):
    """``(a - x)^2 + b (y - x^2)^2``, minimum 0 at ``(a, a^2)``."""

    name = "rosenbrock"
    description = (
        "A narrow curved valley: plain gradient descent crawls along the flat floor, "
        "momentum and Adam help."
    )
    option_specs: ClassVar[dict[str, OptionSpec]] = {
        "a": OptionSpec(1.0, -2.0, 2.0),
        "b": OptionSpec(100.0, 0.1, 1000.0),
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        a = self.a = self.options["a"]
        self.b = self.options["b"]
        self.start = (-1.2, 1.0)
        self.minima = ((a, a * a),)
        self.extent = ((min(-2.0, a - 0.5), max(2.0, a + 0.5)), (-1.0, max(3.0, a * a + 1.0)))

    def _value(self, x: FloatArray, y: FloatArray) -> Any:
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def _gradient(self, x: FloatArray, y: FloatArray) -> Parts:
        r = y - x * x
        return -2.0 * (self.a - x) - 4.0 * self.b * x * r, 2.0 * self.b * r

    def _hessian(self, x: FloatArray, y: FloatArray) -> Parts:
        b = self.b
        return 2.0 - 4.0 * b * y + 12.0 * b * x * x, -4.0 * b * x, 2.0 * b


class Beale(AnalyticFunction):
    """``sum_i (c_i - x + x y^i)^2`` for ``c = (1.5, 2.25, 2.625)``, minimum 0 at ``(3, 0.5)``."""

    name = "beale"
    description = (
        "Flat plateaus beside steep walls: the gradient is tiny in one place and huge in "
        "another, so no single learning rate suits plain gradient descent."
    )
    start = (1.0, 1.5)
    minima = ((3.0, 0.5),)
    extent = ((-4.5, 4.5), (-4.5, 4.5))
    _c = (1.5, 2.25, 2.625)

    def _value(self, x: FloatArray, y: FloatArray) -> Any:
        return sum((c - x + x * y**i) ** 2 for i, c in enumerate(self._c, start=1))

    def _gradient(self, x: FloatArray, y: FloatArray) -> Parts:
        gx: Any = 0.0
        gy: Any = 0.0
        for i, c in enumerate(self._c, start=1):
            r = c - x + x * y**i
            gx = gx + 2.0 * r * (y**i - 1.0)
            gy = gy + 2.0 * r * i * x * y ** (i - 1)
        return gx, gy

    def _hessian(self, x: FloatArray, y: FloatArray) -> Parts:
        # H = sum_i 2 (J_i J_i^T + r_i d2r_i), with r_i linear in x.
        hxx: Any = 0.0
        hxy: Any = 0.0
        hyy: Any = 0.0
        for i, c in enumerate(self._c, start=1):
            r = c - x + x * y**i
            rx, ry = y**i - 1.0, i * x * y ** (i - 1)
            rxy, ryy = i * y ** (i - 1), i * (i - 1) * x * y ** max(i - 2, 0)
            hxx = hxx + 2.0 * rx * rx
            hxy = hxy + 2.0 * (rx * ry + r * rxy)
            hyy = hyy + 2.0 * (ry * ry + r * ryy)
        return hxx, hxy, hyy


class Himmelblau(AnalyticFunction):
    """``(x^2 + y - 11)^2 + (x + y^2 - 7)^2``: four minima, all 0."""

    name = "himmelblau"
    description = (
        "Four equally deep valleys: where you start decides which minimum gradient descent finds."
    )
    start = (0.0, 0.0)
    minima = (
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.2831859912861696),
        (3.5844283403304917, -1.8481265269644034),
    )
    extent = ((-5.0, 5.0), (-5.0, 5.0))

    def _value(self, x: FloatArray, y: FloatArray) -> Any:
        return (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2

    def _gradient(self, x: FloatArray, y: FloatArray) -> Parts:
        u, v = x * x + y - 11.0, x + y * y - 7.0
        return 4.0 * x * u + 2.0 * v, 2.0 * u + 4.0 * y * v

    def _hessian(self, x: FloatArray, y: FloatArray) -> Parts:
        return 12.0 * x * x + 4.0 * y - 42.0, 4.0 * (x + y), 4.0 * x + 12.0 * y * y - 26.0


class Saddle(AnalyticFunction):
    """``scale (x^2 - y^2)``: a saddle point at the origin, unbounded below."""

    name = "saddle"
    description = (
        "A saddle point: the gradient vanishes at the centre, and descent slows to a crawl "
        "there before it slides off downhill."
    )
    option_specs: ClassVar[dict[str, OptionSpec]] = {"scale": OptionSpec(1.0, 0.01, 100.0)}
    start = (2.0, 0.01)
    minima = ()
    extent = ((-2.5, 2.5), (-2.5, 2.5))

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.scale = self.options["scale"]

    def _value(self, x: FloatArray, y: FloatArray) -> Any:
        return self.scale * (x * x - y * y)

    def _gradient(self, x: FloatArray, y: FloatArray) -> Parts:
        return 2.0 * self.scale * x, -2.0 * self.scale * y

    def _hessian(self, x: FloatArray, y: FloatArray) -> Parts:
        return 2.0 * self.scale, 0.0, -2.0 * self.scale


class Quadratic(AnalyticFunction):
    """``0.5 p^T H p`` with ``H = R diag(1/condition, 1) R^T``, ``R`` a rotation by ``angle``.

    The largest eigenvalue is always 1 (gradient descent is stable for ``lr < 2``);
    the valley's floor has curvature ``1 / condition``, so the condition number is
    ``condition``. At ``angle = 0`` the long axis of the valley is ``x``.
    """

    name = "quadratic"
    description = (
        "An ill-conditioned bowl: steep across the valley, shallow along it, so gradient "
        "descent zig-zags across while it crawls along."
    )
    option_specs: ClassVar[dict[str, OptionSpec]] = {
        "condition": OptionSpec(10.0, 1.0, 1e6),
        "angle": OptionSpec(0.0, -180.0, 180.0),
    }
    minima = ((0.0, 0.0),)
    extent = ((-10.0, 10.0), (-10.0, 10.0))

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        theta = math.radians(self.options["angle"])
        c, s = math.cos(theta), math.sin(theta)
        small = 1.0 / self.options["condition"]
        self.hxx = c * c * small + s * s
        self.hxy = c * s * (small - 1.0)
        self.hyy = s * s * small + c * c
        self.start = (-8.0 * c - 2.0 * s, -8.0 * s + 2.0 * c)

    def _value(self, x: FloatArray, y: FloatArray) -> Any:
        return 0.5 * (self.hxx * x * x + 2.0 * self.hxy * x * y + self.hyy * y * y)

    def _gradient(self, x: FloatArray, y: FloatArray) -> Parts:
        return self.hxx * x + self.hxy * y, self.hxy * x + self.hyy * y

    def _hessian(self, x: FloatArray, y: FloatArray) -> Parts:
        return self.hxx, self.hxy, self.hyy


class Rastrigin(AnalyticFunction):
    """``2 A + sum (p_i^2 - A cos(2 pi p_i))``, minimum 0 at the origin."""

    name = "rastrigin"
    description = (
        "A bowl covered in bumps: gradient descent gets stuck in the nearest local "
        "minimum instead of the global one."
    )
    option_specs: ClassVar[dict[str, OptionSpec]] = {"A": OptionSpec(10.0, 0.0, 100.0)}
    start = (-3.3, 2.6)
    minima = ((0.0, 0.0),)
    extent = ((-5.12, 5.12), (-5.12, 5.12))

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.A = self.options["A"]

    def _value(self, x: FloatArray, y: FloatArray) -> Any:
        w, A = 2.0 * np.pi, self.A
        return 2.0 * A + x * x - A * np.cos(w * x) + y * y - A * np.cos(w * y)

    def _gradient(self, x: FloatArray, y: FloatArray) -> Parts:
        w, A = 2.0 * np.pi, self.A
        return 2.0 * x + A * w * np.sin(w * x), 2.0 * y + A * w * np.sin(w * y)

    def _hessian(self, x: FloatArray, y: FloatArray) -> Parts:
        w, A = 2.0 * np.pi, self.A
        return 2.0 + A * w * w * np.cos(w * x), 0.0, 2.0 + A * w * w * np.cos(w * y)


FUNCTIONS: dict[str, type[AnalyticFunction]] = {
    cls.name: cls for cls in (Rosenbrock, Beale, Himmelblau, Saddle, Quadratic, Rastrigin)
}


def make_function(name: str, **options: Any) -> AnalyticFunction:
    """The surface called ``name`` with its ``options``; ValueError naming the bad field."""
    cls = FUNCTIONS.get(name)
    if cls is None:
        known = ", ".join(FUNCTIONS)
        raise ValueError(f"model.function: unknown function {name!r}; known: {known}")
    return cls(**options)


def function_specs() -> dict[str, dict[str, Any]]:
    """Per surface: description, options with bounds, and the default start, minima, extent."""
    specs: dict[str, dict[str, Any]] = {}
    for name, cls in FUNCTIONS.items():
        f = cls()
        specs[name] = {
            "description": cls.description,
            "options": {
                key: {"default": s.default, "min": s.min, "max": s.max, "type": s.type}
                for key, s in cls.option_specs.items()
            },
            "start": list(f.start),
            "minima": [list(m) for m in f.minima],
            "extent": [list(e) for e in f.extent],
        }
    return specs
