"""ISO-8601 instants: the one formatter and the one parser every layer uses."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime | float) -> str:
    """A UTC instant with milliseconds and ``Z`` (``2026-03-02T09:00:00.000Z``), from a datetime
    or epoch seconds: what Elasticsearch dates keep, and what events and alerts carry."""
    utc = moment.astimezone(UTC) if isinstance(moment, datetime) else datetime.fromtimestamp(moment, UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant with an explicit offset (``Z`` or ``±hh:mm``); ``ValueError`` otherwise."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"time without offset: {text!r}")
    return value
