"""The facts engine: NDJSON events in, enriched events out, bad lines to a dead letter.

Per-session state lives in memory, keyed by session id. Nothing is dropped: every input line
is either written enriched, passed through unchanged (no profile claims it), or dead-lettered
with its line number and reason; ``Counts`` proves ``read == enriched + passed + dead``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent, Enricher
from sessionwatch.enrichers.events import get_path, nest
from sessionwatch.enrichers.profiles import Profile, ProfileRegistry


class BadEvent(ValueError):
    """Why an input line cannot be enriched (becomes the dead-letter reason)."""


@dataclass(frozen=True)
class DeadLetter:
    line: int
    reason: str
    raw: str

    def to_json(self) -> str:
        return json.dumps({"line": self.line, "reason": self.reason, "raw": self.raw}, ensure_ascii=False)


@dataclass
class Counts:
    read: int = 0
    enriched: int = 0
    passed_through: int = 0
    dead_letter: int = 0

    @property
    def conserved(self) -> bool:
        return self.read == self.enriched + self.passed_through + self.dead_letter

    def summary(self) -> str:
        return (
            f"read={self.read} enriched={self.enriched} passed_through={self.passed_through} "
            f"dead_letter={self.dead_letter}"
        )


@dataclass
class Output:
    """One result per input line: a document to write, or a dead letter."""

    line: int
    doc: dict[str, Any] | None = None
    dead: DeadLetter | None = None
    enriched: bool = False


def parse_timestamp(value: Any) -> float:
    """``@timestamp`` as epoch seconds: ISO-8601 with an offset, or epoch milliseconds."""
    if isinstance(value, bool) or value is None:
        raise BadEvent("missing @timestamp")
    if isinstance(value, int | float):
        return float(value) / 1000.0
    if not isinstance(value, str):
        raise BadEvent(f"@timestamp has type {type(value).__name__}, expected a string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadEvent(f"@timestamp is not ISO-8601: {value[:64]!r}") from None
    if moment.tzinfo is None:
        raise BadEvent(f"@timestamp has no UTC offset: {value[:64]!r}")
    return moment.timestamp()


def _text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    raise BadEvent(f"{what} has type {type(value).__name__}, expected a string")


def _ip(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadEvent(f"source IP has type {type(value).__name__}, expected a string")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise BadEvent(f"invalid IP address {value[:64]!r}") from None


def canonicalize(doc: Mapping[str, Any], profile: Profile, raw: str) -> CanonicalEvent:
    event_id = _text(profile.value(doc, "event_id"), "event id")
    if event_id is None:
        event_id = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    return CanonicalEvent(
        timestamp=parse_timestamp(get_path(doc, "@timestamp")),
        event_id=event_id,
        profile=profile.name,
        action=profile.action(doc),
        outcome=profile.outcome(doc),
        session_id=_text(profile.value(doc, "session_id"), "session id"),
        token_id=_text(profile.value(doc, "token_id"), "token id"),
        actor=_text(profile.value(doc, "actor"), "actor"),
        source_ip=_ip(profile.value(doc, "source_ip")),
        device_id=_text(profile.value(doc, "device_id"), "device id"),
        doc=doc,
    )


def canonical_fields(event: CanonicalEvent) -> dict[str, Any]:
    return {
        "sessionwatch.event.id": event.event_id,
        "sessionwatch.event.profile": event.profile,
        "sessionwatch.event.action": event.action,
        "sessionwatch.event.outcome": event.outcome,
        "sessionwatch.event.accepted": event.accepted,
        "sessionwatch.session.id": event.session_id,
        "sessionwatch.token.id": event.token_id,
        "sessionwatch.actor.name": event.actor,
        "sessionwatch.source.ip": event.source_ip,
        "sessionwatch.device.id": event.device_id,
    }


@dataclass
class Engine:
    profiles: ProfileRegistry
    enrichers: list[Enricher]
    forced_profile: Profile | None = None
    counts: Counts = field(default_factory=Counts)
    _sessions: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def enrich_doc(self, doc: Mapping[str, Any], raw: str) -> dict[str, Any] | None:
        """The enriched document, or None when no profile claims it. Raises ``BadEvent``."""
        profile = self.forced_profile or self.profiles.for_event(doc)
        if profile is None:
            return None
        event = canonicalize(doc, profile, raw)
        facts = canonical_fields(event)
        if event.session_id is not None:
            states = self._sessions.setdefault(event.session_id, {})
            for enricher in self.enrichers:
                facts.update(enricher.facts(event, states.setdefault(enricher.name, {})))
        out = dict(doc)
        out["sessionwatch"] = nest(facts)["sessionwatch"]
        return out

    def process(self, lines: Iterable[bytes | str], first_line: int = 1) -> Iterator[Output]:
        for number, raw in enumerate(lines, start=first_line):
            if not raw.strip():
                continue  # blank lines carry no event and are not counted
            self.counts.read += 1
            if isinstance(raw, bytes):
                try:
                    decoded = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    text = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
                    yield self._dead(number, f"invalid UTF-8 at byte {exc.start}", text)
                    continue
            else:
                decoded = raw
            text = decoded.rstrip("\r\n")
            try:
                doc = json.loads(text)
                if not isinstance(doc, dict):
                    raise BadEvent(f"expected a JSON object, got {type(doc).__name__}")
                enriched = self.enrich_doc(doc, text)
            except json.JSONDecodeError as exc:
                yield self._dead(number, f"malformed JSON: {exc.msg} at column {exc.colno}", text)
                continue
            except (BadEvent, RecursionError) as exc:
                yield self._dead(number, str(exc) or type(exc).__name__, text)
                continue
            if enriched is None:
                self.counts.passed_through += 1
                yield Output(number, doc=doc)
            else:
                self.counts.enriched += 1
                yield Output(number, doc=enriched, enriched=True)

    def _dead(self, number: int, reason: str, text: str) -> Output:
        self.counts.dead_letter += 1
        return Output(number, dead=DeadLetter(number, reason, text))
