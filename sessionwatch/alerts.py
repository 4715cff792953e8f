"""ECS alert documents (the format DESIGN.md fixes) built from search results."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sessionwatch.enrichers.events import get_path
from sessionwatch.rules.kinds import Kind
from sessionwatch.rules.model import Rule

RULESET = "sessionwatch"

# The facts that explain each kind's verdict, copied into the alert as evidence.
EVIDENCE_FACTS: Mapping[Kind, tuple[str, ...]] = {
    Kind.SESSION_IDLE_TIMEOUT: (
        "sessionwatch.session.idle_seconds",
        "sessionwatch.session.age_seconds",
        "sessionwatch.session.start",
    ),
}


def alert_id(rule: Rule, *parts: str) -> str:
    """Deterministic alert id: the same finding always gets the same id."""
    digest = hashlib.sha256("\x1f".join((str(rule.id), *parts)).encode("utf-8")).hexdigest()
    return digest[:40]


def alert_from_hit(rule: Rule, hit: Mapping[str, Any]) -> dict[str, Any]:
    """One alert for one offending event."""
    source = hit["_source"]
    session_id = get_path(source, "sessionwatch.session.id")
    event_id = get_path(source, "sessionwatch.event.id") or hit["_id"]
    user = get_path(source, "user.name") or get_path(source, "sessionwatch.actor.name")
    ip = get_path(source, "source.ip") or get_path(source, "sessionwatch.source.ip")
    facts = {name: get_path(source, name) for name in EVIDENCE_FACTS.get(rule.kind, ())}
    alert: dict[str, Any] = {
        "@timestamp": get_path(source, "@timestamp"),
        "event": {
            "kind": "alert",
            "severity": rule.severity.score,
            "id": alert_id(rule, str(session_id), str(event_id)),
        },
        "rule": {
            "id": str(rule.id),
            "name": rule.name,
            "description": rule.title,
            "category": rule.kind.value,
            "ruleset": RULESET,
            "version": str(rule.version),
        },
        "message": f"{rule.title}: session {session_id}" + (f" of {user}" if user else ""),
        "threat": {
            "framework": "MITRE ATT&CK",
            "technique": [{"id": technique} for technique in rule.attack],
        },
        "sessionwatch": {
            "session": {"id": session_id},
            "evidence": {"event_ids": [event_id], "facts": {k: v for k, v in facts.items() if v is not None}},
        },
    }
    if user:
        alert["user"] = {"name": user}
    if ip:
        alert["source"] = {"ip": ip}
    return alert


def alerts_from_response(rule: Rule, response: Mapping[str, Any]) -> list[dict[str, Any]]:
    hits = response.get("hits", {}).get("hits", [])
    return [alert_from_hit(rule, hit) for hit in hits]


def alert_key(alert: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(session, first evidence event, user): what expectations in rule tests name."""
    event_ids = get_path(alert, "sessionwatch.evidence.event_ids") or [None]
    return (get_path(alert, "sessionwatch.session.id"), event_ids[0], get_path(alert, "user.name"))
