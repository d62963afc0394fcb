"""A session's config as the plain numbers a snippet embeds, and what no snippet expresses.

The recipe holds the training data as the server holds it (after the validation split
and standardisation), theta_0 split into per-layer ``W`` ``(fan_in, fan_out)`` and
``b``, the optimizer's hyperparameters, the batch size and the shuffling seed, plus
sentences for everything in the run a snippet leaves out (a schedule, clipping, live
changes, the held-out rows).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradscape.core.data import Dataset
from gradscape.core.functions import AnalyticFunction
from gradscape.core.nn import MLP
from gradscape.core.session import TrainingSession
from gradscape.core.types import FloatArray

#: Epochs a snippet may train for.
MAX_EPOCHS = 100_000
#: The chapter prints every 500 epochs of its 2000.
CHAPTER_EVERY = 500
#: The losses and extra output activations the snippets write out.
LOSSES = ("mse", "bce", "cross_entropy")
OUTPUTS = ("identity", "sigmoid")


@dataclass(frozen=True)
class Dense:
    """One dense layer of theta_0: its name (``layer1`` ...), ``W``, ``b`` and activation."""

    name: str
    W: FloatArray
    b: FloatArray
    activation: str

    @property
    def fan_in(self) -> int:
        """Inputs of the layer."""
        return int(self.W.shape[0])

    @property
    def fan_out(self) -> int:
        """Units of the layer."""
        return int(self.W.shape[1])


@dataclass(frozen=True)
class Recipe:
    """Everything a snippet needs, as plain values (see the module docstring)."""

    title: str  # "preset pass-fail" or "a 2-16-16-1 network"
    stem: str  # the file name's part: "pass_fail", "mlp_16x16", "rosenbrock"
    epochs: int
    every: int  # print the loss at epochs divisible by this
    optimizer: dict[str, Any]  # name and torch.optim hyperparameters
    seed: int
    theta0: FloatArray
    omits: list[str] = field(default_factory=list)
    # a network
    layers: tuple[Dense, ...] = ()
    loss: str | None = None
    output: str = "identity"  # the output activation a loss does not bring itself
    X: FloatArray | None = None
    y: FloatArray | None = None
    n_classes: int | None = None
    feature_names: tuple[str, ...] = ()
    target_name: str = "y"
    batch_size: int | None = None
    standardized: tuple[FloatArray, FloatArray] | None = None  # (mean, std) already applied
    # an analytic surface
    function: str | None = None
    surface: AnalyticFunction | None = None

    @property
    def steps_per_epoch(self) -> int:
        """Updates per epoch: ``ceil(n / batch_size)`` (1 for the full batch or a surface)."""
        if self.X is None or self.batch_size is None:
            return 1
        return math.ceil(int(self.X.shape[0]) / self.batch_size)

    @property
    def single_neuron(self) -> bool:
        """One layer with one output: the chapter's ``weights`` and ``bias``."""
        return len(self.layers) == 1 and self.layers[0].fan_out == 1


def print_every(epochs: int) -> int:
    """The chapter's 500 when 0 / 500 / 1000 / 1500 fit, else four evenly spaced epochs.

    Past 2000 epochs the step grows in multiples of 500, so about four lines print.
    """
    if epochs > 3 * CHAPTER_EVERY:
        return CHAPTER_EVERY * math.ceil(epochs / (4 * CHAPTER_EVERY))
    return max(1, math.ceil(epochs / 4))


def default_epochs(session: TrainingSession) -> int:
    """The session's completed epochs so far (steps for a surface), at least 1."""
    epoch: float = session.trajectory(start=-1, fields=["epoch"])["epoch"][0].item()
    return min(MAX_EPOCHS, max(1, math.floor(epoch)))


def check_epochs(epochs: int) -> int:
    """``epochs`` in ``[1, MAX_EPOCHS]``, else a ``ValueError`` naming the field."""
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= MAX_EPOCHS:
        raise ValueError(f"epochs: must be an integer in [1, {MAX_EPOCHS}], got {epochs!r}")
    return epochs


def make_recipe(session: TrainingSession, epochs: int | None = None) -> Recipe:
    """The recipe of the session's config, trained for ``epochs`` (default: so far)."""
    n = default_epochs(session) if epochs is None else check_epochs(epochs)
    config = session.config
    theta0 = session.params_at([0])[0]
    common: dict[str, Any] = {
        "epochs": n,
        "every": print_every(n),
        "optimizer": dict(config["optimizer"]),
        "seed": int(config["seed"]),
        "theta0": theta0,
        "omits": omissions(session),
    }
    model = session.model
    if isinstance(model, AnalyticFunction):
        name = model.name
        title = f"the {name} surface"
        if config.get("preset"):
            title = f"preset {config['preset']}, {title}"
        return Recipe(
            title, stem(config, name), function=name, surface=model, **common,
        )  # fmt: skip
    if not isinstance(model, MLP) or session.dataset is None:
        raise ValueError("model: code export covers layer models and analytic surfaces")
    if model.loss_fn.name not in LOSSES or output_activation(model) not in OUTPUTS:
        raise ValueError(
            f"loss: code export covers {', '.join(LOSSES)} with an output of {' or '.join(OUTPUTS)}"
        )
    return _network(session, model, session.dataset, common)


