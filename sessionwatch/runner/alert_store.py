"""Alerts written once: ``create`` with the alert's deterministic id, so a finding raised again
by an overlapping window is counted as already known instead of duplicated.

When a webhook is configured a new alert is created with ``sessionwatch.termination.status:
pending`` and updated with the outcome after the call. A crash between the two leaves it
pending; the checkpoint has not moved then, so the next evaluation of the same window finds
the alert again, sees it pending, and calls the webhook for it (at least once; the call
carries ``Idempotency-Key: <alert id>`` for receivers that de-duplicate).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

from sessionwatch.es import RETRY_STATUSES, Backoff, ClusterDown
from sessionwatch.rules.errors import SessionwatchError

RETRY = Backoff(base=0.2, cap=5.0)
PENDING = "pending"


@dataclass
class WriteResult:
    """New alerts, alerts already known, and known alerts whose webhook call is still owed."""

    new: list[dict[str, Any]] = field(default_factory=list)
    known: int = 0
    pending: list[dict[str, Any]] = field(default_factory=list)


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
            doc["sessionwatch"] = {**doc.get("sessionwatch", {}), "termination": {"status": PENDING}}
        docs.append(doc)
    pending = docs
    conflicts: list[str] = []
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
                conflicts.append(doc["event"]["id"])
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
    result.known = len(conflicts)
    if termination and conflicts:
        found = client.mget(index=index, ids=conflicts)
        for doc in found["docs"]:
            source = doc.get("_source") or {}
            status = source.get("sessionwatch", {}).get("termination", {}).get("status")
            if doc.get("found") and status == PENDING:
                result.pending.append(source)
    return result


def record_termination(client: Elasticsearch, index: str, alert_id: str, outcome: dict[str, Any]) -> None:
    """Store the webhook outcome in the alert document."""
    client.update(
        index=index,
        id=alert_id,
        doc={"sessionwatch": {"termination": outcome}},
        retry_on_conflict=3,
    )
