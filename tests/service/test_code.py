"""service.code: the NumPy and PyTorch snippets, executed, retrace the server's run (loss
to 1e-9 at every printed epoch, parameters to 1e-8); Keras parses; omissions are named."""

from __future__ import annotations

import ast
import dataclasses
import re
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from gradscape.core.functions import Beale, Quadratic
from gradscape.core.nn import MLP
from gradscape.service.code import code
from gradscape.service.codegen import keras_code
from gradscape.service.codegen.recipe import (
    Recipe,
    array_lines,
    make_recipe,
    print_every,
    stem,
)
from gradscape.service.codegen.surfaces import surface_text
from gradscape.service.codegen.text import data_comment, data_lines
from gradscape.service.errors import PayloadTooLargeError
from gradscape.service.live import Budgets, LiveRun
from tests.chapter_loop import chapter_loop
from tests.helpers import assert_retraces, require_torch, run_snippet

CHAPTER_PRINTOUT = [
    "epoch    0 loss 0.6330",
    "epoch  500 loss 0.1919",
    "epoch 1000 loss 0.1146",
    "epoch 1500 loss 0.0813",
]


def _retraced(config: dict[str, Any], language: str, epochs: int) -> tuple[dict[str, Any], str]:
    """Run the snippet and the server the same number of steps; compare; return the snippet's
    namespace and printout."""
    run = LiveRun.create(config)
    out = code(run, language, epochs)
    assert out["exact"] is True and out["omits"] == [] and out["epochs"] == epochs
    namespace, printed = run_snippet(out["code"])
    steps = run.steps_for(None, epochs)
    run.step(steps, evaluate="none")
    assert_retraces(run.session, namespace, steps // epochs)
    return namespace, printed


# -- pass-fail: the chapter's loop ---------------------------------------------------


def test_pass_fail_numpy_is_the_chapters_loop_and_prints_its_numbers() -> None:
    namespace, printed = _retraced({"preset": "pass-fail"}, "numpy", 2000)
    assert printed.splitlines()[:4] == CHAPTER_PRINTOUT
    assert printed.splitlines()[4].startswith("final weights: [1.402812")
    chapter = chapter_loop(2000)
    np.testing.assert_allclose(namespace["theta"], chapter[-1].after, rtol=1e-12)
    # the chapter's + 1e-9 moves the loss, by at most 2.1e-9 over the run
    shifts = [abs(chapter[e].loss - loss) for e, loss in namespace["losses"].items()]
    assert 1e-10 < max(shifts) < 2.2e-9


def test_pass_fail_numpy_reads_like_the_chapter() -> None:
    text = code(LiveRun.create({"preset": "pass-fail"}), "numpy", 2000)["code"]
    for line in (
        "X = np.array([[5, 7], [3, 4], [8, 6], [2, 3]], dtype=float)",
        "y = np.array([1, 0, 1, 0], dtype=float)",
        "weights = np.array([0.4967141530112327, -0.13826430117118466])",
        "bias = 0.0",
        "error = pred - y  # dL/dz for sigmoid + cross-entropy",
        "weights -= learning_rate * grad_w",
        "bias -= learning_rate * grad_b",
        'print(f"epoch {epoch:4d} loss {losses[epoch]:.4f}")',
    ):
        assert line in text
    exact = text.index("loss = np.mean(np.logaddexp(0.0, z) - y * z)")
    chapter = text.index("np.log(pred + 1e-9)")
    assert 0 < chapter - exact < 120  # the chapter's line is the comment right below
    assert "2.1e-9" in text


def test_the_numpy_snippet_runs_as_a_script() -> None:
    text = code(LiveRun.create({"preset": "pass-fail"}), "numpy", 2000)["code"]
    done = subprocess.run(
        [sys.executable, "-c", text], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[:4] == CHAPTER_PRINTOUT and done.stderr == ""


def test_pass_fail_pytorch() -> None:
    require_torch()
    _, printed = _retraced({"preset": "pass-fail"}, "pytorch", 2000)
    assert printed.splitlines()[:4] == CHAPTER_PRINTOUT


# -- networks, optimizers, batches ---------------------------------------------------

MOONS = {"preset": "moons-mlp"}  # 200 samples, batch 32 (7 steps an epoch), adam
NETWORKS = {
    "moons-mlp": (MOONS, 40),
    "line": ({"preset": "line"}, 200),
    "minibatch-noise": ({"preset": "minibatch-noise"}, 10),
    "blobs-relu-nesterov": (
        {
            "data": {"name": "blobs", "classes": 3, "n_samples": 90},
            "model": {"hidden": [6], "activation": "relu"},
            "loss": "cross_entropy",
            "batch_size": 16,
            "optimizer": {
                "name": "sgd",
                "lr": 0.1,
                "momentum": 0.9,
                "nesterov": True,
                "weight_decay": 0.01,
            },
        },
        15,
    ),
    "sine-mixed-activations": (
        {
            "data": {"name": "sine", "n_samples": 60, "standardize": True},
            "model": {"hidden": [8, 8, 4], "activation": ["softplus", "leaky_relu", "sigmoid"]},
            "batch_size": 7,
            "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.5, "dampening": 0.3},
        },
        12,
    ),
    "pass-fail-adamw-amsgrad": (
        {"preset": "pass-fail", "optimizer": {"name": "adamw", "lr": 0.05, "amsgrad": True}},
        200,
    ),
    "pass-fail-adam-l2": (
        {"preset": "pass-fail", "optimizer": {"name": "adam", "lr": 0.05, "weight_decay": 0.1}},
        200,
    ),
    "xor-rmsprop-centered": (
        {
            "data": {"name": "xor", "n_samples": 40},
            "model": {"hidden": [5], "activation": "tanh"},
            "optimizer": {"name": "rmsprop", "lr": 0.01, "centered": True, "momentum": 0.5},
        },
        60,
    ),
    "pass-fail-adagrad": (
        {
            "preset": "pass-fail",
            "optimizer": {
                "name": "adagrad",
                "lr": 0.1,
                "lr_decay": 0.01,
                "initial_accumulator_value": 0.1,
                "weight_decay": 0.01,
            },
        },
        200,
    ),
    "pass-fail-sgd-maximize": (
        {"preset": "pass-fail", "optimizer": {"name": "sgd", "lr": 0.01, "maximize": True}},
        20,
    ),
}


@pytest.mark.parametrize("language", ["numpy", "pytorch"])
@pytest.mark.parametrize("case", list(NETWORKS))
def test_networks_retrace_the_server(case: str, language: str) -> None:
    if language == "pytorch":
        require_torch()
    config, epochs = NETWORKS[case]
    _retraced(config, language, epochs)


@pytest.mark.parametrize("language", ["numpy", "pytorch"])
@pytest.mark.parametrize(
    "model",
    [
        {"function": "rosenbrock"},
        {"function": "beale"},
        {"function": "himmelblau"},
        {"function": "saddle", "scale": 0.5},
        {"function": "quadratic", "condition": 30, "angle": 25},
        {"function": "rastrigin", "A": 3},
    ],
)
def test_surfaces_retrace_the_server(model: dict[str, Any], language: str) -> None:
    if language == "pytorch":
        require_torch()
    config = {"preset": "rosenbrock", "model": model, "optimizer": {"lr": 0.0005}}
    _, printed = _retraced(config, language, 400)
    assert printed.startswith("step    0 loss ")


def test_moons_numpy_names_every_layer_and_the_batch_order() -> None:
    text = code(LiveRun.create(MOONS), "numpy", 40)["code"]
    for line in (
        "order = np.random.default_rng([seed, epoch]).permutation(len(X))",
        "delta2 = delta3 @ W3.T * (1 - a2**2)  # tanh'(z) = 1 - a^2",
        "error = pred - yb  # dL/dz for sigmoid + cross-entropy",
        "denom = np.sqrt(v_p) / (1 - beta2**t) ** 0.5 + eps",
        "batch_size = 32",
    ):
        assert line in text
    assert text.count("np.array(") == 2 + 6  # X, y and three (W, b) pairs


# -- Keras ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [{"preset": "pass-fail"}, MOONS, NETWORKS["blobs-relu-nesterov"][0]],
    ids=["pass-fail", "moons-mlp", "blobs"],
)
def test_keras_compiles_and_fits_like_the_chapter(config: dict[str, Any]) -> None:
    run = LiveRun.create(config)
    out = code(run, "keras", 2000)
    tree = ast.parse(out["code"])
    assert out["exact"] is False and out["filename"].endswith("_keras.py")
    assert "model.compile(" in out["code"] and "model.fit(" in out["code"]
    assert "model.set_weights(" in out["code"]
    fit = next(
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) == "model.fit"
    )
    keywords = {k.arg: ast.literal_eval(k.value) for k in fit.keywords if k.arg != "verbose"}
    batch_size = run.session.config["batch_size"] or run.session.n_samples
    assert keywords == {"epochs": 2000, "batch_size": batch_size}


