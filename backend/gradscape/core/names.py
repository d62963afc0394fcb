"""Names for a network's parameters and layers, in ``theta`` order, as the chapter writes them.

A model with no hidden layer is the chapter's neuron (or linear / logistic regression):
its weights are named after the data's features, ``w_study``, ``w_sleep``, ``bias``
(``w_study[0]``, ``bias[0]`` ... with several outputs). Deeper networks number their
layers from 1, ``layer1.W[3,0]`` (input unit 3 to output unit 0) and ``layer1.b[0]``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

#: Longest feature part of a weight's name (a long CSV header stays a readable label).
MAX_FEATURE_CHARS = 24
_NOT_WORD = re.compile(r"\W+")


def layer_name(index: int) -> str:
    """``"layer1"`` for the first layer (``index`` 0): layers count from 1."""
    return f"layer{index + 1}"


def identifier(text: str) -> str:
    """``text`` as identifier-ish words: other characters become ``_`` (``"hours slept"``
    -> ``"hours_slept"``), at most ``MAX_FEATURE_CHARS``; ``""`` when nothing is left."""
    return _NOT_WORD.sub("_", text).strip("_")[:MAX_FEATURE_CHARS].strip("_")


def feature_words(feature_names: Sequence[str] | None, count: int) -> tuple[str, ...]:
    """One distinct word per input: the sanitised feature names, else ``x1 .. x{count}``
    (no names, a name with no word in it, or two names that would read the same)."""
    fallback = tuple(f"x{j + 1}" for j in range(count))
    if feature_names is None or len(feature_names) != count:
        return fallback
    words = tuple(identifier(name) for name in feature_names)
    if not all(words) or len(set(words)) != count:
        return fallback
    return words


def parameter_names(
    sizes: Sequence[int], feature_names: Sequence[str] | None = None
) -> tuple[str, ...]:
    """One name per parameter of a network with layer widths ``sizes`` (inputs first).

    Order: per layer ``W`` row-major (``W[input unit, output unit]``), then ``b``.
    """
    if len(sizes) == 2:
        return _neuron_names(feature_words(feature_names, sizes[0]), sizes[1])
    names: list[str] = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layer = layer_name(i)
        names += [f"{layer}.W[{r},{c}]" for r in range(fan_in) for c in range(fan_out)]
        names += [f"{layer}.b[{c}]" for c in range(fan_out)]
    return tuple(names)


def _neuron_names(words: Sequence[str], n_outputs: int) -> tuple[str, ...]:
    """``w_<feature>`` and ``bias``; with several outputs each gets ``[output unit]``."""
    if n_outputs == 1:
        return (*(f"w_{w}" for w in words), "bias")
    weights = [f"w_{w}[{c}]" for w in words for c in range(n_outputs)]
    return (*weights, *(f"bias[{c}]" for c in range(n_outputs)))


__all__ = ["feature_words", "identifier", "layer_name", "parameter_names"]
