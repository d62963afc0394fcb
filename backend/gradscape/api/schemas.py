"""Request and response models, with bounds, for the OpenAPI schema and validation.

These models catch types, NaN/Inf and the ranges that are no setting. A bound that is
a setting (``SETTING_BOUNDS``) is enforced once, where the service or the core checks
it, and ``publish_bounds`` writes the same number into the OpenAPI schema, so the
published limit is the enforced limit whatever the settings are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gradscape.core.activations import ACTIVATIONS
from gradscape.core.data import DATASETS
from gradscape.core.functions import FUNCTIONS
from gradscape.core.init import INITS
from gradscape.core.losses import LOSSES, OUTPUT_TEXT
from gradscape.core.optim import OPTIMIZERS
from gradscape.core.presets import PRESETS
from gradscape.core.records import ALL_FIELDS
from gradscape.core.schedules import INTERVALS, SCHEDULES
from gradscape.service.code import LANGUAGES

if TYPE_CHECKING:  # the names come from the core's registries at import time
    PresetName = str
    DatasetName = str
    FunctionName = str
    ActivationName = str
    InitName = str
    LossName = str
    OutputName = str
    OptimizerName = str
    ScheduleName = str
    IntervalName = str
    FieldName = str
    LanguageName = str
else:
    PresetName = Literal[tuple(PRESETS)]
    DatasetName = Literal[tuple(DATASETS)]
    FunctionName = Literal[tuple(FUNCTIONS)]
    ActivationName = Literal[tuple(ACTIVATIONS)]
    InitName = Literal[tuple(INITS)]
    LossName = Literal[tuple(LOSSES)]
    OutputName = Literal[tuple(OUTPUT_TEXT)]
    OptimizerName = Literal[tuple(OPTIMIZERS)]
    ScheduleName = Literal[tuple(SCHEDULES)]
    IntervalName = Literal[tuple(INTERVALS)]
    FieldName = Literal[tuple(ALL_FIELDS)]
    LanguageName = Literal[tuple(LANGUAGES)]

#: Numbers and flags are strict: "0.1" or true for a float, 1 or "true" for a flag are
#: 422 (an int is still a number). The core checks the same for the CLI and imports.
Flag = Annotated[bool, Field(strict=True)]
Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Unit = Annotated[float, Field(strict=True, ge=0, lt=1, allow_inf_nan=False)]
Seed = Annotated[int, Field(strict=True, ge=0, le=2**32 - 1)]
Width = Annotated[int, Field(strict=True, ge=1)]
Coordinate = Annotated[float, Field(strict=True, ge=-1e6, le=1e6, allow_inf_nan=False)]
LearningRate = Annotated[float, Field(strict=True, gt=0, le=1e6, allow_inf_nan=False)]


class Strict(BaseModel):
    """Unknown fields, NaN/Inf and numbers or flags of another type are errors."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class InitSpec(Strict):
    """An initialiser with options."""

    name: InitName
    std: Annotated[float, Field(strict=True, ge=0, le=100)] | None = None


class DataSpec(Strict):
    """A built-in dataset (``name`` + options), inline ``X``/``y``, or ``csv`` text."""

    name: DatasetName | None = None
    n_samples: Annotated[int, Field(strict=True, ge=1)] | None = None
    noise: Annotated[float, Field(strict=True, ge=0, le=10)] | None = None
    seed: Seed | None = None
    classes: Annotated[int, Field(strict=True, ge=2, le=10)] | None = None
    factor: Annotated[float, Field(strict=True, ge=0, le=0.99)] | None = None
    slope: Annotated[float, Field(strict=True, ge=-10, le=10)] | None = None
    intercept: Annotated[float, Field(strict=True, ge=-10, le=10)] | None = None
    X: list[list[Finite]] | None = None
    y: list[Finite] | None = None
    csv: str | None = None
    target: str | Annotated[int, Field(strict=True)] | None = None
    feature_names: list[str] | None = None
    target_name: str | None = None
    task: Literal["regression", "binary", "multiclass"] | None = None
    standardize: Flag | None = None
    validation_split: Annotated[float, Field(strict=True, ge=0, le=0.9)] | None = None


