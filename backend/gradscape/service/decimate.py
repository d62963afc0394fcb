"""Evenly spaced picks: the one way rows are thinned for frames, paths and series."""

from __future__ import annotations

import numpy as np


def spaced(n: int, k: int) -> np.ndarray:
    """At most ``k`` of the indices ``0..n-1``, evenly spaced, always the first and last."""
    if n <= k:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))


def thin(values: np.ndarray, k: int) -> np.ndarray:
    """At most ``k`` evenly spaced entries of ``values`` (first and last kept)."""
    out: np.ndarray = values[spaced(len(values), k)]
    return out