def test_keras_notes_name_adams_epsilon_and_its_shuffling() -> None:
    out = code(LiveRun.create(MOONS), "keras", 10)
    notes = " ".join(out["notes"])
    assert "1e-7" in notes and "epsilon=1e-08" in out["code"]
    assert "shuffles" in notes and "float32" in notes
    assert out["omits"] == []


def test_keras_names_what_it_cannot_express() -> None:
    config = {"preset": "pass-fail", "optimizer": {"momentum": 0.9, "dampening": 0.5}}
    out = code(LiveRun.create(config), "keras", 10)
    assert any("dampening" in o for o in out["omits"])
    assert "dampening" in out["code"].split("import numpy")[0]


def test_keras_refuses_a_surface() -> None:
    with pytest.raises(ValueError, match=r"^language: Keras code export covers layer models"):
        code(LiveRun.create({"preset": "rosenbrock"}), "keras", 10)


_SGD = "keras.optimizers.SGD(learning_rate=0.1, "


def _keras_optimizer_line(text: str) -> str:
    """The ``optimizer=...`` argument line of the snippet's ``model.compile``."""
    (line,) = [x for x in text.splitlines() if x.startswith("    optimizer=")]
    return line


@pytest.mark.parametrize(
    ("optimizer", "call", "omits"),
    [
        (
            {"momentum": 0.9, "nesterov": True},
            "keras.optimizers.SGD(learning_rate=0.1, momentum=0.9, nesterov=True)",
            [],
        ),
        # torch's dampening scales the momentum buffer: without momentum it does nothing
        ({"momentum": 0.0, "dampening": 0.5}, f"{_SGD}momentum=0.0)", []),
        ({"momentum": 0.9, "dampening": 0.0}, f"{_SGD}momentum=0.9)", []),
        (
            {"momentum": 0.9, "dampening": 0.5},
            "keras.optimizers.SGD(learning_rate=0.1, momentum=0.9)",
            ["SGD's dampening 0.5: Keras' SGD has none."],
        ),
        (
            {"lr": 0.01, "maximize": True},
            "keras.optimizers.SGD(learning_rate=0.01, momentum=0.0)",
            ["Maximize: Keras optimizers only minimise."],
        ),
        # torch's Adagrad starts its sums at 0 with eps 1e-10: the snippet says so to Keras
        (
            {"name": "adagrad", "lr": 0.1},
            "keras.optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.0, "
            "epsilon=1e-10)",
            [],
        ),
        (
            {"name": "adagrad", "lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1},
            "keras.optimizers.Adagrad(learning_rate=0.1, initial_accumulator_value=0.1, "
            "epsilon=1e-10)",
            ["Adagrad's lr_decay 0.01: Keras' Adagrad has none."],
        ),
    ],
    ids=["nesterov", "dampening-no-momentum", "momentum-no-dampening", "dampening", "maximize",
         "adagrad", "adagrad-lr-decay"],
)  # fmt: skip
def test_keras_sets_the_optimizers_arguments_and_names_those_it_lacks(
    optimizer: dict[str, Any], call: str, omits: list[str]
) -> None:
    out = code(LiveRun.create({"preset": "pass-fail", "optimizer": optimizer}), "keras", 10)
    assert _keras_optimizer_line(out["code"]) == f"    optimizer={call},"
    assert out["omits"] == omits


def test_keras_notes_adagrads_start_and_epsilon() -> None:
    config = {"preset": "pass-fail", "optimizer": {"name": "adagrad", "lr": 0.1}}
    notes = code(LiveRun.create(config), "keras", 10)["notes"]
    assert notes[-1] == (
        "Keras' Adagrad starts its sums at 0.1 and uses epsilon 1e-7 by default (torch: 0 "
        "and 1e-10), so the snippet sets both; it adds epsilon inside the square root."
    )


def test_keras_puts_mses_sigmoid_output_on_the_last_dense_layer() -> None:
    config = {"preset": "pass-fail", "loss": "mse", "model": {"output": "sigmoid"}}
    text = code(LiveRun.create(config), "keras", 10)["code"]
    assert '        keras.layers.Dense(1, activation="sigmoid", name="layer1"),' in text
    assert "# the logits" not in text
    assert '    loss="mean_squared_error",' in text


def test_a_keras_recipe_without_a_loss_compiles_with_mean_squared_error() -> None:
    recipe = make_recipe(LiveRun.create({"preset": "line"}).session, 10)
    text, _, _ = keras_code.render(dataclasses.replace(recipe, loss=None))
    assert '    loss="mean_squared_error",' in text.splitlines()


def test_a_loss_the_export_does_not_know_is_refused_naming_what_it_covers() -> None:
    # every loss core builds today is covered; one it may add later is refused by name
    run = LiveRun.create({"preset": "line"})
    model = run.session.model
    assert isinstance(model, MLP)
    model.loss_fn = dataclasses.replace(model.loss_fn, name="huber")
    with pytest.raises(ValueError, match=r"^loss: code export covers") as refused:
        code(run, "numpy", 10)
    assert str(refused.value) == (
        "loss: code export covers mse, bce, cross_entropy with an output of identity or sigmoid"
    )


class _OtherModel:
    """A kind of model core does not build today: neither layers nor a surface."""

    n_params = 2


@pytest.mark.parametrize("missing", ["a known model", "the data"])
def test_a_model_the_export_does_not_cover_is_refused(missing: str) -> None:
    # every model core builds today is a layer model with its data or a surface
    run = LiveRun.create({"preset": "line"})
    if missing == "a known model":
        other: Any = _OtherModel()
        run.session.model = other
    else:
        run.session.dataset = None
    refusal = "model: code export covers layer models and analytic surfaces"
    with pytest.raises(ValueError, match=f"^{re.escape(refusal)}$"):
        code(run, "numpy", 10)


# -- what a snippet leaves out -------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        ({"schedule": {"name": "step", "step_size": 5}}, "learning-rate schedule (step"),
        ({"clip_norm": 1.0}, "clip_norm 1.0"),
        ({"data": {"name": "moons", "validation_split": 0.25}}, "50 held-out validation rows"),
    ],
)
@pytest.mark.parametrize("language", ["numpy", "pytorch", "keras"])
def test_config_a_snippet_cannot_express_is_named(
    extra: dict[str, Any], named: str, language: str
) -> None:
    out = code(LiveRun.create({"preset": "moons-mlp", **extra}), language, 3)
    assert out["exact"] is False
    assert any(named in o for o in out["omits"])
    opening = out["code"].split("\nimport ")[0]
    assert "Left out" in opening and named in opening.replace("\n#     ", " ")
    ast.parse(out["code"])


