"""Audit records: one per evaluation, the evidence that the policy was enforced.

Records are queued and written with ``create`` under an id fixed at creation, so a record
survives a node outage (written when the node is back) and a retried write never duplicates it.
A successful evaluation's id is derived from the runner, the rule (id and content hash) and the
window: a window evaluated again (its checkpoint was not stored) finds its record already there
and keeps the first one, whose counts match the alerts it created. Failed evaluations get a
random id each. The fields are listed in docs/runner.md.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from sessionwatch import __version__
from sessionwatch.renderer import Window
from sessionwatch.rules.model import Rule

MAX_QUEUED = 10_000


@dataclass
class AuditRecord:
    rule: Rule
    rule_hash: str
    window: Window
    runner_id: str
    timestamp: str
    outcome: str = "ok"  # ok | error
    documents_examined: int | None = None
    matches: int | None = None
    alerts_raised: int = 0
    alerts_known: int = 0
    terminations: dict[str, int] = field(default_factory=dict)
    truncated: bool = False
    error: str | None = None
    duration_ms: int | None = None
    record_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def as_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@timestamp": self.timestamp,
            "rule": {
                "id": str(self.rule.id),
                "name": self.rule.name,
                "version": str(self.rule.version),
                "hash": self.rule_hash,
            },
            "window": {"start": self.window.start, "end": self.window.end},
            "documents_examined": self.documents_examined,
            "matches": self.matches,
            "alerts_raised": self.alerts_raised,
            "alerts_known": self.alerts_known,
            "outcome": self.outcome,
            "runner": {"id": self.runner_id, "version": __version__},
        }
        if self.terminations:
            doc["terminations"] = dict(self.terminations)
        if self.truncated:
            doc["truncated"] = True
        if self.error:
            doc["error"] = self.error
        if self.duration_ms is not None:
            doc["duration_ms"] = self.duration_ms
        return doc


def window_record_id(runner_id: str, rule: Rule, rule_hash: str, window: Window) -> str:
    """The one audit record id of a successful evaluation of ``window``."""
    key = "\x1f".join((runner_id, str(rule.id), rule_hash, str(window.start), str(window.end)))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class AuditLog:
    """Queues records and flushes them when the cluster answers."""

    def __init__(self, client: Elasticsearch, index: str) -> None:
        self.client = client
        self.index = index
        self.queue: deque[AuditRecord] = deque(maxlen=MAX_QUEUED)
        self.written = 0

    def add(self, record: AuditRecord) -> None:
        self.queue.append(record)

    def flush(self) -> bool:
        """Write what is queued; False (records kept) when the cluster does not answer."""
        while self.queue:
            batch = list(self.queue)[:500]
            operations: list[dict[str, Any]] = []
            for record in batch:
                operations += [{"create": {"_index": self.index, "_id": record.record_id}}, record.as_doc()]
            try:
                response = self.client.bulk(operations=operations)
            except (ApiError, TransportError):
                return False
            failed = False
            for record, item in zip(batch, response["items"], strict=True):
                status = item["create"].get("status", 0)
                if status < 300 or status == 409:  # 409: written by an earlier, unacknowledged try
                    self.queue.remove(record)
                    self.written += status < 300
                else:
                    failed = True
            if failed:
                return False
        return True
