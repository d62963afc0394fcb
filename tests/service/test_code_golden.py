"""The exported programs, word for word, against reviewed copies in ``golden/``.

``test_code.py`` runs the programs and checks what they compute against the server's own
steps; this checks their text too (comments, titles, notes: what a student reads), and
runs each NumPy and PyTorch copy that claims to be exact to see it retrace the server.
After a deliberate change to the generator, rewrite the copies and review the diff:
``GRADSCAPE_UPDATE_GOLDEN=1 pytest tests/service/test_code_golden.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from gradscape.service.code import code
from gradscape.service.live import LiveRun
from tests.helpers import assert_retraces, require_torch, run_snippet

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GRADSCAPE_UPDATE_GOLDEN") == "1"

CASES: dict[str, tuple[dict[str, Any], int, tuple[str, ...]]] = {
    "pass-fail": ({"preset": "pass-fail"}, 3, ("numpy", "pytorch", "keras")),
    # 1500 = 3 x the chapter's 500: still printed every 500 epochs
    "pass-fail-1500": ({"preset": "pass-fail"}, 1500, ("numpy",)),
    # the chapter's single neuron in mini-batches: its own data_loss() for the printout
    "minibatch-noise": ({"preset": "minibatch-noise", "data": {"n_samples": 12}}, 2, ("numpy",)),
    "moons-standardized": (
        {"preset": "moons-mlp", "data": {"n_samples": 40, "standardize": True}}, 1, ("numpy",)
    ),
    "moons-adamw-schedule": (
        {"preset": "moons-mlp", "data": {"n_samples": 40},
         "optimizer": {"name": "adamw", "lr": 0.01, "weight_decay": 0.05},
         "schedule": {"name": "step", "step_size": 5, "gamma": 0.5}},
        2, ("numpy", "pytorch", "keras"),
    ),
    "line-sgd-dampening": (
        {"preset": "line", "optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9,
                                         "dampening": 0.1, "weight_decay": 0.01}},
        2, ("numpy", "pytorch", "keras"),
    ),
    "sine-leaky-adam-clip": (
        {"data": {"name": "sine", "n_samples": 30}, "model": {"hidden": [4], "activation":
         "leaky_relu"}, "optimizer": {"name": "adam", "lr": 0.01, "amsgrad": True},
         "clip_norm": 1.0, "batch_size": 8},
        2, ("numpy", "pytorch", "keras"),
    ),
    "blobs-rmsprop": (
        {"data": {"name": "blobs", "n_samples": 30, "classes": 3}, "model": {"hidden": [3]},
         "loss": "cross_entropy", "optimizer": {"name": "rmsprop", "lr": 0.01, "momentum": 0.5,
                                                "centered": True}},
        2, ("numpy", "pytorch", "keras"),
    ),
    "himmelblau": ({"preset": "rosenbrock", "model": {"function": "himmelblau"}}, 5,
                   ("numpy", "pytorch")),
    "saddle-adagrad": ({"preset": "rosenbrock", "model": {"function": "saddle", "scale": 0.5},
                        "optimizer": {"name": "adagrad", "lr": 0.05, "lr_decay": 0.001}}, 5,
                       ("numpy", "pytorch")),
}  # fmt: skip
PAIRS = [(case, lang) for case, (_, _, langs) in CASES.items() for lang in langs]


@pytest.mark.parametrize(("case", "language"), PAIRS)
def test_the_exported_program_is_its_reviewed_copy(case: str, language: str) -> None:
    config, epochs, _ = CASES[case]
    run = LiveRun.create(config)
    out = code(run, language, epochs)
    text_file = GOLDEN / f"{case}.{language}.py.txt"
    meta_file = GOLDEN / f"{case}.{language}.json"
    meta = {k: v for k, v in out.items() if k != "code"}
    if UPDATE:
        text_file.write_text(out["code"], encoding="utf-8")
        meta_file.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    assert out["code"] == text_file.read_text(encoding="utf-8")
    assert meta == json.loads(meta_file.read_text(encoding="utf-8"))
    if language == "keras" or not out["exact"]:
        return
    if language == "pytorch":
        require_torch()
    namespace, _ = run_snippet(out["code"])
    steps = run.steps_for(None, epochs)
    run.step(steps, evaluate="none")
    assert_retraces(run.session, namespace, steps // epochs)
