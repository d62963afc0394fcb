"""service.code: the language it defaults to, and the numbers it embeds counted exactly."""

from __future__ import annotations

import re

import pytest

from gradscape.service.code import code
from gradscape.service.errors import PayloadTooLargeError
from gradscape.service.live import Budgets, LiveRun


def test_the_code_is_numpy_unless_asked_otherwise() -> None:
    out = code(LiveRun.create({"preset": "pass-fail"}))
    assert out["language"] == "numpy" and out["filename"] == "gradscape_pass_fail.py"


def test_the_numbers_embedded_are_the_data_and_the_start_weights() -> None:
    # the chapter's 4 students: X 4 x 2 = 8 numbers, y 4, and w1, w2, b: 15 in all
    config = {"preset": "pass-fail"}
    assert code(LiveRun.create(config, Budgets(max_response_floats=15)))["exact"] is True
    message = (
        "the code would embed 15 numbers (data and start weights), over max_response_floats=14"
    )
    with pytest.raises(PayloadTooLargeError, match=f"^{re.escape(message)}$"):
        code(LiveRun.create(config, Budgets(max_response_floats=14)))