def test_a_live_change_is_named_and_the_config_is_what_runs() -> None:
    run = LiveRun.create({"preset": "pass-fail"})
    run.step(5)
    run.set({"lr": 0.5})
    out = code(run, "numpy", 2000)
    assert out["exact"] is False
    assert out["omits"] == [
        '1 live change from the event log (at step 5: {"lr": 0.5}): the code runs the config '
        "as created."
    ]
    _, printed = run_snippet(out["code"])
    assert printed.splitlines()[:4] == CHAPTER_PRINTOUT  # lr 0.1, as configured


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        (2, '2 live changes from the event log (at step 1: {"lr": 0.5}; at step 2: {"lr": 0.25})'),
        (
            3,
            '3 live changes from the event log (at step 1: {"lr": 0.5}; at step 2: {"lr": 0.25}; '
            'at step 3: {"lr": 0.125})',
        ),
        # the first three are shown, the rest counted
        (
            4,
            '4 live changes from the event log (at step 1: {"lr": 0.5}; at step 2: {"lr": 0.25}; '
            'at step 3: {"lr": 0.125}; and 1 more)',
        ),
    ],
)
def test_live_changes_are_counted_and_the_first_three_shown(changes: int, named: str) -> None:
    run = LiveRun.create({"preset": "pass-fail"})
    for lr in (0.5, 0.25, 0.125, 0.0625)[:changes]:
        run.step(1)
        run.set({"lr": lr})
    assert code(run, "numpy", 10)["omits"] == [named + ": the code runs the config as created."]