class ModelSpec(Strict):
    """Layers (``hidden``, ``activation``, ``init``) or an analytic ``function`` and its options."""

    hidden: list[Width] | None = None
    activation: ActivationName | list[ActivationName] | None = None
    init: InitName | InitSpec | None = None
    output: OutputName | None = Field(
        None,
        description="the output activation, for loss mse only (bce and cross_entropy fix "
        "theirs): identity (the default) or sigmoid, on targets in [0, 1]",
    )
    function: FunctionName | None = None
    a: Finite | None = None
    b: Finite | None = None
    A: Finite | None = None
    scale: Finite | None = None
    condition: Annotated[float, Field(strict=True, ge=1, le=1e6)] | None = None
    angle: Annotated[float, Field(strict=True, ge=-180, le=180)] | None = None


class OptimizerSpec(Strict):
    """An optimizer with ``torch.optim``'s names; omitted hyperparameters take its defaults."""

    name: OptimizerName | None = None
    lr: LearningRate | None = None
    momentum: Unit | None = None
    dampening: Annotated[float, Field(strict=True, ge=0, le=1)] | None = None
    weight_decay: Annotated[float, Field(strict=True, ge=0, le=1000)] | None = None
    nesterov: Flag | None = None
    maximize: Flag | None = None
    lr_decay: Annotated[float, Field(strict=True, ge=0, le=1000)] | None = None
    initial_accumulator_value: Annotated[float, Field(strict=True, ge=0, le=1e6)] | None = None
    eps: Annotated[float, Field(strict=True, gt=0, le=1)] | None = None
    alpha: Unit | None = None
    centered: Flag | None = None
    betas: tuple[Unit, Unit] | None = None
    amsgrad: Flag | None = None


class ScheduleSpec(Strict):
    """A learning-rate schedule with ``torch.optim.lr_scheduler`` semantics."""

    name: ScheduleName = "constant"
    interval: IntervalName = "epoch"
    step_size: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] | None = None
    gamma: Annotated[float, Field(strict=True, gt=0, le=1)] | None = None
    T_max: Annotated[int, Field(strict=True, ge=1, le=1_000_000)] | None = None
    eta_min: Annotated[float, Field(strict=True, ge=0, le=1e6)] | None = None


class SessionConfig(Strict):
    """A session config (DESIGN.md): every field optional; an empty config is ``pass-fail``."""

    preset: PresetName | None = None
    data: DataSpec | None = None
    model: ModelSpec | None = None
    loss: LossName | None = None
    optimizer: OptimizerSpec | None = None
    schedule: ScheduleSpec | None = None
    clip_norm: Annotated[float, Field(strict=True, gt=0, le=1e6)] | None = None
    batch_size: Annotated[int, Field(strict=True, ge=1)] | None = None
    seed: Seed | None = None
    init_params: list[Coordinate] | None = None

    def to_core(self) -> dict[str, Any]:
        """The config as the core takes it: fields given (explicit nulls kept), unset omitted."""
        return self.model_dump(exclude_unset=True)


class LiveChange(Strict):
    """A live change: applies from the next step, without a reset. Absent fields stay."""

    lr: LearningRate | None = None
    batch_size: Annotated[int, Field(strict=True, ge=1)] | None = Field(
        None, description="null means full batch"
    )
    optimizer: OptimizerSpec | None = None
    schedule: ScheduleSpec | None = None
    clip_norm: Annotated[float, Field(strict=True, gt=0, le=1e6)] | None = None

    def to_core(self) -> dict[str, Any]:
        """Only the fields that were sent (``batch_size: null`` is a change to full batch)."""
        out = self.model_dump(exclude_unset=True)
        if isinstance(out.get("optimizer"), dict):
            out["optimizer"] = {k: v for k, v in out["optimizer"].items() if v is not None}
        return out


class StepRequest(Strict):
    """How far to train: ``steps`` updates, or ``epochs`` passes over the data (Keras counts)."""

    steps: Annotated[int, Field(strict=True, ge=1)] | None = None
    epochs: Annotated[int, Field(strict=True, ge=1, le=100_000)] | None = None
    fields: list[FieldName] | None = Field(
        None, description="record fields to return (default: the scalars; add params, grad)"
    )
    evaluate: Literal["all", "last", "none"] = Field(
        "all", description="for which returned steps the full-data loss is computed"
    )


class PlayRequest(Strict):
    """Play at ``steps_per_second`` (null: as fast as the frame rate allows)."""

    steps_per_second: Annotated[float, Field(strict=True, gt=0)] | None = None


