"""Durations written as ``90s``, ``15m``, ``12h``, ``30d`` (one unit per value)."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
PATTERN = r"^[1-9][0-9]{0,8}(s|m|h|d)$"
_RE = re.compile(PATTERN)


def parse_duration(text: str) -> int:
    """Return the number of seconds in ``text``; raise ``ValueError`` when it is not a duration."""
    if not _RE.match(text):
        raise ValueError(f"not a duration: {text!r} (expected e.g. 15m, 12h, 30d)")
    return int(text[:-1]) * _UNITS[text[-1]]


def format_duration(seconds: int) -> str:
    """The shortest exact spelling of ``seconds`` (``900`` → ``15m``)."""
    for unit in ("d", "h", "m"):
        size = _UNITS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
