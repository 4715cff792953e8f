"""``round(x, 3)`` and ``round(x, 4)`` for the facts, at half the cost for the usual value.

``round(x, n)`` finds the correctly rounded decimal through the general float-to-text routine
(about 2,500 machine instructions). For a float whose ``x * 10**n`` lies within a quarter of a
non-zero integer ``k`` (every gap between two millisecond timestamps), the decimal is ``k /
10**n`` exactly: the product's own rounding error is below 2.5e-4 while ``|x * 10**n| < 4e12``,
so ``k`` is the unique nearest integer, and ``k / 10**n`` (integer division, correctly rounded)
is the float ``round`` returns. Anything else (zero, whose sign ``round`` keeps; NaN, infinity,
large values, an ``int``, a value near a half) goes to ``round`` itself.
"""

from __future__ import annotations

from collections.abc import Callable


def _rounder(digits: int) -> Callable[[float], float]:
    """``round(x, digits)``, with the shortcut above."""
    divisor: int = 10**digits
    scale = float(divisor)

    def rounded(x: float) -> float:
        if type(x) is float:
            y = x * scale
            if -4e12 < y < 4e12:
                k = round(y)
                if k and -0.25 < y - k < 0.25:
                    return k / divisor
        return round(x, digits)

    return rounded


round3 = _rounder(3)  # ``round(x, 3)``
round4 = _rounder(4)  # ``round(x, 4)``