class ResetRequest(Strict):
    """Back to the initial parameters (no fields)."""


class RewindRequest(Strict):
    """The step to go back to."""

    step: Annotated[int, Field(strict=True, ge=0, le=10_000_000)]


class SessionInfo(BaseModel):
    """A session's public state."""

    id: str
    status: Literal["running", "paused", "diverged", "limit"]
    reason: str | None = Field(
        description="why it stopped: the divergence, or why play paused itself"
    )
    unread: bool = Field(
        False,
        description="play paused itself: no viewer read a frame for viewer_grace_seconds "
        "(a page resumes it when it is looked at again)",
    )
    step: int
    epoch: float
    loss: float | None
    accuracy: float | None
    config: dict[str, Any]
    settings: dict[str, Any] = Field(
        description="in force now: optimizer (with its base lr, the one PATCH {lr} sets), "
        "lr (the rate the next step uses, after any schedule), batch_size (null = full), "
        "schedule, clip_norm"
    )
    events: list[Any]
    n_params: int
    param_names: list[str]
    layers: list[str]
    n_samples: int | None
    n_features: int | None
    task: str | None
    params: list[float | None]


class StepResult(BaseModel):
    """The records of the steps just made, as columns, and the session's state after."""

    status: Literal["running", "paused", "diverged", "limit"]
    reason: str | None
    step: int
    records: dict[str, list[Any]]
    truncated: bool = Field(
        False,
        description="the call stopped before all its steps (its time budget, max_call_seconds, "
        "ran out, or the server is stopping): the records are the steps made; call again for more",
    )
    truncated_reason: str | None = None


class CsvUpload(Strict):
    """CSV text with a header row; ``target`` names the column to predict (default: last)."""

    csv: Annotated[str, Field(min_length=1)]
    target: str | Annotated[int, Field(strict=True)] | None = None
    standardize: Flag | None = None
    validation_split: Annotated[float, Field(strict=True, ge=0, le=0.9)] | None = None


class ImportRequest(Strict):
    """An export (``GET .../export?format=json``) to recreate bit-identically."""

    format_version: Literal[1]
    config: dict[str, Any]
    events: list[tuple[Annotated[int, Field(strict=True, ge=0)], dict[str, Any]]]
    step: Annotated[int, Field(strict=True, ge=0)]
    status: str | None = None
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class SurfaceRequest(Strict):
    """A loss surface over a plane through parameter space, with the descent path on it."""

    mode: Literal["axes", "pca", "random", "hessian"] | None = Field(
        None, description="default: axes for 2 parameters, else pca (random before 3 steps)"
    )
    params: (
        tuple[
            str | Annotated[int, Field(strict=True, ge=0)],
            str | Annotated[int, Field(strict=True, ge=0)],
        ]
        | None
    ) = Field(None, description="axes: two parameters by name or index")
    center: (
        Literal["current", "initial", "final"]
        | Annotated[int, Field(strict=True, ge=0)]
        | list[Coordinate]
    ) = "current"
    resolution: Annotated[int, Field(strict=True, ge=2)] = 61
    extent: tuple[tuple[Finite, Finite], tuple[Finite, Finite]] | None = Field(
        None, description="((x0, x1), (y0, y1)); default covers the path with a margin"
    )
    precision: Literal["float32", "float64"] = "float32"
    log_scale: Flag = False
    seed: Seed = 0
    orthogonalize: Flag = False
    overlay: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=6)] = Field(
        default_factory=list, description="other sessions (same model shape) drawn on this plane"
    )
    plane: dict[str, Any] | None = Field(
        None, description="a plane from an earlier response, reused"
    )


