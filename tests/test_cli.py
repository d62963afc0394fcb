"""The command line: the chapter's printout and headless runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradscape.cli import main
from gradscape.service.code import code
from gradscape.service.live import LiveRun
from tests.helpers import run_snippet


def test_demo_prints_the_chapter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == [
        "epoch    0 loss 0.6330",
        "epoch  500 loss 0.1919",
        "epoch 1000 loss 0.1146",
        "epoch 1500 loss 0.0813",
    ]
    assert out[4].startswith("final weights: [1.402812   0.49471431] bias: -8.08415510")


def test_run_writes_json_and_csv(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    assert (
        main(["run", "--preset", "line", "--steps", "30", "--set", "lr=0.2", "--out", str(out)])
        == 0
    )
    data = json.loads(out.read_text())
    assert data["config"]["optimizer"]["lr"] == 0.2
    assert len(data["trajectory"]["step"]) == 31
    assert len(data["trajectory"]["params"][0]) == 2
    csv_out = tmp_path / "run.csv"
    assert main(["run", "--preset", "line", "--steps", "5", "--out", str(csv_out)]) == 0
    lines = csv_out.read_text().splitlines()
    assert len(lines) == 7 and lines[0].startswith("step,epoch,loss")


def test_run_diverged_writes_nulls_not_nan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run.json"
    assert (
        main(["run", "--preset", "line", "--set", "lr=1e6", "--steps", "100", "--out", str(out)])
        == 0
    )
    text = out.read_text()
    assert "NaN" not in text and "Infinity" not in text
    assert json.loads(text)["status"] == "diverged"
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith("recovery: The loss began to climb after step 0")
    assert "rewind to step 0 and lower lr to 0.49" in printed[-1]


def test_bad_input_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--set", "lr=-1", "--out", str(tmp_path / "x.json")]) == 2
    assert "optimizer.lr" in capsys.readouterr().err
    assert main(["run", "--preset", "nope", "--out", str(tmp_path / "x.json")]) == 2
    assert main(["run", "--out", str(tmp_path / "x.txt")]) == 2


def test_run_writes_a_self_contained_html_report(tmp_path: Path) -> None:
    out = tmp_path / "run.html"
    assert main(["run", "--preset", "line", "--steps", "40", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.count("Plotly.newPlot") == 3
    assert "<script src=" not in text  # plotly.js is inline: the file works offline
    assert "sits on the surface" in text  # two parameters: the path is exact


def test_code_prints_what_the_api_serves(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["code", "pass-fail"]) == 0
    printed = capsys.readouterr()
    same = code(LiveRun.create({"preset": "pass-fail"}), "numpy", 2000)
    assert printed.out == same["code"]
    assert printed.err.startswith("note: The loss is computed from the logits")
    _, ran = run_snippet(printed.out)
    assert ran.splitlines()[:2] == ["epoch    0 loss 0.6330", "epoch  500 loss 0.1919"]


def test_code_from_a_json_file_with_overrides(tmp_path: Path) -> None:
    config = tmp_path / "moons.json"
    config.write_text(json.dumps({"preset": "moons-mlp", "optimizer": {"name": "adam"}}))
    out = tmp_path / "moons_keras.py"
    args = ["code", str(config), "--language", "keras", "--epochs", "7", "--set", "lr=0.05"]
    assert main([*args, "--out", str(out)]) == 0
    text = out.read_text()
    assert "keras.optimizers.Adam(learning_rate=0.05," in text
    assert "model.fit(X, y, epochs=7, batch_size=32" in text
    inline = ["code", '{"data": {"name": "line"}}', "--epochs", "3", "--out", str(out)]
    assert main(inline) == 0 and "weights = np.array(" in out.read_text()


def test_code_bad_input_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["code", "no-such-preset"]) == 2
    assert "is not a preset (pass-fail," in capsys.readouterr().err
    assert main(["code", "rosenbrock", "--language", "keras"]) == 2
    assert "covers layer models" in capsys.readouterr().err
    assert main(["code", "[1, 2]"]) == 2  # not an object (and no such file)
    assert main(["code", "pass-fail", "--epochs", "0"]) == 2
    assert "epochs: must be an integer in [1, 100000]" in capsys.readouterr().err
