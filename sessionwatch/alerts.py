"""ECS alert documents (the format docs/architecture.md fixes) built from search results.

Kinds come in four shapes (``SHAPES``): one alert per offending event (search hits); one alert
per session or per token, naming its first offending event (a composite aggregation with
``top_hits``); and
one alert per account over a per-entity threshold (composite + ``cardinality``, the threshold
checked here, without a script, the way a Watcher ``array_compare`` would).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sessionwatch.enrichers.events import get_path
from sessionwatch.rules.alert_shapes import EVIDENCE_FACTS, SHAPES, THRESHOLDS, Shape
from sessionwatch.rules.model import Rule

RULESET = "sessionwatch"
GROUPS_AGG = "groups"


def alert_id(rule: Rule, *parts: str) -> str:
    """Deterministic alert id: the same finding always gets the same id."""
    digest = hashlib.sha256("\x1f".join((str(rule.id), *parts)).encode("utf-8")).hexdigest()
    return digest[:40]


def _alert(
    rule: Rule,
    source: Mapping[str, Any],
    *,
    alert_key: str,
    session_id: Any,
    event_ids: list[Any],
    extra: Mapping[str, Any] | None = None,
    account: str | None = None,
) -> dict[str, Any]:
    user = account or get_path(source, "user.name") or get_path(source, "sessionwatch.actor.name")
    ip = get_path(source, "source.ip") or get_path(source, "sessionwatch.source.ip")
    facts = {name: get_path(source, name) for name in EVIDENCE_FACTS.get(rule.kind, ())}
    evidence: dict[str, Any] = {
        "event_ids": event_ids,
        "facts": {k: v for k, v in facts.items() if v is not None},
    }
    evidence.update(extra or {})
    # an alert about an account, or about an event with no session (KindSpec.session_optional),
    # names the account; the watch's alert body words it the same way (renderer/watch_alert.py)
    by_session = session_id is not None and not account
    subject = f"session {session_id}" if by_session else f"account {account or user}"
    alert: dict[str, Any] = {
        "@timestamp": get_path(source, "@timestamp"),
        "event": {"kind": "alert", "severity": rule.severity.score, "id": alert_key},
        "rule": {
            "id": str(rule.id),
            "name": rule.name,
            "description": rule.title,
            "category": rule.kind.value,
            "ruleset": RULESET,
            "version": str(rule.version),
        },
        "message": f"{rule.title}: {subject}" + (f" of {user}" if user and by_session else ""),
        "threat": {
            "framework": "MITRE ATT&CK",
            "technique": [{"id": technique} for technique in rule.attack],
        },
        "sessionwatch": {"evidence": evidence},
    }
    if session_id is not None:
        alert["sessionwatch"]["session"] = {"id": session_id}
    if user:
        alert["user"] = {"name": user}
    if ip:
        alert["source"] = {"ip": ip}
    return alert


def alert_from_hit(rule: Rule, hit: Mapping[str, Any]) -> dict[str, Any]:
    """One alert for one offending event."""
    source = hit["_source"]
    session_id = get_path(source, "sessionwatch.session.id")
    event_id = get_path(source, "sessionwatch.event.id") or hit["_id"]
    key = alert_id(rule, str(session_id), str(event_id))
    return _alert(rule, source, alert_key=key, session_id=session_id, event_ids=[event_id])


def _metrics(bucket: Mapping[str, Any]) -> dict[str, Any]:
    """Single-value metrics (cardinality) and key lists (terms) of a bucket, as evidence counts."""
    out: dict[str, Any] = {"events": bucket.get("doc_count")}
    for name, value in sorted(bucket.items()):
        if isinstance(value, Mapping) and "value" in value:
            out[name] = value["value"]
        elif isinstance(value, Mapping) and "buckets" in value:
            out[name] = [b["key"] for b in value["buckets"]]
    return out


def over_threshold(rule: Rule, bucket: Mapping[str, Any]) -> bool:
    """Whether an entity bucket trips the rule (always, for kinds without a per-entity threshold)."""
    threshold = THRESHOLDS.get(rule.kind)
    if threshold is None:
        return True
    value = get_path(bucket, f"{threshold.metric}.value")
    return value is not None and value > threshold.limit(rule.params)


def alert_from_bucket(rule: Rule, bucket: Mapping[str, Any]) -> dict[str, Any]:
    """One alert for one entity bucket; its id covers the rule and the bucket's whole composite
    key (the entity, and the session or period where the kind groups by one), never the window
    searched: the same finding gets the same id from any window that sees it."""
    shape = SHAPES[rule.kind]
    entity = bucket["key"]["entity"]
    first = bucket["first"]["hits"]["hits"][0]
    source = first["_source"]
    event_id = get_path(source, "sessionwatch.event.id") or first["_id"]
    session_id = entity if shape is Shape.SESSIONS else get_path(source, "sessionwatch.session.id")
    if rule.kind in THRESHOLDS:
        session_id = None  # an alert about many sessions of one account names none of them
    key = alert_id(rule, shape.value, *(f"{name}={value}" for name, value in bucket["key"].items()))
    return _alert(
        rule,
        source,
        alert_key=key,
        session_id=session_id,
        event_ids=[event_id],
        extra={"counts": _metrics(bucket)},
        account=str(entity) if shape is Shape.ACTORS else None,
    )


def group_buckets(response: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    buckets: list[Mapping[str, Any]] = get_path(response, f"aggregations.{GROUPS_AGG}.buckets") or []
    return buckets


def alerts_from_response(rule: Rule, response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The alerts one search response (or one page of it) yields for ``rule``."""
    if SHAPES.get(rule.kind, Shape.EVENTS) is Shape.EVENTS:
        hits = response.get("hits", {}).get("hits", [])
        return [alert_from_hit(rule, hit) for hit in hits]
    return [
        alert_from_bucket(rule, bucket) for bucket in group_buckets(response) if over_threshold(rule, bucket)
    ]


def alert_key(alert: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(session, first evidence event, user): what expectations in rule tests name."""
    event_ids = get_path(alert, "sessionwatch.evidence.event_ids") or [None]
    return (get_path(alert, "sessionwatch.session.id"), event_ids[0], get_path(alert, "user.name"))
