"""``@pytest.mark.timing`` reruns a failed timing comparison once, and only that; the
timing tests are the ones tests/README.md lists (issue 16, item 4)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import ROOT, run_pytest

FLAKY = """
import pytest

calls = {"once": 0, "always": 0, "plain": 0}


@pytest.mark.timing
def test_loses_once():
    calls["once"] += 1
    assert calls["once"] > 1, "the machine was busy"


@pytest.mark.timing
def test_loses_twice():
    calls["always"] += 1
    assert False, f"slow on run {calls['always']}"


def test_not_a_timing_test():
    calls["plain"] += 1
    assert calls["plain"] > 1, "no second run"


@pytest.mark.timing
def test_an_error_is_not_a_lost_comparison():
    raise RuntimeError("broken")
"""


def test_a_timing_test_runs_again_once_and_only_a_lost_comparison_does(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\nmarkers =\n    timing: compares timings\n", encoding="utf-8"
    )
    (tmp_path / "conftest.py").write_text(
        "from tests.timing import pytest_pyfunc_call, pytest_terminal_summary\n", encoding="utf-8"
    )
    (tmp_path / "test_flaky.py").write_text(FLAKY, encoding="utf-8")
    run = run_pytest(tmp_path, "test_flaky.py", "-rA")
    out = run.stdout
    assert run.returncode == 1, out + run.stderr
    assert "PASSED test_flaky.py::test_loses_once" in out
    assert "FAILED test_flaky.py::test_loses_twice - AssertionError: slow on run 2" in out
    assert "FAILED test_flaky.py::test_not_a_timing_test" in out
    assert "FAILED test_flaky.py::test_an_error_is_not_a_lost_comparison - RuntimeError" in out
    assert "timing tests run twice" in out
    assert "test_flaky.py::test_loses_once: first run failed: the machine was busy" in out
    assert "test_flaky.py::test_loses_twice: first run failed: slow on run 1" in out


#: ``@pytest.mark.timing``, any further decorator lines, then the test's name.
MARKED = re.compile(r"^@pytest\.mark\.timing\n(?:(?:@|\s|\)).*\n)*?def (test_\w+)", re.M)


def _marked() -> set[str]:
    """``path::test_name`` of every test marked ``timing`` in the suite."""
    found = set()
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8")
        for m in re.finditer(
            r"^@pytest\.mark\.timing\n(?:(?:@|\s|\)).*\n)*?def (test_\w+)", text, re.M
        ):
            found.add(f"{path.relative_to(ROOT).as_posix()}::{m.group(1)}")
    return found


def test_tests_readme_lists_every_timing_test() -> None:
    readme = (ROOT / "tests" / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Timing tests", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(tests/[\w/]+\.py::test_\w+)`", section))
    assert listed == _marked()
    assert len(listed) >= 9
