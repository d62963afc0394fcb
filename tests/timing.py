"""``@pytest.mark.timing``: a test that compares timings runs again once before it fails.

Such a test gates a ratio of two timings measured in the same run, with a generous
bound (never seconds against a constant). A machine busy for a moment can still lose
one comparison; losing it twice in a row is a failure. Only an ``AssertionError``
earns the second run; it reuses the test's fixtures, and the end of the run lists every
test that needed one, with its first failure (``tests/README.md`` lists the tests).
"""

from __future__ import annotations

from typing import Any

import pytest

#: ``(nodeid, first failure)`` of each timing test that needed its second run.
RERUNS: list[tuple[str, str]] = []


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Call a ``timing`` test's body, and once more if a comparison failed."""
    if pyfuncitem.get_closest_marker("timing") is None:
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    try:
        pyfuncitem.obj(**kwargs)
    except AssertionError as first:
        RERUNS.append((pyfuncitem.nodeid, str(first).splitlines()[0] if str(first) else "?"))
        pyfuncitem.obj(**kwargs)
    return True


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say which timing tests lost a first comparison (even when the second run passed)."""
    if RERUNS:
        terminalreporter.section("timing tests run twice")
        for nodeid, first in RERUNS:
            terminalreporter.line(f"{nodeid}: first run failed: {first}")
