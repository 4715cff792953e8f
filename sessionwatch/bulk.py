"""Bulk indexing that never drops a document silently.

Documents go through the client's ``streaming_bulk``: requests are split by count *and* by bytes
(two 60 MB events never share one request, so no HTTP 413), and per-document rejections (429)
and unavailable shards (502/503/504) are retried there. The loop around it exists only for lost
connections (refused, dropped, timed out, a node restarting): documents carry their id, so what
was not yet acknowledged is sent again under the same id (exactly once per id), with the one
retry policy of ``sessionwatch.es``. What still fails is reported, each with its status and
reason.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch, TransportError
from elasticsearch.helpers import streaming_bulk

from sessionwatch.es import COMMAND_RETRY, RETRY_STATUSES, Backoff, describe_error, retrying, transient

DEFAULT_CHUNK_BYTES = 10 * 1024 * 1024  # well under Elasticsearch's 100 MB http.max_content_length


@dataclass
class BulkReport:
    indexed: int = 0
    retried: int = 0  # documents sent again (in a request that failed on the way)
    failed: list[dict[str, Any]] = field(default_factory=list)  # {"id", "status", "error"}
    faults: int = 0  # times the connection was lost and the rest was sent again

    @property
    def ok(self) -> bool:
        return not self.failed


def document_id(doc: dict[str, Any]) -> str:
    """The ``_id`` of an enriched event: its event id plus a digest of the whole event, so two
    different events that share a source ``event.id`` (a Vault request and its response) are two
    documents, while the same event delivered twice is one."""
    event_id = str((doc.get("sessionwatch") or {}).get("event", {}).get("id", ""))
    body = {k: v for k, v in doc.items() if k != "sessionwatch"}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode("utf-8")).hexdigest()
    return f"{event_id[:200]}:{digest[:16]}"


def _error_text(info: dict[str, Any]) -> str:
    error = info.get("error")
    if isinstance(error, dict):
        reason = error.get("reason") or ""
        caused = error.get("caused_by") or {}
        extra = (
            f" ({caused.get('type')}: {caused.get('reason')})" if isinstance(caused, dict) and caused else ""
        )
        return f"{error.get('type', 'error')}: {reason}{extra}"
    exception = info.get("exception")
    return describe_error(exception) if isinstance(exception, BaseException) else str(error)


def index_documents(
    client: Elasticsearch,
    index: str,
    docs: Iterable[tuple[str, dict[str, Any]]],
    *,
    chunk_size: int = 1000,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    max_retries: int = 8,
    policy: Backoff = COMMAND_RETRY,
    refresh: bool = True,
) -> BulkReport:
    """Index ``(id, document)`` pairs (``index`` operations by id: idempotent re-runs and retries).

    A lost connection is retried with ``policy`` (by default about two and a half minutes, long
    enough for a node to restart), then the documents still unacknowledged are reported in
    ``BulkReport.failed``; it never raises for a lost connection while writing.
    """
    report = BulkReport()
    batch: list[tuple[str, dict[str, Any]]] = []
    for item in docs:
        batch.append(item)
        if len(batch) >= chunk_size * 10:
            _send(client, index, batch, report, chunk_size, chunk_bytes, max_retries, policy)
            batch = []
    if batch:
        _send(client, index, batch, report, chunk_size, chunk_bytes, max_retries, policy)
    if refresh:
        retrying(lambda: client.indices.refresh(index=index), f"refresh of {index}", policy)
    return report


def _actions(index: str, batch: list[tuple[str, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    for doc_id, doc in batch:
        yield {"_op_type": "index", "_index": index, "_id": doc_id, "_source": doc}


def _send(
    client: Elasticsearch,
    index: str,
    batch: list[tuple[str, dict[str, Any]]],
    report: BulkReport,
    chunk_size: int,
    chunk_bytes: int,
    max_retries: int,
    policy: Backoff,
) -> None:
    pending = {doc_id: (doc_id, doc) for doc_id, doc in batch}
    began = time.monotonic()
    attempt = 0
    while pending:
        try:
            for ok, item in streaming_bulk(
                client,
                _actions(index, list(pending.values())),
                chunk_size=chunk_size,
                max_chunk_bytes=chunk_bytes,
                raise_on_error=False,
                raise_on_exception=False,
                max_retries=max_retries,
                initial_backoff=policy.base,
                max_backoff=policy.cap,
                retry_on_status=tuple(RETRY_STATUSES),
            ):
                info = next(iter(item.values()))
                doc_id = str(info.get("_id"))
                pending.pop(doc_id, None)
                if ok:
                    report.indexed += 1
                else:
                    status = info.get("status")
                    report.failed.append(
                        {
                            "id": doc_id,
                            "status": status if isinstance(status, int) else 0,
                            "error": _error_text(info),
                        }
                    )
        except TransportError as exc:  # the connection was lost: send what was not acknowledged
            out_of_time = (
                policy.give_up_after is not None and time.monotonic() - began >= policy.give_up_after
            )
            if not transient(exc) or out_of_time:
                error = describe_error(exc)
                report.failed += [{"id": doc_id, "status": 0, "error": error} for doc_id in pending]
                return
            report.faults += 1
            report.retried += len(pending)
            time.sleep(policy.delay(attempt))
            attempt += 1
