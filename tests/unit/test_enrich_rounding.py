"""The facts' fast rounding gives exactly what ``round`` gives: the same float, the same type,
the sign of zero, NaN and infinity, on the values the facts take and on arbitrary bit patterns."""

from __future__ import annotations

import math
import random
import struct

import pytest

from sessionwatch.enrichers.rounding import round3, round4


def _values() -> list[float]:
    rng = random.Random(15)
    values: list[float] = [0.0, -0.0, 1e-4, -1e-4, 5e-4, -5e-4, 0.0015, 0.00015, 0.1 + 0.2, 4e9 + 5e-4]
    values += [math.nan, math.inf, -math.inf, 1e300, -1e300, 4e12, 2.0**53, 5e-324]
    for _ in range(30_000):
        later = rng.randint(1_700_000_000_000, 1_800_000_000_000) / 1000  # millisecond instants
        earlier = later - rng.randint(0, 10**9) / 1000
        k = rng.randint(-(10**9), 10**9)
        values += [later - earlier, earlier - later, (later - earlier) / 86400.0]
        values += [(k + 0.5) / 1000, (k + 0.5) / 10000, k / 1000 + 1e-9, rng.uniform(-1e6, 1e6)]
        values.append(struct.unpack("d", rng.randbytes(8))[0])
    return values


@pytest.mark.parametrize(("fast", "digits"), [(round3, 3), (round4, 4)])
def test_fast_rounding_is_round(fast: object, digits: int) -> None:
    assert callable(fast)
    for value in _values():
        got, expected = fast(value), round(value, digits)
        assert type(got) is type(expected), value
        assert repr(got) == repr(expected), value
    assert type(fast(7)) is int  # an int stays an int, as with ``round``
    assert fast(7) == 7
