"""Bulk indexing that never drops a document silently: 429s are retried, the rest reported."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch

RETRYABLE = frozenset({429, 502, 503, 504})


@dataclass
class BulkReport:
    indexed: int = 0
    retried: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def index_documents(
    client: Elasticsearch,
    index: str,
    docs: Iterable[tuple[str, dict[str, Any]]],
    *,
    chunk_size: int = 1000,
    max_retries: int = 5,
    refresh: bool = True,
) -> BulkReport:
    """Index ``(id, document)`` pairs with ``create`` semantics per id (idempotent re-runs)."""
    report = BulkReport()
    chunk: list[tuple[str, dict[str, Any]]] = []
    for item in docs:
        chunk.append(item)
        if len(chunk) >= chunk_size:
            _send(client, index, chunk, report, max_retries)
            chunk = []
    if chunk:
        _send(client, index, chunk, report, max_retries)
    if refresh:
        client.indices.refresh(index=index)
    return report


def _send(
    client: Elasticsearch,
    index: str,
    chunk: list[tuple[str, dict[str, Any]]],
    report: BulkReport,
    max_retries: int,
) -> None:
    pending = chunk
    for attempt in range(max_retries + 1):
        operations: list[dict[str, Any]] = []
        for doc_id, doc in pending:
            operations += [{"index": {"_index": index, "_id": doc_id}}, doc]
        response = client.bulk(operations=operations)
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
        time.sleep(min(0.1 * 2**attempt, 5.0))
