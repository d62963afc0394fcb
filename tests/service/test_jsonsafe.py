"""What leaves the server: compact JSON with no NaN in it."""

from __future__ import annotations

import math
import re

import pytest

from gradscape.service.jsonsafe import dumps


def test_dumps_is_compact_json_bytes() -> None:
    assert dumps({"a": [1, 2.5], "b": None, "c": "x"}) == b'{"a":[1,2.5],"b":null,"c":"x"}'


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_dumps_refuses_a_float_json_cannot_hold(value: float) -> None:
    with pytest.raises(ValueError, match=re.escape("Out of range float values are not JSON")):
        dumps({"loss": [0.5, value]})
