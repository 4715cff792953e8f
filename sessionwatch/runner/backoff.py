"""The runner's name for the one retry policy (``sessionwatch.es.Backoff``)."""

from __future__ import annotations

from sessionwatch.es import Backoff

__all__ = ["Backoff"]
