"""Instants and windows: the runner's view of time (injectable for tests and backfills)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sessionwatch.rules.instants import iso as iso  # re-exported: the runner's formatter
from sessionwatch.rules.instants import parse_instant

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Wall-clock time, truncated to milliseconds (what Elasticsearch dates keep)."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def parse_iso(text: str) -> datetime:
    """An ISO-8601 instant with an explicit offset, in UTC; ``ValueError`` otherwise."""
    return parse_instant(text).astimezone(UTC)


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)