def test_held_out_rows_are_named_with_the_split_and_the_rows_trained_on() -> None:
    # moons-mlp's 200 samples with a quarter held out: 50 validation rows, 150 trained on
    config = {"preset": "moons-mlp", "data": {"name": "moons", "validation_split": 0.25}}
    assert code(LiveRun.create(config), "numpy", 3)["omits"] == [
        "The 50 held-out validation rows (validation_split 0.25) and val_loss: the code trains "
        "on the 150 training rows, as gradscape does."
    ]


def test_standardized_data_is_embedded_as_the_server_holds_it() -> None:
    config = {"data": {"name": "line", "n_samples": 30, "standardize": True}, "seed": 3}
    _retraced(config, "numpy", 50)
    text = code(LiveRun.create(config), "numpy", 50)["code"]
    assert "X is standardised as gradscape holds it" in text


# -- the request ---------------------------------------------------------------------


def test_default_epochs_are_the_sessions_so_far() -> None:
    run = LiveRun.create(MOONS)
    assert code(run, "numpy")["epochs"] == 1
    run.step(7 * 3 + 2)
    assert code(run, "numpy")["epochs"] == 3
    assert code(run, "numpy", 5)["epochs"] == 5


@pytest.mark.parametrize("epochs", [0, -1, 100_001, True, 2.5])
def test_epochs_out_of_range_are_refused(epochs: Any) -> None:
    with pytest.raises(ValueError, match=r"^epochs: must be an integer in"):
        code(LiveRun.create({}), "numpy", epochs)


