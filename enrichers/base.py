"""The enricher extension point and the canonical event it sees."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class CanonicalEvent:
    """An event as a profile maps it: canonical values plus the untouched original document."""

    timestamp: float  # seconds since the epoch, UTC
    event_id: str
    profile: str
    action: str
    outcome: str
    session_id: str | None
    token_id: str | None
    actor: str | None
    source_ip: str | None
    device_id: str | None
    doc: Mapping[str, Any]

    @property
    def accepted(self) -> bool:
        return self.outcome != "failure"


@runtime_checkable
class Enricher(Protocol):
    """Computes threshold-free facts for one event from its session's state.

    ``state`` is this enricher's private, per-session dict: the engine creates it empty for a
    new session, keeps it between events of that session, and may evict or persist it (so it
    must hold JSON-serialisable values only). Return flat dotted fact names → values.
    """

    name: str

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]: ...