def _network(session: TrainingSession, model: MLP, ds: Dataset, common: dict[str, Any]) -> Recipe:
    """The recipe of a dense network on its data."""
    config = session.config
    theta0 = common["theta0"]
    layers = tuple(
        Dense(f"layer{L.index + 1}", W.copy(), b.copy(), L.activation.name)
        for L, (W, b) in zip(model.layers, model.unpack(theta0), strict=True)
    )
    widths = "x".join(str(L.fan_out) for L in layers[:-1])
    shape = "-".join(str(s) for s in model.sizes)
    title = f"a {shape} network" if len(layers) > 1 else "a single neuron"
    if len(layers) == 1 and layers[0].fan_out > 1:
        title = f"a single layer of {layers[0].fan_out} outputs"
    if config.get("preset"):
        title = f"preset {config['preset']}, {title}"
    fallback = f"mlp_{widths}" if widths else "neuron"
    standardized = None
    if ds.mean is not None and ds.std is not None:
        standardized = (ds.mean.copy(), ds.std.copy())
    return Recipe(
        title, stem(config, fallback), layers=layers, loss=model.loss_fn.name,
        output=output_activation(model), X=ds.X.copy(), y=ds.y.copy(),
        n_classes=ds.n_classes, feature_names=ds.feature_names, target_name=ds.target_name,
        batch_size=config["batch_size"], standardized=standardized, **common,
    )  # fmt: skip


def output_activation(model: MLP) -> str:
    """MSE's output activation (``model.output``: identity or sigmoid); ``identity`` for
    bce and cross-entropy, whose loss brings its own (sigmoid, softmax)."""
    loss = model.loss_fn
    return loss.output_activation if loss.name == "mse" else "identity"


def stem(config: dict[str, Any], fallback: str) -> str:
    """The file name's part: the preset's name, else what the model is."""
    name = config.get("preset") or fallback
    return "".join(c if c.isalnum() else "_" for c in str(name)).strip("_") or "run"


def omissions(session: TrainingSession) -> list[str]:
    """Sentences for what the run has that a snippet of its config cannot express."""
    config = session.config
    out: list[str] = []
    schedule = config["schedule"]
    if schedule["name"] != "constant":
        lr = config["optimizer"]["lr"]
        out.append(
            f"The learning-rate schedule ({_describe(schedule)}): the code keeps lr at {lr!r}."
        )
    if config["clip_norm"] is not None:
        out.append(
            f"Gradient clipping (clip_norm {config['clip_norm']!r}): the code does not clip."
        )
    events = session.events
    if events:
        shown = "; ".join(f"at step {k}: {json.dumps(c)}" for k, c in events[:3])
        more = f"; and {len(events) - 3} more" if len(events) > 3 else ""
        count = f"{len(events)} live change" + ("s" if len(events) > 1 else "")
        out.append(
            f"{count} from the event log ({shown}{more}): the code runs the config as created."
        )
    ds = session.dataset
    if ds is not None and ds.X_val is not None:
        out.append(
            f"The {ds.X_val.shape[0]} held-out validation rows (validation_split "
            f"{config['data'].get('validation_split')!r}) and val_loss: the code trains on "
            f"the {ds.n_samples} training rows, as gradscape does."
        )
    return out


def _describe(spec: dict[str, Any]) -> str:
    """``cosine, T_max 100, eta_min 0.0, per epoch``."""
    parts = [str(spec["name"])]
    parts += [f"{k} {v!r}" for k, v in spec.items() if k not in ("name", "interval")]
    parts.append(f"per {spec['interval']}")
    return ", ".join(parts)


# -- literals ------------------------------------------------------------------------


def number(value: float) -> str:
    """A float at repr precision (round-trips exactly)."""
    return repr(float(value))


def integral(values: np.ndarray) -> bool:
    """All values are whole numbers small enough to print as integers exactly."""
    return bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))


def row(values: Sequence[float] | np.ndarray, as_int: bool = False) -> str:
    """``[v1, v2, ...]`` on one line."""
    items = [str(int(v)) if as_int else number(v) for v in np.asarray(values).tolist()]
    return "[" + ", ".join(items) + "]"


def wrapped(items: Sequence[str], indent: str, width: int = 96) -> list[str]:
    """Items joined with commas, packed into lines of at most ``width`` characters."""
    lines: list[str] = []
    current = indent
    for item in items:
        piece = item + ","
        if current.strip() and len(current) + 1 + len(piece) > width:
            lines.append(current.rstrip())
            current = indent
        current += piece if not current.strip() else " " + piece
    if current.strip():
        lines.append(current.rstrip())
    return lines


def array_lines(
    a: np.ndarray, prefix: str, suffix: str = "", as_int: bool = False, transpose: bool = False
) -> list[str]:
    """``prefix[...]suffix`` for a 1-D or 2-D array: one line if short, else wrapped rows."""
    values = np.asarray(a).T if transpose else np.asarray(a)
    if values.ndim == 1:
        items = [str(int(v)) if as_int else number(v) for v in values.tolist()]
    else:
        items = [row(r, as_int) for r in values]
    one = prefix + "[" + ", ".join(items) + "]" + suffix
    if len(one) <= 96:
        return [one]
    indent = prefix[: len(prefix) - len(prefix.lstrip())]
    return [prefix + "[", *wrapped(items, indent + "    "), indent + "]" + suffix]
