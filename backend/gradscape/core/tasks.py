"""Task names and data limits: a leaf module the data, config and catalog code share."""

from __future__ import annotations

from dataclasses import dataclass

TASKS = ("regression", "binary", "multiclass")
#: The loss a task takes when a config names none (and the one the catalog suggests).
TASK_LOSS = {"regression": "mse", "binary": "bce", "multiclass": "cross_entropy"}


@dataclass(frozen=True)
class DataLimits:
    """Size limits on generated and user-supplied data."""

    max_samples: int = 10_000
    max_features: int = 64
    max_csv_bytes: int = 2_000_000


DEFAULT_DATA_LIMITS = DataLimits()
