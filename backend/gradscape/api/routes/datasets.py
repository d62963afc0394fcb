"""Custom data: check a CSV upload before using it in a session config."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from gradscape.api.deps import RegistryDep, SettingsDep
from gradscape.api.schemas import CsvSummary, CsvUpload
from gradscape.core.data import make_dataset
from gradscape.core.tasks import TASK_LOSS
from gradscape.service.jsonsafe import clean_dict

router = APIRouter(prefix="/api/datasets", tags=["datasets"])


@router.post(
    "/csv",
    response_model=CsvSummary,
    responses={413: {}, 422: {"description": "Malformed CSV; the line is named"}},
)
async def upload_csv(
    body: CsvUpload, registry: RegistryDep, settings: SettingsDep
) -> dict[str, Any]:
    """Parse and check CSV text; returns a summary and the ``data`` object for a session config."""
    spec = body.model_dump(exclude_none=True)
    ds = await registry.run(make_dataset, spec, limits=settings.core_limits().data_limits())
    return clean_dict(
        {
            "data": spec,
            "n_samples": ds.n_samples,
            "n_features": ds.n_features,
            "feature_names": list(ds.feature_names),
            "target_name": ds.target_name,
            "task": ds.task,
            "n_classes": ds.n_classes,
            "suggested_loss": TASK_LOSS[ds.task],
            "preview": {"X": ds.X[:5], "y": ds.y[:5]},
        }
    )
