"""Durations written as ``90s``, ``15m``, ``12h``, ``30d`` (one unit per value)."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The rule schema's pattern: at most 999999999s, 9999999m, 999999h or 99999d (273 years), so a
# window subtracted from any allowed time (1970 to 2999) stays inside the calendar.
PATTERN = r"^([1-9][0-9]{0,8}s|[1-9][0-9]{0,6}m|[1-9][0-9]{0,5}h|[1-9][0-9]{0,4}d)$"
_RE = re.compile(PATTERN.removeprefix("^").removesuffix("$"), re.ASCII)


def parse_duration(text: str) -> int:
    """Return the number of seconds in ``text``; raise ``ValueError`` when it is not a duration
    (the whole string must match: no trailing newline, at most 99999d)."""
    if not isinstance(text, str) or not _RE.fullmatch(text):
        raise ValueError(f"not a duration: {str(text)[:40]!r} (expected e.g. 15m, 12h, 30d; at most 99999d)")
    return int(text[:-1]) * _UNITS[text[-1]]


def format_duration(seconds: int) -> str:
    """The shortest exact spelling of ``seconds`` (``900`` → ``15m``)."""
    for unit in ("d", "h", "m"):
        size = _UNITS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
