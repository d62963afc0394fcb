"""tools/mutate.py's arithmetic and its reading of tests/MUTANTS.md (``make mutate``)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import tools.mutate
from tools.mutate import FLOORS, _env, below_floor, equivalents, stage, wilson


def test_the_wilson_interval_matches_its_formula_worked_by_hand() -> None:
    # 8 of 10 at z = 1.96: centre (0.8 + 1.9208/10) / 1.38416 = 0.71675, half-width
    # 1.96 sqrt(0.016 + 0.009604) / 1.38416 = 0.22657 (Wilson 1927; Agresti-Coull 1998)
    lo, hi = wilson(8, 10)
    assert lo == pytest.approx(0.49016, abs=1e-5) and hi == pytest.approx(0.94331, abs=1e-5)
    lo, hi = wilson(491, 491)  # all killed: the upper end is 1, the lower end below it
    assert hi == pytest.approx(1.0) and lo == pytest.approx(0.99224, abs=1e-5)


def test_the_equivalent_mutants_are_read_from_their_section_only() -> None:
    listed = equivalents()
    assert "gradscape.core.data.x__fraction__mutmut_5" in listed
    assert "gradscape.service.codegen.numpy_code.x__plain_sgd__mutmut_14" in listed
    # nor a survivor still alive, listed in its own section after this one
    assert "gradscape.landscape.evaluate.x__mlp_plan__mutmut_17" not in listed
    # a name quoted elsewhere in the file (its example of how mutants are named) is not
    assert "gradscape.core.optim.x__lr__mutmut_3" not in listed


def test_the_gate_fails_a_package_under_its_floor_or_unmeasured() -> None:
    assert FLOORS == {"core": 0.85, "landscape": 0.85, "service": 0.75}  # issue 16's floors
    assert below_floor({"core": 0.85, "landscape": 1.0, "service": 0.75}) == []
    assert below_floor({"core": 0.849, "service": 0.7, "landscape": math.nan}) == [
        "core",
        "service",
        "landscape",
    ]


def test_a_fresh_stage_has_every_directory_its_pythonpath_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A full run (make mutate) starts mutmut on a fresh stage: a PYTHONPATH entry missing
    # when the interpreter starts stays missing for it, and mutmut's stats run failed with
    # "No module named 'tests'" before it had checked a mutant.
    monkeypatch.setattr(tools.mutate, "STAGES", tmp_path)
    where = stage("landscape", fresh=True)
    entries = _env(where)["PYTHONPATH"].split(os.pathsep)
    assert entries and all(Path(e).is_dir() for e in entries)


def test_a_function_whose_source_changed_has_every_mutant_rerun_and_its_old_verdicts_dropped(
    tmp_path: Path,
) -> None:
    from tools.mutate import changed_functions, hashes, merged, rerun_names

    meta = tmp_path / "mutants" / "gradscape" / "core" / "optim.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text('{"hash_by_function_name": {"x__lr": "aa", "xǁSGDǁstep": "bb"}}')
    now = hashes(tmp_path, "core")
    assert now == {"gradscape.core.optim.x__lr": "aa", "gradscape.core.optim.xǁSGDǁstep": "bb"}
    # the last run saw x__lr with another source, and no SGD.step at all
    changed = changed_functions({"gradscape.core.optim.x__lr": "00"}, now)
    assert changed == set(now)
    assert changed_functions(None, now) == set()  # a run that recorded no hashes
    assert changed_functions(now, now) == set()
    lr, step = "gradscape.core.optim.x__lr__mutmut_", "gradscape.core.optim.xǁSGDǁstep__mutmut_"
    old = {lr + "1": "killed", lr + "2": "survived", lr + "3": "killed", step + "1": "timeout"}
    names = [lr + "1", lr + "2", step + "1", step + "2"]  # lr's 3rd mutant is gone
    # unchanged: the survivor and the timeout only; x__lr changed: all of its mutants
    assert rerun_names(names, old, set(), set()) == [lr + "2", step + "1"]
    assert rerun_names(names, old, {lr + "1"}, set()) == [lr + "1", lr + "2", step + "1"]
    assert rerun_names(names, old, set(), {"gradscape.core.optim.x__lr"}) == [
        lr + "1",
        lr + "2",
        step + "1",
    ]
    # merged: the rerun's verdicts win; a changed function keeps only what was rerun;
    # a mutant that no longer exists is dropped
    assert merged(old, {lr + "2": "killed"}, set(names), set()) == {
        lr + "1": "killed",
        lr + "2": "killed",
        step + "1": "timeout",
    }
    assert merged(old, {lr + "2": "killed"}, set(names), {"gradscape.core.optim.x__lr"}) == {
        lr + "2": "killed",
        step + "1": "timeout",
    }


def test_under_mutmuts_stats_run_every_test_gets_the_longer_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.conftest import STATS_TIMEOUT, pytest_collection_modifyitems

    class Item:
        def __init__(self) -> None:
            self.marks: list[pytest.Mark] = []

        def add_marker(self, mark: pytest.MarkDecorator) -> None:
            self.marks.append(mark.mark)

    items = [Item(), Item()]
    monkeypatch.setenv("MUTANT_UNDER_TEST", "gradscape.core.optim.x__lr__mutmut_1")
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [i.marks for i in items] == [[], []]  # a mutant keeps the 60 s
    monkeypatch.setenv("MUTANT_UNDER_TEST", "stats")
    pytest_collection_modifyitems(items)  # type: ignore[arg-type]
    assert [[(m.name, m.args) for m in i.marks] for i in items] == [[("timeout", (600,))]] * 2
    assert STATS_TIMEOUT == 600
