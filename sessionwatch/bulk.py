"""Bulk indexing that never drops a document silently.

Rejections (429) and unavailable shards (5xx) per document, and whole requests that fail on the
way (connection refused or dropped, timeouts, a node restarting), are retried with exponential
backoff; documents carry their id, so a request that was applied but whose answer was lost is
applied again to the same documents (exactly once per id). What still fails is reported.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from elastic_transport import TlsError
from elasticsearch import ApiError, Elasticsearch, TransportError

from sessionwatch.rules.errors import ElasticsearchUnavailable

RETRYABLE = frozenset({429, 502, 503, 504})


@dataclass
class BulkReport:
    indexed: int = 0
    retried: int = 0  # documents sent again (rejected, or in a request that failed on the way)
    failed: list[dict[str, Any]] = field(default_factory=list)
    faults: int = 0  # whole requests that failed and were retried

    @property
    def ok(self) -> bool:
        return not self.failed


def backoff(attempt: int, cap: float) -> float:
    """Seconds to wait before retry ``attempt`` (0-based): 0.2, 0.4, 0.8 … up to ``cap``."""
    return float(min(0.2 * 2**attempt, cap))


def index_documents(
    client: Elasticsearch,
    index: str,
    docs: Iterable[tuple[str, dict[str, Any]]],
    *,
    chunk_size: int = 1000,
    max_retries: int = 20,
    max_backoff: float = 10.0,
    refresh: bool = True,
) -> BulkReport:
    """Index ``(id, document)`` pairs (``index`` operations by id: idempotent re-runs and retries).

    With the defaults a chunk keeps being retried for about two and a half minutes (long enough
    for a node to restart), then its documents are reported in ``BulkReport.failed``; a lost
    connection never raises.
    """
    report = BulkReport()
    chunk: list[tuple[str, dict[str, Any]]] = []
    for item in docs:
        chunk.append(item)
        if len(chunk) >= chunk_size:
            _send(client, index, chunk, report, max_retries, max_backoff)
            chunk = []
    if chunk:
        _send(client, index, chunk, report, max_retries, max_backoff)
    if refresh:
        _refresh(client, index, report, max_retries, max_backoff)
    return report


def _transient(exc: Exception) -> bool:
    if isinstance(exc, ApiError):
        return exc.meta.status in RETRYABLE
    return isinstance(exc, TransportError) and not isinstance(exc, TlsError)


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"HTTP {exc.meta.status} {exc.error}"
    return f"{type(exc).__name__}: {getattr(exc, 'message', exc)}"


def _send(
    client: Elasticsearch,
    index: str,
    chunk: list[tuple[str, dict[str, Any]]],
    report: BulkReport,
    max_retries: int,
    max_backoff: float,
) -> None:
    pending = chunk
    for attempt in range(max_retries + 1):
        operations: list[dict[str, Any]] = []
        for doc_id, doc in pending:
            operations += [{"index": {"_index": index, "_id": doc_id}}, doc]
        try:
            response = client.bulk(operations=operations)
        except (ApiError, TransportError) as exc:
            if not _transient(exc) or attempt == max_retries:
                status = exc.meta.status if isinstance(exc, ApiError) else 0
                report.failed += [{"id": i, "status": status, "error": _describe(exc)} for i, _ in pending]
                return
            report.faults += 1
            report.retried += len(pending)
            time.sleep(backoff(attempt, max_backoff))
            continue
        retry: list[tuple[str, dict[str, Any]]] = []
        for (doc_id, doc), item in zip(pending, response["items"], strict=True):
            result = item["index"]
            status = result.get("status", 0)
            if status < 300:
                report.indexed += 1
            elif status in RETRYABLE and attempt < max_retries:
                retry.append((doc_id, doc))
            else:
                report.failed.append({"id": doc_id, "status": status, "error": result.get("error")})
        if not retry:
            return
        report.retried += len(retry)
        pending = retry
        time.sleep(backoff(attempt, max_backoff))


def _refresh(
    client: Elasticsearch, index: str, report: BulkReport, max_retries: int, max_backoff: float
) -> None:
    """Make the documents searchable; a refresh that cannot get through is retried like a chunk."""
    for attempt in range(max_retries + 1):
        try:
            client.indices.refresh(index=index)
            return
        except (ApiError, TransportError) as exc:
            if not _transient(exc) or attempt == max_retries:
                raise ElasticsearchUnavailable(f"refresh of {index} failed: {_describe(exc)}") from None
            report.faults += 1
            time.sleep(backoff(attempt, max_backoff))
