"""Suite-wide hooks: ``@pytest.mark.timing`` reruns a timing comparison once (tests/timing.py);
under mutmut's stats run every test gets a longer timeout."""

from __future__ import annotations

import os

import pytest

from tests.timing import pytest_pyfunc_call, pytest_terminal_summary

__all__ = ["pytest_collection_modifyitems", "pytest_pyfunc_call", "pytest_terminal_summary"]

#: mutmut's stats run (which tests call what) runs every test under its trampolines, two to
#: four times slower on two shared cores: there a test gets this long, not the mutants'
#: 60 s, since one slow test stops the whole package's run ("failed to collect stats").
STATS_TIMEOUT = 600


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("MUTANT_UNDER_TEST") == "stats":
        for item in items:
            item.add_marker(pytest.mark.timeout(STATS_TIMEOUT))
