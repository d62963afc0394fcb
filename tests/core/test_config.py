"""Configs mean what a user means: neutral defaults for their own data or model, presets
that never leak their start into another model, and a normalised form that rebuilds itself."""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pytest

from gradscape.core.activations import ACTIVATIONS
from gradscape.core.config import Limits, build, check_batch_size, check_float, check_int
from gradscape.core.data import make_dataset
from gradscape.core.presets import CHAPTER_WEIGHTS, PRESETS
from gradscape.core.session import TrainingSession
from gradscape.core.tasks import DataLimits

TANH_ADAM = {"hidden": [16, 16], "activation": "tanh"}
ADAM = {"name": "adam", "lr": 0.01}
LEARNS: dict[str, dict[str, Any]] = {
    "moons": {"data": {"name": "moons"}, "model": TANH_ADAM, "loss": "bce", "optimizer": ADAM},
    "circles": {"data": {"name": "circles"}, "model": TANH_ADAM, "loss": "bce", "optimizer": ADAM},
    "blobs": {
        "data": {"name": "blobs"},
        "model": {"hidden": [16], "activation": "relu"},
        "loss": "cross_entropy",
        "optimizer": ADAM,
    },
    "sine": {"data": {"name": "sine"}, "model": TANH_ADAM, "loss": "mse", "optimizer": ADAM},
    "pass-fail-on-moons": {
        "preset": "pass-fail",
        "data": {"name": "moons"},
        "model": {"hidden": [8]},
    },
}
#: Configs beyond the presets that the normalised form must rebuild exactly.
OTHERS: list[dict[str, Any]] = [
    {},
    {"optimizer": {"lr": 0.5}},
    {"loss": "cross_entropy"},
    {"data": {"name": "sine"}},
    {"model": {"hidden": [4], "activation": "relu"}},
    {"model": {"function": "himmelblau"}},
    {"preset": "pass-fail", "model": {"hidden": [8]}},
    {"preset": "line", "data": {"name": "sine"}},
    {"preset": "moons-mlp", "data": {"name": "blobs", "classes": 4}},
    {"preset": "rosenbrock", "model": {"hidden": [3]}},
    {"preset": "pass-fail", "loss": "mse", "model": {"output": "sigmoid"}},
    {"data": {"name": "circles"}, "loss": "mse", "model": {"hidden": [4], "output": "sigmoid"}},
    *LEARNS.values(),
]
MSE_SIGMOID = {"preset": "pass-fail", "loss": "mse", "model": {"output": "sigmoid"}}


def _loss_at(session: TrainingSession, k: int) -> float:
    return float(session.trajectory(start=k, stop=k + 1, fields=["loss"])["loss"][0])


@pytest.mark.parametrize("name", list(LEARNS))
def test_configs_written_without_init_learn(name: str) -> None:
    s = TrainingSession(LEARNS[name])
    s.step(1000)
    assert s.status == "active"
    assert _loss_at(s, 1000) <= 0.5 * _loss_at(s, 0)


def test_own_data_starts_from_neutral_defaults_not_the_chapter() -> None:
    cfg = build({"data": {"name": "moons"}}).config
    assert cfg["preset"] is None and cfg["seed"] == 0 and cfg["batch_size"] is None
    assert cfg["optimizer"]["name"] == "sgd" and cfg["optimizer"]["lr"] == 0.1
    assert cfg["optimizer"]["momentum"] == 0.0
    assert cfg["data"] == {"name": "moons"} and cfg["loss"] == "bce"
    assert cfg["model"] == {"hidden": [], "activation": "tanh", "init": "xavier"}
    assert cfg["init_params"] is None and cfg["schedule"]["name"] == "constant"


def test_neutral_optimizer_merges_options_and_a_new_name_replaces_it() -> None:
    momentum = build({"data": {"name": "xor"}, "optimizer": {"momentum": 0.9}}).config
    assert momentum["optimizer"]["lr"] == 0.1 and momentum["optimizer"]["momentum"] == 0.9
    adam = build({"data": {"name": "xor"}, "optimizer": {"name": "adam"}}).config
    assert adam["optimizer"]["name"] == "adam" and adam["optimizer"]["lr"] == 0.001


