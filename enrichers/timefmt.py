"""Epoch seconds to the ISO-8601 UTC text written into enriched events (the shared formatter).

Token and account times repeat on every event of their token or account, so the texts of recent
instants are kept (a bounded cache; the text is exactly the shared formatter's)."""

from __future__ import annotations

import re

from sessionwatch.rules.instants import iso

_RECENT: dict[float, str] = {}
_KEEP = 65536


# the form ``iso`` writes: a text of this form read as epoch seconds below 2**32 (year 2106) is
# what ``iso`` gives back for them (a float there is within 0.24 µs of the exact instant, and
# ``iso`` rounds to the microsecond, then cuts to the millisecond)
_ISO_FORM = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", re.ASCII).fullmatch
_EXACT_BELOW = 2.0**32


# the last text found to have that form elsewhere (admission checks every ``@timestamp``): kept
# alive here, so ``is`` compares with that very string and a pattern match per event is spared
_KNOWN_FORM = [""]


def has_iso_form(text: str) -> None:
    """Note that ``text`` is known to have the form ``iso`` writes (``_ISO_FORM`` matches it)."""
    _KNOWN_FORM[0] = text


def remember(moment: float, text: str) -> None:
    """Note that ``text`` (an event's own ``@timestamp``, read as ``moment``) is ``iso(moment)``
    when it has the form ``iso`` writes, so that formatting ``moment`` later costs a lookup."""
    known = text is _KNOWN_FORM[0] or (len(text) == 24 and _ISO_FORM(text) is not None)
    if moment < _EXACT_BELOW and known:
        if len(_RECENT) >= _KEEP:
            _RECENT.clear()
        _RECENT[moment] = text


def isoformat(moment: float) -> str:
    """``iso(moment)``: ``2026-03-02T09:00:00.000Z``."""
    text = _RECENT.get(moment)
    if text is None:
        if len(_RECENT) >= _KEEP:
            _RECENT.clear()
        text = _RECENT[moment] = iso(moment)
    return text


__all__ = ["has_iso_form", "isoformat", "remember"]