def test_the_most_epochs_a_snippet_may_train_are_accepted() -> None:
    run = LiveRun.create({"preset": "pass-fail"})
    assert code(run, "numpy", 100_000)["epochs"] == 100_000
    refusal = "epochs: must be an integer in [1, 100000], got 100001"
    with pytest.raises(ValueError, match=f"^{re.escape(refusal)}$"):
        code(run, "numpy", 100_001)


@pytest.mark.parametrize(
    ("epochs", "every"),
    [
        (1, 1),
        (4, 1),
        (5, 2),  # ceil(5 / 4)
        (1500, 375),  # epoch 1500 is not run, so the chapter's 500 does not fit: 1500 / 4
        (1501, 500),  # 0 / 500 / 1000 / 1500 all run: the chapter's
        (2000, 500),
        (2001, 1000),  # 500 x ceil(2001 / 2000)
        (100_000, 25_000),  # 500 x ceil(100000 / 2000) = 500 x 50
    ],
)
def test_the_loss_prints_every_500_epochs_or_four_times(epochs: int, every: int) -> None:
    got = print_every(epochs)
    assert got == every and type(got) is int


def test_a_single_layer_with_two_outputs_is_titled_so() -> None:
    config = {"data": {"name": "blobs", "classes": 2}, "model": {"hidden": []}}
    out = code(LiveRun.create({**config, "loss": "cross_entropy"}), "numpy", 1)
    assert (
        out["code"].splitlines()[0] == "# gradscape: a single layer of 2 outputs, in plain NumPy."
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("--odd name--", "odd_name"),  # "__odd_name__", its outer underscores stripped
        ("Xmas tree!", "Xmas_tree"),
        ("!!!", "run"),  # nothing left
    ],
)
def test_a_file_stem_keeps_letters_and_digits_joined_by_underscores(
    name: str, expected: str
) -> None:
    assert stem({}, name) == expected
    assert stem({"preset": name}, "neuron") == expected