def test_preset_optimizer_options_without_a_name_keep_the_presets_optimizer() -> None:
    cfg = build({"preset": "moons-mlp", "optimizer": {"lr": 0.05}}).config
    assert cfg["optimizer"]["name"] == "adam" and cfg["optimizer"]["lr"] == 0.05
    sgd = build({"preset": "moons-mlp", "optimizer": {"name": "sgd"}}).config
    assert sgd["optimizer"]["name"] == "sgd" and sgd["optimizer"]["lr"] == 0.001  # replaced


def test_a_layered_model_without_data_trains_on_the_default_dataset() -> None:
    built = build({"model": {"hidden": [4]}})
    assert built.config["data"] == {"name": "pass-fail"} and built.config["loss"] == "bce"
    assert built.config["seed"] == 0 and built.dataset is not None
    assert built.dataset.n_samples == 4
    assert not np.array_equal(built.theta0[:2], CHAPTER_WEIGHTS)


def test_an_analytic_model_needs_no_data() -> None:
    built = build({"model": {"function": "himmelblau"}})
    assert built.dataset is None and built.config["data"] is None and built.config["loss"] is None
    assert built.config["optimizer"]["lr"] == 0.1 and built.config["seed"] == 0


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
def test_init_follows_the_activation_unless_given(activation: str) -> None:
    expected = "he" if activation in ("relu", "leaky_relu") else "xavier"
    model = {"hidden": [8], "activation": activation}
    assert build({"model": model}).config["model"]["init"] == expected
    given = build({"model": {**model, "init": "torch"}}).config["model"]["init"]
    assert given == "torch"


def test_init_is_he_only_when_every_layer_is_relu_like() -> None:
    relus = {"hidden": [4, 4], "activation": ["relu", "leaky_relu"]}
    assert build({"model": relus}).config["model"]["init"] == "he"
    mixed = {"hidden": [4, 4], "activation": ["relu", "tanh"]}
    assert build({"model": mixed}).config["model"]["init"] == "xavier"


@pytest.mark.parametrize(
    ("data", "loss"),
    [
        ({"name": "moons"}, "bce"),
        ({"name": "blobs"}, "cross_entropy"),
        ({"name": "blobs", "classes": 2}, "bce"),
        ({"name": "sine"}, "mse"),
        ({"name": "line"}, "mse"),
        ({"X": [[0.0], [1.0], [2.0]], "y": [0.5, 1.5, 2.5]}, "mse"),
        ({"X": [[0.0], [1.0], [2.0]], "y": [0, 1, 2]}, "cross_entropy"),
    ],
)
def test_loss_follows_the_data_task_when_not_given(data: dict[str, Any], loss: str) -> None:
    assert build({"data": data}).config["loss"] == loss


def test_sine_without_a_loss_trains_with_mse() -> None:
    s = TrainingSession({"data": {"name": "sine"}, "model": {"hidden": [8]}})
    assert s.config["loss"] == "mse"
    s.step(50)
    assert s.status == "active"


def test_the_presets_start_is_dropped_for_a_model_of_another_shape() -> None:
    built = build({"preset": "pass-fail", "model": {"hidden": [8]}})
    cfg = built.config
    assert cfg["init_params"] is None and cfg["model"]["init"] == "xavier"
    assert cfg["data"] == {"name": "pass-fail"} and cfg["seed"] == 42  # the rest is kept
    assert np.count_nonzero(built.theta0[:16]) == 16


def test_the_presets_start_is_dropped_for_another_number_of_outputs() -> None:
    cfg = build({"loss": "cross_entropy"}).config  # pass-fail with two softmax outputs
    assert cfg["init_params"] is None and cfg["model"]["init"] == "xavier"


def test_the_presets_start_is_kept_for_a_model_of_its_shape() -> None:
    cfg = build({"preset": "pass-fail", "model": {"activation": "sigmoid"}}).config
    assert cfg["init_params"] == [*CHAPTER_WEIGHTS, 0.0] and cfg["model"]["init"] == "zeros"
    line = build({"preset": "line", "optimizer": {"lr": 0.5}}).config
    assert line["init_params"] == [-1.5, -1.0] and line["optimizer"]["lr"] == 0.5


