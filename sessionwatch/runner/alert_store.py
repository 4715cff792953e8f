"""Alerts written once: ``create`` with the alert's deterministic id, so a finding raised again
by an overlapping window is counted as already known instead of duplicated. Nothing here ever
updates or overwrites a document: the runner's role is create-only on alerts.

When a webhook is configured a new alert is created with ``sessionwatch.termination.requested:
true``; after the call its outcome is created as its own document in the terminations index,
under the alert's id. A crash between the two leaves the alert without an outcome; the
checkpoint has not moved then, so the next evaluation of the same window finds the alert again
(known, termination requested, no outcome) and calls the webhook for it (at least once; the call
carries ``Idempotency-Key: <alert id>`` for receivers that de-duplicate).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ConflictError, Elasticsearch

from sessionwatch.enrichers.events import get_path
from sessionwatch.es import RETRY_STATUSES, Backoff, ClusterDown
from sessionwatch.rules.errors import SessionwatchError

RETRY = Backoff(base=0.2, cap=5.0)


@dataclass
class WriteResult:
    """New alerts, and the ids of alerts already known (written by an earlier evaluation)."""

    new: list[dict[str, Any]] = field(default_factory=list)
    known_ids: list[str] = field(default_factory=list)

    @property
    def known(self) -> int:
        return len(self.known_ids)


def write_alerts(
    client: Elasticsearch,
    index: str,
    alerts: Sequence[dict[str, Any]],
    *,
    termination: bool,
    created: str,
    max_retries: int = 5,
    backoff: Backoff = RETRY,
) -> WriteResult:
    """Create each alert under its ``event.id``; raise ``ElasticsearchUnavailable`` if any
    alert could not be written (the caller must not advance its checkpoint then)."""
    result = WriteResult()
    docs = []
    for alert in alerts:
        doc = {**alert, "event": {**alert["event"], "created": created}}
        if termination:
            doc["sessionwatch"] = {**doc.get("sessionwatch", {}), "termination": {"requested": True}}
        docs.append(doc)
    pending = docs
    for attempt in range(max_retries + 1):
        if not pending:
            break
        operations: list[dict[str, Any]] = []
        for doc in pending:
            operations += [{"create": {"_index": index, "_id": doc["event"]["id"]}}, doc]
        response = client.bulk(operations=operations)
        retry = []
        for doc, item in zip(pending, response["items"], strict=True):
            status = item["create"].get("status", 0)
            if status < 300:
                result.new.append(doc)
            elif status == 409:
                result.known_ids.append(doc["event"]["id"])
            elif status in RETRY_STATUSES and attempt < max_retries:
                retry.append(doc)
            else:
                error = item["create"].get("error", {})
                reason = error.get("type", "error") if isinstance(error, dict) else str(error)
                message = f"alert {doc['event']['id']} not written: {status} {reason}"
                raise ClusterDown(message) if status >= 500 else SessionwatchError(message)
        pending = retry
        if pending:
            time.sleep(backoff.delay(attempt))
    if pending:
        raise ClusterDown(f"{len(pending)} alerts not written after {max_retries} retries")
    return result


def owed_terminations(
    client: Elasticsearch, alerts_index: str, terminations_index: str, known_ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The known alerts whose termination was requested but has no recorded outcome (a runner
    stopped between creating the alert and recording the webhook's outcome)."""
    if not known_ids:
        return []
    found = client.mget(index=alerts_index, ids=list(known_ids))["docs"]
    requested = {
        doc["_id"]: doc["_source"]
        for doc in found
        if doc.get("found") and get_path(doc["_source"], "sessionwatch.termination.requested") is True
    }
    if not requested:
        return []
    outcomes = client.options(ignore_status=404).mget(index=terminations_index, ids=list(requested))
    recorded = set()
    for doc in outcomes.body.get("docs", []):
        error = doc.get("error")
        kind = get_path(error, "type") if isinstance(error, dict) else error
        if error and kind != "index_not_found_exception":
            raise ClusterDown(f"termination outcome of alert {doc.get('_id')} not readable: {kind}")
        if doc.get("found"):
            recorded.add(doc["_id"])
    return [source for alert_id, source in requested.items() if alert_id not in recorded]


def termination_doc(
    alert: dict[str, Any], outcome: dict[str, Any], *, provider: str, runner_id: str, when: str
) -> dict[str, Any]:
    """The outcome document of one alert's webhook call (no secret, no response body)."""
    doc: dict[str, Any] = {
        "@timestamp": when,
        "alert": {"id": alert["event"]["id"]},
        "rule": {"id": get_path(alert, "rule.id"), "name": get_path(alert, "rule.name")},
        "termination": {**outcome, "provider": provider},
        "runner": {"id": runner_id},
    }
    user, session = get_path(alert, "user.name"), get_path(alert, "sessionwatch.session.id")
    if user is not None:
        doc["user"] = {"name": user}
    if session is not None:
        doc["sessionwatch"] = {"session": {"id": session}}
    return doc


def record_termination(client: Elasticsearch, index: str, doc: dict[str, Any]) -> bool:
    """Create the outcome document under the alert's id; False when one was already recorded
    (another runner, or an earlier try whose answer was lost): the first outcome stays."""
    try:
        client.create(index=index, id=doc["alert"]["id"], document=doc)
    except ConflictError:
        return False
    return True
