"""Each preset shows the one idea of the chapter it claims to show."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from gradscape.core.presets import PRESETS, neutral_config, preset_config
from gradscape.core.session import TrainingSession
from gradscape.landscape import lambda_max


def _lambda_max(s: TrainingSession) -> float:
    ds = s.dataset
    X, y = (None, None) if ds is None else (ds.X, ds.y)
    return lambda_max(s.model, X, y, s.params)


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_builds_runs_and_describes_itself(name: str) -> None:
    description = PRESETS[name]["description"]
    assert description.endswith(".") and 40 < len(description) < 240
    s = TrainingSession({"preset": name})
    s.step(20)
    assert s.step_count >= 1


def test_crawl_is_far_below_the_edge_and_inches_along() -> None:
    s = TrainingSession({"preset": "crawl"})
    assert s.settings["lr"] * _lambda_max(s) < 0.02
    s.step(100)
    loss = s.trajectory(fields=["loss"])["loss"]
    assert loss[-1] > 0.3 * loss[0]  # 100 steps and still far from the bottom
    line = TrainingSession({"preset": "line"})
    line.step(100)
    assert line.trajectory(start=-1, fields=["loss"])["loss"][0] < 0.05 * loss[0]


def test_overshoot_is_just_past_the_edge_and_climbs() -> None:
    s = TrainingSession({"preset": "overshoot"})
    assert 2.0 < s.settings["lr"] * _lambda_max(s) < 2.2
    s.step(60)
    traj = s.trajectory(fields=["loss", "params"])
    assert traj["loss"][-1] > traj["loss"][0]
    # It bounces: the component along the top eigenvector flips sign every step.
    ds = s.dataset
    assert ds is not None
    A = np.c_[ds.X, np.ones(len(ds.X))]
    _, V = np.linalg.eigh(2 * A.T @ A / len(A))
    opt = np.linalg.lstsq(A, ds.y, rcond=None)[0]
    along = (traj["params"] - opt) @ V[:, -1]
    assert (np.sign(along[1:]) != np.sign(along[:-1])).all()


def test_minibatch_noise_batch_sizes_take_different_paths() -> None:
    paths = []
    for batch in (1, 4, None):
        s = TrainingSession({"preset": "minibatch-noise", "batch_size": batch})
        s.step(50)
        paths.append(s.trajectory(fields=["params"])["params"])
    assert all(np.abs(paths[i] - paths[j]).max() > 0.05 for i, j in ((0, 1), (1, 2), (0, 2)))
    full = np.diff(paths[2], axis=0)
    sgd = np.diff(paths[0], axis=0)

    # Full batch goes straight downhill; batch size 1 jitters (its steps turn more).
    def turning(steps: np.ndarray) -> float:
        unit = steps / np.linalg.norm(steps, axis=1, keepdims=True)
        return float(np.mean(1 - np.sum(unit[1:] * unit[:-1], axis=1)))

    assert turning(sgd) > 10 * turning(full)


def test_exploding_blows_up_quickly_and_clipping_is_the_remedy() -> None:
    s = TrainingSession({"preset": "exploding"})
    s.step(50)
    assert s.status == "diverged" and s.step_count < 20
    norms = s.trajectory(fields=["grad_norm"])["grad_norm"][1:]
    assert norms.max() > 100
    clipped = TrainingSession({"preset": "exploding", "clip_norm": 1.0})
    clipped.step(200)
    assert clipped.status == "active"
    loss = clipped.trajectory(fields=["loss"])["loss"]
    assert loss[-1] < loss[0]


def test_rosenbrock_momentum_beats_plain_descent() -> None:
    losses = {}
    for momentum in (0.0, 0.9):
        s = TrainingSession({"preset": "rosenbrock", "optimizer": {"momentum": momentum}})
        s.step(1000)
        losses[momentum] = s.trajectory(start=-1, fields=["loss"])["loss"][0]
    assert losses[0.9] < losses[0.0] / 10


def test_moons_mlp_learns_a_non_linear_boundary() -> None:
    s = TrainingSession({"preset": "moons-mlp"})
    s.step(1500)
    acc = s.trajectory(start=-1, fields=["accuracy"])["accuracy"][0]
    assert acc > 0.95


def _line_preset(
    lr: float, start: list[float], data: dict[str, Any] | None = None, batch_size: int | None = None
) -> dict[str, Any]:
    """The chapter's linear regression as a config: w, b from ``start``, plain SGD on MSE."""
    return {
        "data": data or {"name": "line", "n_samples": 50, "noise": 0.3},
        "model": {"hidden": [], "init": "zeros"},
        "loss": "mse",
        "optimizer": {"name": "sgd", "lr": lr},
        "batch_size": batch_size,
        "seed": 0,
        "init_params": start,
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("line", _line_preset(0.1, [-1.5, -1.0])),
        ("crawl", _line_preset(0.003, [-1.5, -1.0])),
        ("overshoot", _line_preset(1.02, [1.5, 0.5])),
        ("minibatch-noise",
         _line_preset(0.05, [-1.5, -1.0], {"name": "line", "n_samples": 100, "noise": 1.0}, 4)),
    ],
)  # fmt: skip
def test_the_line_presets_are_full_batch_unless_stated_seed_0_and_start_where_they_say(
    name: str, expected: dict[str, Any]
) -> None:
    assert preset_config(name) == expected


def test_the_configs_handed_out_are_copies_to_the_last_level() -> None:
    # A caller that edits a nested object of its config must not change the next caller's.
    neutral = neutral_config()
    neutral["optimizer"]["lr"] = 5.0
    neutral["data"]["name"] = "moons"
    assert neutral_config()["optimizer"] == {"name": "sgd", "lr": 0.1}
    assert neutral_config()["data"] == {"name": "pass-fail"}
    line = preset_config("line")
    line["optimizer"]["lr"] = 5.0
    line["init_params"].append(0.0)
    assert preset_config("line")["optimizer"] == {"name": "sgd", "lr": 0.1}
    assert preset_config("line")["init_params"] == [-1.5, -1.0]


KNOWN_PRESETS = (
    "pass-fail, line, crawl, overshoot, minibatch-noise, vanishing, exploding, rosenbrock, "
    "moons-mlp"
)


@pytest.mark.parametrize(
    ("name", "shown"),
    [("lin", "'lin'"), (5, "5"), (["line"], "['line']"), (None, "None")],
)
def test_an_unknown_or_non_string_preset_is_refused_naming_preset_and_the_known_ones(
    name: Any, shown: str
) -> None:
    # A misspelt name, and names that are not strings (a list would not even hash), are all
    # the same ValueError naming the field and listing the presets in catalog order.
    message = f"preset: unknown preset {shown}; known: {KNOWN_PRESETS}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        preset_config(name)