def test_an_init_the_user_gives_is_kept_for_any_shape() -> None:
    cfg = build({"preset": "pass-fail", "model": {"hidden": [8], "init": "zeros"}}).config
    assert cfg["model"]["init"] == "zeros"


def test_another_kind_of_data_drops_the_presets_data_start_and_loss() -> None:
    cfg = build({"preset": "line", "data": {"name": "sine"}}).config
    assert cfg["data"] == {"name": "sine"} and cfg["loss"] == "mse"
    assert cfg["init_params"] is None and cfg["model"]["init"] == "xavier"
    moons = build({"preset": "pass-fail", "data": {"name": "moons"}}).config
    assert moons["data"] == {"name": "moons"} and moons["init_params"] is None
    blobs = build({"preset": "moons-mlp", "data": {"name": "blobs"}}).config
    assert blobs["data"] == {"name": "blobs"} and blobs["loss"] == "cross_entropy"
    sine = build({"preset": "moons-mlp", "data": {"name": "sine"}}).config
    assert sine["data"] == {"name": "sine"} and sine["loss"] == "mse"


def test_data_of_the_same_kind_merges_over_the_presets() -> None:
    cfg = build({"preset": "moons-mlp", "data": {"noise": 0.3}}).config
    assert cfg["data"] == {"name": "moons", "n_samples": 200, "noise": 0.3}
    assert cfg["loss"] == "bce" and cfg["model"]["init"] == "xavier"


def test_a_given_loss_is_kept_when_the_data_changes() -> None:
    cfg = build({"preset": "moons-mlp", "data": {"name": "xor"}, "loss": "mse"}).config
    assert cfg["loss"] == "mse"


def test_a_layered_model_on_an_analytic_preset_gets_the_default_data() -> None:
    cfg = build({"preset": "rosenbrock", "model": {"hidden": [3]}}).config
    assert cfg["data"] == {"name": "pass-fail"} and cfg["loss"] == "bce"
    assert cfg["optimizer"]["momentum"] == 0.9  # the preset's optimizer is kept


def test_empty_config_is_still_exactly_the_chapters_run() -> None:
    empty, chapter = TrainingSession({}), TrainingSession({"preset": "pass-fail"})
    assert empty.config == {**chapter.config, "preset": None}
    np.testing.assert_array_equal(empty.params, [*CHAPTER_WEIGHTS, 0.0])
    empty.step(300)
    chapter.step(300)
    np.testing.assert_array_equal(empty.trajectory()["loss"], chapter.trajectory()["loss"])
    lr = build({"optimizer": {"lr": 0.5}}).config  # neither data nor model: still the chapter
    assert lr["seed"] == 42 and lr["init_params"] == [*CHAPTER_WEIGHTS, 0.0]


@pytest.mark.parametrize(
    "config", [{"preset": name} for name in PRESETS] + OTHERS, ids=lambda c: json.dumps(c)
)
def test_the_normalised_config_rebuilds_itself_exactly(config: dict[str, Any]) -> None:
    first = build(config)
    stored = json.loads(json.dumps(first.config))  # as sessions persist it
    again = build(stored)
    assert again.config == first.config
    np.testing.assert_array_equal(again.theta0, first.theta0)
    assert build(again.config).config == first.config


