"""Epoch seconds to the ISO-8601 UTC text written into enriched events (the shared formatter).

Token and account times repeat on every event of their token or account, so the texts of recent
instants are kept (a bounded cache; the text is exactly the shared formatter's)."""

from __future__ import annotations

from sessionwatch.rules.instants import iso

_RECENT: dict[float, str] = {}
_KEEP = 65536


def isoformat(moment: float) -> str:
    """``iso(moment)``: ``2026-03-02T09:00:00.000Z``."""
    text = _RECENT.get(moment)
    if text is None:
        if len(_RECENT) >= _KEEP:
            _RECENT.clear()
        text = _RECENT[moment] = iso(moment)
    return text


__all__ = ["isoformat"]
