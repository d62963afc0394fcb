"""Parameter and layer names: from the data's feature names without a hidden layer,
numbered layers from 1 otherwise; unique and in theta order."""

from __future__ import annotations

import numpy as np
import pytest

from gradscape.core.functions import make_function
from gradscape.core.names import identifier, parameter_names
from gradscape.core.nn import MLP
from gradscape.core.session import TrainingSession


def test_the_chapter_neuron_is_named_after_its_features() -> None:
    s = TrainingSession({"preset": "pass-fail"})
    assert s.model.param_names == ("w_study", "w_sleep", "bias")
    assert [name for name, _ in s.model.layer_slices] == ["layer1"]


def test_the_names_follow_theta_order() -> None:
    # theta is [w_study, w_sleep, bias]: the loss moves with w_study as study hours do
    s = TrainingSession({"preset": "pass-fail"})
    X, y = s.dataset.X, s.dataset.y  # type: ignore[union-attr]
    theta = np.zeros(3)
    names = s.model.param_names
    _, grad = s.model.loss_and_grad(theta, X, y)
    error = 0.5 - y  # sigmoid(0) - y
    assert grad[names.index("w_study")] == pytest.approx(np.mean(error * X[:, 0]))
    assert grad[names.index("w_sleep")] == pytest.approx(np.mean(error * X[:, 1]))
    assert grad[names.index("bias")] == pytest.approx(np.mean(error))


@pytest.mark.parametrize(
    ("config", "names"),
    [
        ({"preset": "line"}, ("w_x", "bias")),
        ({"data": {"name": "xor"}}, ("w_x1", "w_x2", "bias")),
        (
            {"data": {"X": [[1, 2], [3, 4]], "y": [0.5, 1], "feature_names": ["hours slept", "é"]}},
            ("w_hours_slept", "w_é", "bias"),
        ),
        # "a b" and "a-b" would both read w_a_b, "?" has no word: x1, x2 instead
        ({"data": {"X": [[1, 2], [3, 4]], "y": [0, 1], "feature_names": ["a b", "a-b"]}}, None),
        ({"data": {"X": [[1, 2], [3, 4]], "y": [0, 1], "feature_names": ["?", "b"]}}, None),
        # a feature called bias cannot collide with the bias
        ({"data": {"csv": "bias,w,y\n1,2,0\n3,4,1\n"}}, ("w_bias", "w_w", "bias")),
    ],
)
def test_names_without_a_hidden_layer(config: dict, names: tuple[str, ...] | None) -> None:
    model = TrainingSession(config).model
    assert model.param_names == (names or ("w_x1", "w_x2", "bias"))


def test_several_outputs_index_the_output_unit() -> None:
    model = TrainingSession({"data": {"name": "blobs", "classes": 3}}).model
    assert model.param_names == (
        "w_x1[0]", "w_x1[1]", "w_x1[2]", "w_x2[0]", "w_x2[1]", "w_x2[2]",
        "bias[0]", "bias[1]", "bias[2]",
    )  # fmt: skip
    # W is (fan_in, fan_out) row-major: w_x2[1] multiplies x2 into output unit 1
    assert model.param_names[model.layers[0].w_slice][1 * 3 + 1] == "w_x2[1]"


def test_hidden_layers_are_numbered_from_one() -> None:
    model = TrainingSession({"preset": "moons-mlp"}).model
    names = model.param_names
    assert names[:3] == ("layer1.W[0,0]", "layer1.W[0,1]", "layer1.W[0,2]")
    assert names[16] == "layer1.W[1,0]" and names[32] == "layer1.b[0]"
    assert names[-2:] == ("layer3.W[15,0]", "layer3.b[0]")
    assert [name for name, _ in model.layer_slices] == ["layer1", "layer2", "layer3"]
    # feature names do not leak into a deeper network
    assert not any(n.startswith("w_") for n in names)


@pytest.mark.parametrize(
    "sizes", [(2, 1), (3, 4), (1, 1), (2, 6, 5, 1), (4, 3, 3), (10, 10, 10, 10)]
)
def test_names_are_unique_and_one_per_parameter(sizes: tuple[int, ...]) -> None:
    model = MLP(sizes[0], sizes[1:-1], sizes[-1], "tanh", "mse")
    names = model.param_names
    assert len(names) == model.n_params == len(set(names))
    for (label, part), layer in zip(model.layer_slices, model.layers, strict=True):
        assert part == layer.params and label == f"layer{layer.index + 1}"


def test_a_dataset_without_names_or_the_wrong_count_falls_back() -> None:
    assert parameter_names((2, 1)) == ("w_x1", "w_x2", "bias")
    assert parameter_names((2, 1), ("only one",)) == ("w_x1", "w_x2", "bias")


def test_identifier_keeps_words_and_cuts_long_names() -> None:
    assert identifier("  hours of sleep (h) ") == "hours_of_sleep_h"
    assert identifier("...") == ""
    assert len(identifier("x" * 100)) == 24
    assert identifier("a" * 23 + " b") == "a" * 23  # no dangling underscore


def test_analytic_surfaces_keep_their_names() -> None:
    f = make_function("rosenbrock")
    assert f.param_names == ("x", "y")
    assert f.layer_slices == (("surface", slice(0, 2)),)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("(" + "a" * 24, "a" * 24),  # the leading "_" is dropped before the cut to 24
        ("X ray", "X_ray"),  # only underscores are stripped, never a letter
        ("a" * 23 + "X", "a" * 23 + "X"),
        ("Xa" + "b" * 30, "Xa" + "b" * 22),
    ],
)
def test_identifier_strips_only_underscores_before_and_after_the_cut(text: str, word: str) -> None:
    assert identifier(text) == word