def test_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^language: must be one of numpy, pytorch, keras"):
        code(LiveRun.create({}), "julia")


def test_data_too_big_to_embed_is_refused() -> None:
    run = LiveRun.create(MOONS, Budgets(max_response_floats=500))
    with pytest.raises(PayloadTooLargeError, match="max_response_floats=500"):
        code(run, "numpy")


@pytest.mark.parametrize(
    ("config", "language", "filename"),
    [
        ({"preset": "pass-fail"}, "numpy", "gradscape_pass_fail.py"),
        ({"preset": "moons-mlp"}, "pytorch", "gradscape_moons_mlp_pytorch.py"),
        ({"data": {"name": "moons"}, "model": {"hidden": [4, 3]}}, "numpy", "gradscape_mlp_4x3.py"),
        ({"data": {"name": "line"}}, "keras", "gradscape_neuron_keras.py"),
        ({"model": {"function": "beale"}}, "pytorch", "gradscape_beale_pytorch.py"),
    ],
)
def test_filename(config: dict[str, Any], language: str, filename: str) -> None:
    assert code(LiveRun.create(config), language, 1)["filename"] == filename


@pytest.mark.parametrize("language", ["numpy", "pytorch"])
@pytest.mark.parametrize("hidden", [[], [4]], ids=["neuron", "hidden"])
def test_sigmoid_output_with_mse_retraces_the_server(hidden: list[int], language: str) -> None:
    if language == "pytorch":
        require_torch()
    config = {
        "preset": "pass-fail",
        "loss": "mse",
        "model": {"hidden": hidden, "output": "sigmoid"},
    }
    _retraced(config, language, 300)
    text = code(LiveRun.create(config), language, 300)["code"]
    assert ("pred * (1 - pred)" in text) if language == "numpy" else ("nn.Sigmoid()" in text)


# -- the words and literals every snippet shares -------------------------------------


def test_one_epoch_of_the_full_batch_is_one_update() -> None:
    text = code(LiveRun.create({"preset": "pass-fail"}), "numpy", 1)["code"]
    assert text.splitlines()[:3] == [
        "# gradscape: preset pass-fail, a single neuron, in plain NumPy.",
        "# It trains the session's config for 1 epoch (1 update) from gradscape's start weights on",
        "# gradscape's data, so it retraces the server's steps.",
    ]


def _pass_fail_recipe() -> Recipe:
    return make_recipe(LiveRun.create({"preset": "pass-fail"}).session, 3)


