"""Epoch seconds to the ISO-8601 UTC text written into enriched events."""

from __future__ import annotations

from datetime import UTC, datetime


def isoformat(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