def test_the_output_choice_is_mse_s_and_the_normalised_config_carries_it() -> None:
    sigmoid = build(MSE_SIGMOID)
    assert sigmoid.config["model"] == {
        "hidden": [], "activation": "tanh", "output": "sigmoid", "init": "zeros"
    }  # fmt: skip
    assert sigmoid.config["init_params"] == [*CHAPTER_WEIGHTS, 0.0]  # the chapter's start
    assert sigmoid.model.loss_fn.output_activation == "sigmoid"
    assert build({"preset": "pass-fail", "loss": "mse"}).config["model"]["output"] == "identity"
    assert build({"preset": "line"}).config["model"]["output"] == "identity"
    for fixed in ({}, {"preset": "moons-mlp"}, {"loss": "cross_entropy"}):
        assert "output" not in build(fixed).config["model"]  # bce, cross_entropy: fixed
    assert "output" not in build({"preset": "rosenbrock"}).config["model"]
    explicit_null = build({"preset": "pass-fail", "model": {"output": None}}).config
    assert explicit_null == build({"preset": "pass-fail"}).config


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"preset": "pass-fail", "model": {"output": "sigmoid"}}, "only loss 'mse'"),
        ({"preset": "moons-mlp", "model": {"output": "identity"}}, "only loss 'mse'"),
        ({"loss": "cross_entropy", "model": {"output": "sigmoid"}}, r"fixed \(softmax\)"),
        ({"preset": "line", "model": {"output": "sigmoid"}}, r"targets in \[0, 1\]"),
        ({"data": {"name": "blobs"}, "loss": "mse", "model": {"output": "sigmoid"}}, "0 to 2"),
        ({"preset": "pass-fail", "loss": "mse", "model": {"output": "softmax"}}, "one of"),
        ({"preset": "pass-fail", "loss": "mse", "model": {"output": 1}}, "one of"),
        ({"preset": "pass-fail", "loss": "mse", "model": {"output": ["sigmoid"]}}, "one of"),
    ],
)
def test_an_output_the_loss_cannot_take_is_refused_naming_model_output(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=rf"^model\.output: .*{message}"):
        build(config)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"data": {"name": "moons"}, "model": {"hidden": 8}},
         "model.hidden must be a list of at most 8 sizes"),
        ({"data": {"name": "moons"}, "model": {"hidden": "88"}},
         "model.hidden must be a list of at most 8 sizes"),
        ({"data": {"name": "line"}, "loss": "cross_entropy"},
         "loss: 'cross_entropy' needs class labels 0..k-1 (k >= 2)"),
        ({"preset": "pass-fail", "init_params": [1.0, 2.0]},
         "init_params must be a list of 3 numbers, got 2"),
        ({"preset": "pass-fail", "init_params": "abc"},
         "init_params must be a list of 3 numbers, got str"),
        ({"preset": "pass-fail", "loss": 5},
         "loss: must be one of mse, bce, cross_entropy, got 5"),
        ({"data": {"name": "line"}, "loss": ["mse"]},
         "loss: must be one of mse, bce, cross_entropy, got ['mse']"),
    ],
)  # fmt: skip
def test_config_refusals_by_their_whole_message(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build(config)


def test_the_chapters_start_is_reported_in_the_filled_in_config() -> None:
    cfg = build({"preset": "pass-fail"}).config
    assert cfg["init_params"] == [*CHAPTER_WEIGHTS, 0.0]


def test_a_null_optimizer_is_plain_sgd_with_its_defaults() -> None:
    """``optimizer: null`` replaces the preset's (lr 0.1) with SGD at torch.optim.SGD's
    defaults: lr 1e-3, no momentum, dampening or weight decay."""
    cfg = build({"preset": "pass-fail", "optimizer": None}).config
    assert cfg["optimizer"] == {
        "name": "sgd",
        "lr": 1e-3,
        "momentum": 0.0,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
        "maximize": False,
    }


def test_a_surface_presets_own_start_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """A preset's ``init_params`` describe its own model, and a surface's fit it: a surface
    preset that names a start begins there, not at the function's demo start."""
    start = [0.25, -0.75]  # Rosenbrock's demo start is (-1.2, 1)
    surface = {"description": "a surface with its own start", "config": {
        "data": None, "model": {"function": "rosenbrock"}, "loss": None,
        "optimizer": {"name": "sgd", "lr": 0.001}, "batch_size": None, "seed": 0,
        "init_params": start,
    }}  # fmt: skip
    monkeypatch.setitem(PRESETS, "own-start", surface)
    built = build({"preset": "own-start"})
    assert built.config["init_params"] == start
    np.testing.assert_array_equal(built.theta0, start)
    # another surface on that preset is another model: its own demo start
    beale = build({"preset": "own-start", "model": {"function": "beale"}})
    assert beale.config["init_params"] is None


@pytest.mark.parametrize("opt", [False, 0, [], "", "adam"])
def test_an_optimizer_that_is_not_an_object_is_refused_not_read_as_null(opt: Any) -> None:
    # only null means "the default": false, 0 or an empty list are not coerced to SGD
    with pytest.raises(ValueError, match=r"^optimizer must be an object with a name$"):
        build({"preset": "pass-fail", "optimizer": opt})


KNOWN_FIELDS = (
    "preset, data, model, loss, optimizer, schedule, clip_norm, batch_size, seed, init_params"
)


@pytest.mark.parametrize(
    ("config", "limits", "message"),
    [
        # two unknown fields: the first in sorted order is named
        ({"zeta": 1, "colour": 2}, None,
         f"colour: unknown config field; known: {KNOWN_FIELDS}"),
        ({"seed": -1}, None, "seed must be an integer in [0, 4294967295], got -1"),
        ({"seed": 2**32}, None, "seed must be an integer in [0, 4294967295], got 4294967296"),
        ({"seed": True}, None, "seed must be an integer in [0, 4294967295], got True"),
        ({"seed": 1.0}, None, "seed must be an integer in [0, 4294967295], got 1.0"),
        ({"clip_norm": 0}, None, "clip_norm must be a finite number in (0, 1000000.0], got 0"),
        ({"clip_norm": 2e6}, None,
         "clip_norm must be a finite number in (0, 1000000.0], got 2000000.0"),
        ({"clip_norm": True}, None,
         "clip_norm must be a finite number in (0, 1000000.0], got True"),
        ({"clip_norm": float("nan")}, None,
         "clip_norm must be a finite number in (0, 1000000.0], got nan"),
        ({"clip_norm": "1"}, None, "clip_norm must be a finite number in (0, 1000000.0], got '1'"),
        ({"init_params": [1, 2, 1e6 + 1]}, None,
         "init_params[2] must be a finite number in [-1000000.0, 1000000.0], got 1000001.0"),
        ({"model": {"hidden": [4], "colour": 1, "act": 2}}, None,
         "model.act: unknown model option"),
        ({"model": {"hidden": [1] * 9}}, None, "model.hidden must be a list of at most 8 sizes"),
        ({"model": {"hidden": [4, 257]}}, None,
         "model.hidden[1] must be an integer in [1, 256], got 257"),
        ({"model": {"hidden": [4]}}, Limits(max_hidden_layers=0),
         "model.hidden must be a list of at most 0 sizes"),
        ({"model": {"hidden": [4]}}, Limits(max_width=3),
         "model.hidden[0] must be an integer in [1, 3], got 4"),
        # pass-fail with 4 hidden units: 2*4 + 4 + 4*1 + 1 = 17 parameters
        ({"model": {"hidden": [4]}}, Limits(max_params=16),
         "model has 17 parameters; the limit is 16"),
        ({"data": {"name": "sine"}, "loss": "bce"}, None,
         "loss: 'bce' needs binary 0/1 targets; use 'mse' or 'cross_entropy'"),
        ({"model": 5}, None, "model must be an object"),
        ({"preset": "pass-fail", "batch_size": 5}, None,
         "batch_size must be an integer in [1, 4], got 5"),
        ({"preset": "pass-fail", "batch_size": 0}, None,
         "batch_size must be an integer in [1, 4], got 0"),
    ],
)  # fmt: skip
def test_more_config_refusals_by_their_whole_message(
    config: dict[str, Any], limits: Limits | None, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build(config, limits)


def test_limits_on_the_edge_are_accepted() -> None:
    assert build({"seed": 2**32 - 1}).config["seed"] == 4294967295
    seed = build({"seed": np.int64(7)}).config["seed"]
    assert seed == 7 and type(seed) is int
    assert build({"clip_norm": 1e6}).config["clip_norm"] == 1e6
    clip = build({"clip_norm": np.float32(0.5)}).config["clip_norm"]
    assert clip == 0.5 and type(clip) is float
    start = build({"init_params": [-1e6, 1e6, 0]}).config["init_params"]
    assert start == [-1e6, 1e6, 0.0]
    assert build({"model": {"hidden": [1] * 8}}).config["model"]["hidden"] == [1] * 8
    assert build({"model": {"hidden": [256]}}).config["model"]["hidden"] == [256]
    # 17 parameters (see above) at a limit of 17
    assert build({"model": {"hidden": [4]}}, Limits(max_params=17)).model.n_params == 17
    # two classes are enough for cross-entropy: 2 inputs * 2 outputs + 2 biases
    two = build({"data": {"name": "blobs", "classes": 2}, "loss": "cross_entropy"})
    assert two.model.n_params == 6
    # a batch of every row is the full batch (null); one row is a batch of 1
    assert build({"preset": "pass-fail", "batch_size": 4}).config["batch_size"] is None
    assert build({"preset": "pass-fail", "batch_size": 3}).config["batch_size"] == 3
    assert build({"preset": "pass-fail", "batch_size": 1}).config["batch_size"] == 1


def test_check_helpers_bound_their_ranges_as_documented() -> None:
    assert check_float(0, "x", 0, 1) == 0.0  # [lo, hi] holds lo
    assert check_float(1, "x", 0, 1, open_lo=True) == 1.0  # (lo, hi] holds hi
    with pytest.raises(ValueError, match=re.escape("x must be a finite number in [0, 1], got 2")):
        check_float(2, "x", 0, 1)
    assert check_int(np.int32(3), "n", 3, 3) == 3
    with pytest.raises(ValueError, match=re.escape("n must be an integer in [3, 3], got 2")):
        check_int(2, "n", 3, 3)
    with pytest.raises(
        ValueError, match=r"^batch_size: not applicable to an analytic surface \(use null\)$"
    ):
        check_batch_size(4, None)
    assert check_batch_size(None, None) is None


def test_limits_pass_their_data_part_to_the_dataset_builder() -> None:
    limits = Limits(max_samples=1, max_features=2, max_csv_bytes=3, max_width=9)
    assert limits.data_limits() == DataLimits(max_samples=1, max_features=2, max_csv_bytes=3)


def test_a_tuple_of_hidden_sizes_is_normalised_to_a_list() -> None:
    model = build({"model": {"hidden": (4,)}}).config["model"]
    assert model == {"hidden": [4], "activation": "tanh", "init": "xavier"}


def test_a_sigmoid_output_checks_the_held_out_targets_too() -> None:
    """Training targets in [0, 1] are not enough: a held-out target of 2 is refused too."""
    data = {"X": [[1.0], [2.0]], "y": [2.0, 0.5], "validation_split": 0.5}
    ds = build({"data": data, "loss": "mse"}).dataset
    assert ds is not None and ds.y.tolist() == [0.5] and ds.y_val is not None
    assert ds.y_val.tolist() == [2.0]  # the split holds the 2 out: only y_val is outside
    message = (
        "model.output: 'sigmoid' predicts in (0, 1), so it needs targets in [0, 1]; "
        "these go from 0.5 to 2 (use output 'identity')"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build({"data": data, "loss": "mse", "model": {"output": "sigmoid"}})


def test_the_config_seed_is_the_data_seed_unless_the_data_names_its_own() -> None:
    # make_dataset's rule: data.seed defaults to the session's seed.
    moons = {"name": "moons", "n_samples": 6}
    built = build({"data": moons, "seed": 3}).dataset
    assert built is not None
    np.testing.assert_array_equal(built.X, make_dataset({**moons, "seed": 3}).X)
    assert not np.array_equal(built.X, make_dataset({**moons, "seed": 0}).X)


def test_the_limits_given_to_build_bound_the_data_too() -> None:
    message = "data.n_samples must be between 1 and 200, got 300"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build({"data": {"name": "moons", "n_samples": 300}}, Limits(max_samples=200))


def test_the_built_config_shares_nothing_with_the_callers_config() -> None:
    # A caller that edits its own config after building must not change the session's.
    raw: dict[str, Any] = {"model": {"hidden": [4]}, "data": {"X": [[0.0], [1.0]], "y": [0, 1]}}
    built = build(raw)
    raw["model"]["hidden"].append(8)
    raw["data"]["X"][0][0] = 5.0
    assert built.config["model"]["hidden"] == [4]
    assert built.config["data"]["X"] == [[0.0], [1.0]]


def test_a_null_dataset_on_a_preset_is_another_kind_of_data_with_its_own_loss() -> None:
    # line's data replaced by null: the default dataset (pass-fail), whose binary task
    # decides the loss; line's mse and its start belong to line's data only.
    cfg = build({"preset": "line", "data": None}).config
    assert cfg["data"] == {"name": "pass-fail"} and cfg["loss"] == "bce"
    assert cfg["init_params"] is None


def test_init_params_the_user_gives_are_kept_for_any_shape() -> None:
    # pass-fail with 2 hidden units: 2*2 + 2 + 2*1 + 1 = 9 parameters, not the preset's 3;
    # the preset's start is dropped for this shape, but a start the user gives is theirs.
    start = [0.5, -0.25, 1.0, 2.0, -1.0, 0.75, 0.125, -2.0, 3.0]
    built = build({"preset": "pass-fail", "model": {"hidden": [2]}, "init_params": start})
    assert built.config["init_params"] == start
    np.testing.assert_array_equal(built.theta0, start)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        # the loss's refusal comes first, before the sigmoid's targets are looked at
        ({"data": {"name": "blobs"}, "loss": "cross_entropy", "model": {"output": "sigmoid"}},
         "model.output: only loss 'mse' takes an output choice; cross_entropy's output is "
         "fixed (softmax), so leave model.output out"),
        ({"preset": "pass-fail", "loss": "mse", "model": {"output": 1}},
         "model.output: must be one of identity, sigmoid, got 1"),
    ],
)  # fmt: skip
def test_an_output_the_loss_cannot_take_is_refused_by_its_whole_message(
    config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build(config)


def test_a_surfaces_options_shape_the_surface_built() -> None:
    # Rosenbrock (a - x)^2 + b (y - x^2)^2 with a = 2, b = 10 at (0, 1): 2^2 + 10 * 1^2 = 14
    # (the defaults a = 1, b = 100 would give 101); the options stay in the config.
    built = build({"model": {"function": "rosenbrock", "a": 2.0, "b": 10.0}})
    assert built.config["model"] == {"function": "rosenbrock", "a": 2.0, "b": 10.0}
    value = built.model.value(np.array([0.0, 1.0]))  # type: ignore[union-attr]
    assert float(value) == 14.0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"clip_norm": 10**400}, "clip_norm"),
        ({"init_params": [10**400, 0, 0]}, "init_params[0]"),
        ({"data": {"name": "moons", "noise": 10**400}}, "data.noise"),
        (
            {"data": {"X": [1, 2], "y": [0, 1], "validation_split": 10**400}},
            "data.validation_split",
        ),
    ],
)
def test_an_integer_too_large_for_float64_is_refused_naming_its_field(
    raw: dict[str, Any], field: str
) -> None:
    """JSON carries integers of any size; one past float64's range is a refusal that names
    its field (a ValueError, as for every bad value), never an OverflowError from float()."""
    with pytest.raises(ValueError, match=re.escape(field)) as err:
        build({"preset": "pass-fail", **raw})
    assert not isinstance(err.value.__cause__, OverflowError)
    assert str(err.value) == f"{field} is too large for float64"


def test_a_data_seed_of_any_size_is_a_seed() -> None:
    """The data seed is an int option with no upper bound (NumPy seeds with ints of any
    size): one past float64's range is a seed like any other, not an overflow."""
    a = build({"preset": "pass-fail", "data": {"name": "moons", "seed": 10**400}})
    b = build({"preset": "pass-fail", "data": {"name": "moons", "seed": 10**400 + 1}})
    c = build({"preset": "pass-fail", "data": {"name": "moons", "seed": 10**400}})
    assert not np.array_equal(a.dataset.X, b.dataset.X)
    np.testing.assert_array_equal(a.dataset.X, c.dataset.X)
