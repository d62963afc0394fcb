"""Suite-wide hooks: ``@pytest.mark.timing`` reruns a timing comparison once (tests/timing.py)."""

from tests.timing import pytest_pyfunc_call, pytest_terminal_summary

__all__ = ["pytest_pyfunc_call", "pytest_terminal_summary"]
