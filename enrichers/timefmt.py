"""Epoch seconds to the ISO-8601 UTC text written into enriched events (the shared formatter)."""

from __future__ import annotations

from sessionwatch.rules.instants import iso as isoformat

__all__ = ["isoformat"]
