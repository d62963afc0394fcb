"""No silent skips of the references: with ``GRADSCAPE_TORCH=required`` a torch test that
would skip fails (issue 16, item 3)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_pytest

HIDDEN_TORCH_TEST = """
import sys

sys.modules["torch"] = None  # torch is not installed, as far as this run can tell

from tests.helpers import require_torch


def test_against_torch():
    require_torch()
"""


def _run_without_torch(tmp_path: Path, required: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (tmp_path / "test_hidden.py").write_text(HIDDEN_TORCH_TEST, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "GRADSCAPE_TORCH"}
    if required:
        env["GRADSCAPE_TORCH"] = "required"
    return run_pytest(tmp_path, "test_hidden.py", "-rs", env=env)


def test_without_torch_a_reference_test_skips_and_says_why(tmp_path: Path) -> None:
    run = _run_without_torch(tmp_path, required=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 skipped" in run.stdout and "torch reference skipped" in run.stdout


def test_with_torch_required_a_reference_test_that_would_skip_fails(tmp_path: Path) -> None:
    run = _run_without_torch(tmp_path, required=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 failed" in run.stdout
    assert "GRADSCAPE_TORCH=required but torch does not import" in run.stdout


def test_every_torch_test_goes_through_require_torch() -> None:
    escape = re.compile(r"importorskip\(\s*[\"']torch|find_spec\(\s*[\"']torch|skipif\(.*torch")
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if path.name != Path(__file__).name
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if escape.search(line)
    ]
    assert offenders == [], "use tests.helpers.require_torch(), which GRADSCAPE_TORCH obeys"


def test_ci_requires_torch_and_cannot_shrug_off_its_install() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "export GRADSCAPE_TORCH=required" in ci
    install = next(line for line in ci.splitlines() if "pip install" in line and "torch" in line)
    assert "torch==2.13.0" in install and not install.rstrip().endswith("\\")
    assert "||" not in install


@pytest.mark.skipif(
    os.environ.get("GRADSCAPE_TORCH") != "required", reason="only where torch is required"
)
def test_where_torch_is_required_it_is_the_pinned_version() -> None:
    import torch

    pins = (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
    assert f"torch=={torch.__version__.split('+')[0]}" in pins
