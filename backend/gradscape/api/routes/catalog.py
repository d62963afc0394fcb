"""What a client needs to build its forms without hard-coding anything."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gradscape.api.deps import SettingsDep
from gradscape.api.schemas import Catalog
from gradscape.core.activations import ACTIVATIONS
from gradscape.core.data import dataset_specs
from gradscape.core.functions import function_specs
from gradscape.core.init import INITS
from gradscape.core.losses import LOSSES, OUTPUT_TEXT, output_options
from gradscape.core.optim import OPTIMIZERS, hyperparameter_specs, optimizer_docs
from gradscape.core.presets import PRESETS
from gradscape.core.records import ALL_FIELDS, FIELD_GROUPS
from gradscape.core.schedules import schedule_specs
from gradscape.core.tasks import TASK_LOSS, DataLimits
from gradscape.service.jsonsafe import clean
from gradscape.service.lesson import lesson_stops

router = APIRouter(prefix="/api", tags=["catalog"])

SURFACE_MODES = {
    "axes": "Two chosen parameters, the rest held at the centre; exact when the model has 2.",
    "pca": "The top-2 principal directions of the trajectory (Li et al. 2018).",
    "random": "Two seeded random directions, filter-normalised (Li et al. 2018).",
    "hessian": "The top-2 Hessian eigenvectors at the centre: the sharpest directions.",
}


def build_catalog(limits: dict[str, Any], max_samples: int) -> dict[str, Any]:
    """Datasets, presets, models, losses (and model.output choices), optimizers (and their
    update rules), schedules, surface modes, limits and the guided lesson's stops."""
    out: dict[str, Any] = clean(
        {
            "presets": {
                name: {"description": p["description"], "config": p["config"]}
                for name, p in PRESETS.items()
            },
            "datasets": dataset_specs(DataLimits(max_samples=max_samples)),
            "functions": function_specs(),
            "activations": {name: a.description for name, a in ACTIVATIONS.items()},
            "initialisers": dict(INITS),
            "losses": {
                name: {
                    "description": loss.description,
                    "task": loss.task,
                    "output": loss.output_activation,
                    "output_options": output_options(name),
                }
                for name, loss in LOSSES.items()
            },
            "outputs": {
                name: {
                    "description": text,
                    "losses": [loss for loss in LOSSES if name in output_options(loss)],
                }
                for name, text in OUTPUT_TEXT.items()
            },
            "optimizers": {name: hyperparameter_specs(name) for name in OPTIMIZERS},
            "optimizer_docs": optimizer_docs(),
            "schedules": schedule_specs(),
            "surface_modes": SURFACE_MODES,
            "record_fields": list(ALL_FIELDS),
            "record_field_groups": {name: list(group) for name, group in FIELD_GROUPS.items()},
            "task_losses": dict(TASK_LOSS),
            "limits": limits,
            "lesson": lesson_stops(),
        }
    )
    return out


@router.get("/catalog", response_model=Catalog)
async def catalog(settings: SettingsDep) -> dict[str, Any]:
    """Datasets, presets, models, activations, losses, optimizers (every hyperparameter with
    its default and bounds, and each one's update rule), schedules, surface modes, this
    server's limits and the guided lesson's stops."""
    return build_catalog(settings.public(), settings.max_samples)
