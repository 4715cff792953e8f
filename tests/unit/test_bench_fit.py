"""``bench.scale_slope.fit``: the least-squares line that splits run times into a fixed cost
and a cost per event."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # bench/ is not installed; appended so the installed package wins

from bench.scale_slope import fit  # noqa: E402


def test_points_on_a_line_give_that_line() -> None:
    fixed, per_event = fit(
        [(20_000, 0.305 + 20_000 * 42e-6), (50_000, 0.305 + 50_000 * 42e-6), (100_000, 4.505)]
    )
    assert fixed == pytest.approx(0.305)
    assert per_event == pytest.approx(42e-6)


def test_scattered_points_give_the_least_squares_line() -> None:
    # y = 1 + 2x with residuals +1, -2, +1 (they sum to zero and do not correlate with x)
    fixed, per_event = fit([(0, 2.0), (1, 1.0), (2, 6.0)])
    assert per_event == pytest.approx(2.0)
    assert fixed == pytest.approx(1.0)
