"""What ``sessionwatch new`` starts a rule of a kind from: sample parameters and events.

Each kind's module declares its ``Sample`` with the event builders here. The events use the
generic input profile; the positive ones break the sample threshold exactly once, the negative ones
stay within it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sessionwatch.rules.instants import iso

START = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
M, H = 60, 3600
Event = dict[str, Any]


@dataclass(frozen=True)
class Sample:
    """What a scaffolded rule of one kind starts from."""

    summary: str
    params: Mapping[str, Any]
    positive: tuple[Event, ...]
    negative: tuple[Event, ...]
    expect: Mapping[str, str]
    compliance: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: {"nist-800-53": ("AC-12",)})
    attack: tuple[str, ...] = ("T1550.004",)


def _merge(target: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
    return target


def ts(seconds: float) -> str:
    """The instant ``seconds`` after the sample start, ISO-8601 with ``Z``."""
    return iso(START + timedelta(seconds=seconds))


def event(
    eid: str,
    seconds: float,
    action: str,
    *,
    session: str = "sw-1",
    user: str = "alice",
    ip: str = "198.51.100.10",
    **extra: Any,
) -> Event:
    """One generic-profile event ``seconds`` after the sample start."""
    doc: Event = {
        "@timestamp": ts(seconds),
        "event": {"id": eid, "dataset": "generic.app", "action": action, "outcome": "success"},
        "session": {"id": session},
        "user": {"name": user},
        "source": {"ip": ip},
        "url": {"path": "/login" if action == "login" else "/app"},
    }
    return _merge(doc, extra)


def token(tid: str, **fields: Any) -> dict[str, Any]:
    return {"token": {"id": tid, **fields}}