#: Bounds that are settings: (schema, field, JSON-schema keyword, setting). ``items`` after
#: a field bounds each item. The core or ``LiveRun`` enforces every one of them.
SETTING_BOUNDS: tuple[tuple[str, str, str, str], ...] = (
    ("DataSpec", "n_samples", "maximum", "max_samples"),
    ("DataSpec", "X", "maxItems", "max_samples"),
    ("DataSpec", "y", "maxItems", "max_samples"),
    ("DataSpec", "csv", "maxLength", "max_body_bytes"),
    ("ModelSpec", "hidden", "maxItems", "max_hidden_layers"),
    ("ModelSpec", "hidden.items", "maximum", "max_width"),
    ("SessionConfig", "batch_size", "maximum", "max_samples"),
    ("SessionConfig", "init_params", "maxItems", "max_params"),
    ("LiveChange", "batch_size", "maximum", "max_samples"),
    ("StepRequest", "steps", "maximum", "max_steps_per_call"),
    ("SurfaceRequest", "resolution", "maximum", "max_resolution"),
    ("ImportRequest", "step", "maximum", "max_trajectory_steps"),
    ("ImportRequest", "events", "maxItems", "max_events"),
    ("CsvUpload", "csv", "maxLength", "max_body_bytes"),
)
#: Query parameters whose bound is a setting: (path, method, parameter, keyword, setting).
SETTING_QUERY_BOUNDS: tuple[tuple[str, str, str, str, str], ...] = (
    ("/api/sessions/{session_id}/data", "get", "resolution", "maximum", "max_resolution"),
)


def _bounded(schema: dict[str, Any], keyword: str, value: int) -> None:
    """Set ``keyword`` on the non-null branch of a (possibly optional) property schema."""
    branches = schema.get("anyOf", [schema])
    for branch in branches:
        if branch.get("type") != "null":
            branch[keyword] = value