_A22, _B23 = "a" * 22, "b" * 23


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        # "# Training data: 4 samples of [" is 31 characters, "] -> pass (0 or 1)" 18, and
        # two names of 22 + 23 joined by ", " 47: 96 in all, which fits
        (("a" * 22, "b" * 23), f"# Training data: 4 samples of [{_A22}, {_B23}] -> pass (0 or 1)"),
        # one more is 97: the features are counted instead
        (("a" * 23, "b" * 23), "# Training data: 4 samples of 2 features -> pass (0 or 1)"),
    ],
    ids=["96", "97"],
)  # fmt: skip
def test_the_data_comment_names_the_features_when_they_fit_96_characters(
    names: tuple[str, str], expected: str
) -> None:
    recipe = dataclasses.replace(_pass_fail_recipe(), feature_names=names)
    assert data_comment(recipe) == [expected]


def test_a_cross_entropy_recipe_without_a_class_count_has_two_classes() -> None:
    recipe = dataclasses.replace(_pass_fail_recipe(), loss="cross_entropy", n_classes=None)
    assert data_comment(recipe) == [
        "# Training data: 4 samples of [study, sleep] -> pass (class 0..1)"
    ]


@pytest.mark.parametrize("missing", ["X", "y"])
def test_a_recipe_without_both_x_and_y_has_no_data_lines(missing: str) -> None:
    recipe = dataclasses.replace(_pass_fail_recipe(), **{missing: None})
    assert data_lines(recipe, "np.array", "float") == []


def test_an_array_without_a_suffix_ends_at_its_bracket() -> None:
    assert array_lines(np.array([1.0, 2.0]), "x = ") == ["x = [1.0, 2.0]"]


@pytest.mark.parametrize("width", [96, 97])
def test_an_array_line_of_at_most_96_characters_is_not_wrapped(width: int) -> None:
    # the prefix, "[1.0, 2.0]" (10) and ")" (1): the prefix is width - 11 characters
    prefix = "a" * (width - 12) + "("
    lines = array_lines(np.array([1.0, 2.0]), prefix, ")")
    if width == 96:
        assert lines == [prefix + "[1.0, 2.0])"] and len(lines[0]) == 96
    else:
        assert lines == [prefix + "[", "    1.0, 2.0,", "])"]


@pytest.mark.parametrize(
    ("model", "formula"),
    [
        ({"function": "rosenbrock"}, "(a - x)^2 + b (y - x^2)^2"),
        ({"function": "beale"}, "sum_i (c_i - x + x y^i)^2"),
        ({"function": "himmelblau"}, "(x^2 + y - 11)^2 + (x + y^2 - 7)^2"),
        ({"function": "saddle", "scale": 0.5}, "scale (x^2 - y^2)"),
        (
            {"function": "quadratic", "condition": 30, "angle": 25},
            "0.5 p^T H p (condition 30, angle 25 degrees)",
        ),
        ({"function": "rastrigin", "A": 3}, "2 A + sum (p_i^2 - A cos(2 pi p_i))"),
    ],
)
@pytest.mark.parametrize("language", ["numpy", "pytorch"])
def test_a_surface_snippet_writes_its_formula(
    model: dict[str, Any], formula: str, language: str
) -> None:
    out = code(LiveRun.create({"preset": "rosenbrock", "model": model}), language, 1)
    assert f'    """The loss surface {formula}."""' in out["code"].splitlines()


class _ShiftedBeale(Beale):
    name = "shifted_beale"


class _TiltedQuadratic(Quadratic):
    name = "tilted_quadratic"


@pytest.mark.parametrize("surface", [_ShiftedBeale(), _TiltedQuadratic()], ids=repr)
def test_a_surface_the_export_does_not_know_is_refused_by_name(surface: Any) -> None:
    # a surface core may add later, even one built on a known one, has no formula here
    refusal = f"model.function: no code export for the {surface.name!r} surface"
    with pytest.raises(ValueError, match=f"^{re.escape(refusal)}$"):
        surface_text(surface)
