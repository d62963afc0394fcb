"""What leaves the server: compact JSON with no NaN in it."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from gradscape.service.jsonsafe import dumps, floats


def test_dumps_is_compact_json_bytes() -> None:
    assert dumps({"a": [1, 2.5], "b": None, "c": "x"}) == b'{"a":[1,2.5],"b":null,"c":"x"}'


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_dumps_refuses_a_float_json_cannot_hold(value: float) -> None:
    with pytest.raises(ValueError, match=re.escape("Out of range float values are not JSON")):
        dumps({"loss": [0.5, value]})


def test_floats_are_floats_even_from_integers_with_non_finite_ones_null() -> None:
    finite = floats(np.array([1, 2], dtype=np.int64))
    assert finite == [1.0, 2.0] and all(type(v) is float for v in finite)
    mixed = floats([[1, 2], [3, math.nan]])
    assert mixed == [[1.0, 2.0], [3.0, None]] and type(mixed[0][0]) is float
    assert dumps(floats(np.array([0, 1]))) == b"[0.0,1.0]"