def publish_bounds(openapi: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with every setting-valued bound written in (``limits``: by name)."""
    components = openapi.get("components", {}).get("schemas", {})
    for model, path, keyword, setting in SETTING_BOUNDS:
        name, _, items = path.partition(".")
        prop = components[model]["properties"][name]
        if items:
            for branch in prop.get("anyOf", [prop]):
                if "items" in branch:
                    _bounded(branch["items"], keyword, limits[setting])
        else:
            _bounded(prop, keyword, limits[setting])
    for route, method, param, keyword, setting in SETTING_QUERY_BOUNDS:
        for p in openapi["paths"][route][method]["parameters"]:
            if p["name"] == param:
                _bounded(p["schema"], keyword, limits[setting])
    return openapi


class Health(BaseModel):
    """The server is up."""

    status: Literal["ok"]
    version: str


class SliceResult(BaseModel):
    """Loss along ``(1 - alpha) theta_start + alpha theta_stop``."""

    start: int
    stop: int
    alpha: list[float | None]
    loss: list[float | None]


class SharpnessSeries(BaseModel):
    """lambda_max along the run, with the lr in force at each of those steps."""

    step: list[int]
    lambda_max: list[float | None]
    lr: list[float | None]


class CurvatureResult(BaseModel):
    """The top Hessian eigenvalue at a step against the lr's stability edge 2 / lambda_max."""

    step: int
    lr: float | None
    lambda_max: float | None
    lr_times_lambda: float | None
    edge: float | None = Field(description="2 / lambda_max; null when lambda_max <= 0")
    stable: bool
    series: SharpnessSeries | None = None


class RecoveryResult(BaseModel):
    """How a diverged run recovers: the step to rewind to, why it diverged, and the fix,
    a live change ready to send (PATCH or the socket's ``set``) after the rewind."""

    step: int = Field(description="where the run stopped (its last finite point)")
    reason: str | None
    rewind_to: int = Field(
        description="the last step before the loss began to climb (smoothed over one "
        "epoch with mini-batches); at an lr raise the climb followed, the raise's step"
    )
    loss_at: float | None = Field(description="the full-data loss at rewind_to")
    cause: Literal["learning_rate", "exploding_gradients"]
    fix: dict[str, float] | None = Field(
        description='the live change that fits the cause: {"lr": x} or {"clip_norm": c}; '
        "null when no change can help (reset)"
    )
    lr: float = Field(description="the learning rate the climb ran at")
    lambda_max: float | None = Field(
        description="learning_rate: the top Hessian eigenvalue at rewind_to"
    )
    lr_limit: float | None = Field(description="learning_rate: 2 / lambda_max")
    curvature_note: str | None = Field(
        description="why lambda_max was not computed (over max_call_seconds, or no edge); "
        "the lr fix is then halved from the lr that climbed"
    )
    grad_norm_healthy: float | None = Field(
        description="median gradient norm of the steps up to rewind_to"
    )
    grad_norm_peak: float | None = Field(description="largest gradient norm on the climb")
    lr_raised_at: int | None = Field(description="the step of the lr raise the climb followed")
    smoothing_steps: int = Field(description="steps the loss was smoothed over (1: none)")
    message: str = Field(description="one sentence for the student, with the numbers")


class CsvSummary(BaseModel):
    """A checked CSV upload and the ``data`` object to put in a session config."""

    data: dict[str, Any]
    n_samples: int
    n_features: int
    feature_names: list[str]
    target_name: str
    task: Literal["regression", "binary", "multiclass"]
    n_classes: int | None
    suggested_loss: str
    preview: dict[str, list[Any]]


FloatList = list[float | None]


class PathOnPlane(BaseModel):
    """A path projected on the plane: coordinates, true loss, height under it, distance off."""

    step: list[int]
    a: FloatList
    b: FloatList
    loss: FloatList
    surface_height: FloatList
    off_plane_distance: FloatList


class SurfaceResult(BaseModel):
    """A G x G loss grid over a plane (z[row = y][col = x]) with the descent path(s) on it."""

    x: FloatList
    y: FloatList
    z: list[FloatList]
    labels: list[str]
    extent: list[FloatList]
    precision: Literal["float32", "float64"]
    log_scale: bool
    plane: dict[str, Any] = Field(description="the plane; send it back as `plane` to reuse it")
    path: PathOnPlane
    overlays: list[dict[str, Any]] = Field(description="[{id, path}] of the overlaid sessions")
    mode: Literal["axes", "pca", "random", "hessian"]
    explained_variance: FloatList | None
    current: dict[str, Any] = Field(description="the current point and -gradient on the plane")
    last_update: dict[str, Any] | None = Field(
        description="step T on the plane: from, -lr x gradient (descent), the step taken"
    )


class Pairing(BaseModel):
    """An output activation with its loss, and the dL/dz at the output they make."""

    output: str
    loss: str
    rule: str = Field(description="dL/dz per sample, e.g. 'dL/dz = pred - y' (before the 1/n)")
    why: str = Field(description="one sentence: why this pairing gives this rule")
    scale: float = Field(description="1 / n: each sample's share of the mean loss")


class BackpropResult(BaseModel):
    """The chain rule of one step, layer by layer (the first ``samples`` rows of the batch)."""

    step: int
    loss: float | None
    loss_name: str
    output_activation: str
    n: int = Field(description="rows in the step's mini-batch")
    targets: list[Any]
    prediction: list[Any] = Field(description="(samples, m): after the output activation")
    residual: list[Any] = Field(description="(samples, m): pred - y (y one-hot for classes)")
    error: list[Any] = Field(
        description="(samples, m): dL/dz at the output, the delta the backward sweep starts "
        "from; the gradient of the mean loss, so each row is pairing.rule x pairing.scale "
        "(sigmoid + bce: (pred - y) / n, the chapter's error = pred - y over n)"
    )
    pairing: Pairing
    layers: list[dict[str, Any]] = Field(
        description="per layer: index (from 0), name (layer1, ... as in SessionInfo.layers), "
        "activation, inputs, z, a, slope, dloss_da, delta (dL/dz, per sample), delta_mean "
        "(per unit, over the samples shown), passed_down (delta . W^T per sample: the dL/da "
        "handed to the layer below, computed once; layer 0: dL/dX), grad_w (inputs^T . delta "
        "summed over the batch), grad_b (delta summed), norms"
    )


class UpdateOptimizer(BaseModel):
    """The optimizer as it made the update."""

    name: OptimizerName
    hyper: dict[str, Any] = Field(description="its hyperparameters in force, lr aside")
    lr: float = Field(description="the learning rate this update used (after any schedule)")
    base_lr: float = Field(description="the lr a schedule starts from (PATCH {lr} sets it)")
    t: int = Field(description="the optimizer's step count after this update")


class UpdateBatch(BaseModel):
    """The mini-batch the update's gradient was taken on."""

    size: int | None = Field(description="rows in the mini-batch; null for an analytic surface")
    full: bool = Field(description="the whole training set (batch gradient descent)")


class UpdateClip(BaseModel):
    """Gradient clipping at this update."""

    norm: float | None = Field(description="clip_norm in force; null when off")
    grad_norm: float | None = Field(description="L2 norm of the raw gradient")
    scale: float | None = Field(description="the factor clipping applied (1 when none)")


class UpdateRow(BaseModel):
    """One parameter at the update: old weight, gradient, steps, new weight, optimizer state."""

    index: int
    name: str
    before: float | None = Field(description="theta_{k-1}[i], the old weight")
    grad: float | None = Field(description="the gradient the optimizer was given (clipped)")
    grad_raw: float | None = Field(description="the gradient before clipping")
    plain_step: float | None = Field(description="-lr x grad: the chapter's plain step")
    taken: float | None = Field(description="theta_k[i] - theta_{k-1}[i]: the step taken")
    after: float | None = Field(description="theta_k[i], the new weight")
    state_before: dict[str, float | None] = Field(
        description="the optimizer's buffers for this weight before the update (torch.optim's "
        "names: momentum_buffer, exp_avg, exp_avg_sq, square_avg, sum ...); null where the "
        "buffer is created by this update"
    )
    state_after: dict[str, float | None]
    m_hat: float | None = Field(None, description="adam / adamw: exp_avg / (1 - beta1^t)")
    v_hat: float | None = Field(None, description="adam / adamw: exp_avg_sq / (1 - beta2^t)")
    denominator: float | None = Field(
        None,
        description="adaptive optimizers: what the step divides by (adam: sqrt(v_hat) + eps)",
    )


class UpdateResult(BaseModel):
    """What the optimizer did at step k: new_weight = old_weight - lr x gradient, or not."""

    step: int
    optimizer: UpdateOptimizer
    batch: UpdateBatch
    loss_before: float | None = Field(description="the mini-batch loss at theta_{k-1}")
    clip: UpdateClip
    n_params: int
    offset: int
    limit: int
    match: str = Field(description="the name filter (case-insensitive substring; '' = all)")
    total: int = Field(description="parameters whose name matches")
    buffers: list[str] = Field(description="the optimizer's state buffers after the update")
    rows: list[UpdateRow] = Field(description="the matching parameters[offset:offset + limit]")
    explain: str = Field(description="one sentence: how taken differs from plain_step here")


class DataView(BaseModel):
    """The training data and the model's predictions: a boundary, a curve or just a table."""

    kind: Literal["boundary", "curve", "table", "surface"]
    X: list[Any]
    y: FloatList
    feature_names: list[str] | None = None
    target_name: str | None = None
    task: str | None = None
    grid_x: FloatList | None = None
    grid_y: FloatList | None = None
    prediction: list[Any] | None = None


class Trajectory(BaseModel):
    """Record fields as columns over ``steps[start:stop:every]``."""

    step_count: int
    columns: dict[str, list[Any]]


class Catalog(BaseModel):
    """Every name and option a client builds its forms from, and this server's limits."""

    presets: dict[str, Any]
    datasets: dict[str, Any]
    functions: dict[str, Any]
    activations: dict[str, str]
    initialisers: dict[str, Any]
    losses: dict[str, Any]
    outputs: dict[str, Any]
    optimizers: dict[str, Any]
    optimizer_docs: dict[str, dict[str, str]] = Field(
        description="per optimizer: its update rule in one line (torch's notation) "
        "and when it helps"
    )
    schedules: dict[str, Any]
    surface_modes: dict[str, str]
    record_fields: list[str]
    record_field_groups: dict[str, list[str]]
    task_losses: dict[str, str]
    limits: dict[str, Any]
    lesson: list[dict[str, Any]] = Field(
        description="the guided lesson's stops in the chapter's order: a config, a view, text, "
        "a question with its choices and the kind of answer the page reads from the run"
    )


class Export(BaseModel):
    """Everything needed to recreate a run bit for bit, and its trajectory as columns."""

    format_version: Literal[1]
    config: dict[str, Any]
    events: list[Any]
    step: int
    status: str
    reason: str | None
    param_names: list[str]
    every: int = Field(description="the trajectory holds every every-th step (1: all)")
    note: str | None = Field(description="why the rows were thinned, when they were")
    trajectory: dict[str, list[Any]]


class CodeResult(BaseModel):
    """Standalone code that runs the session's config (not its live changes)."""

    language: LanguageName
    code: str = Field(description="a Python script; it opens with a comment naming what it omits")
    filename: str = Field(description="gradscape_<preset or model>[_pytorch|_keras].py")
    epochs: int = Field(description="epochs the code trains for (steps for a surface)")
    exact: bool = Field(
        description="the code retraces the server's run: same start, data, batches and "
        "updates (false when something is omitted, and always for Keras)"
    )
    omits: list[str] = Field(description="sentences: what the code leaves out")
    notes: list[str] = Field(description="sentences: where the framework differs from gradscape")
