"""Measurement 4 (bulk loading) and the enriched indices the detection benchmark reuses.

Enriched load = ``sessionwatch enrich RAW`` in a child process, its stdout parsed and sent with
``sessionwatch.bulk.index_documents`` (the path ``detect`` and ``test`` use). The floor is the
same loader sending the raw documents, unenriched, into an index with the same mapping.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import parallel_bulk

from bench.common import REPO, Section, banner, machine, sessionwatch_cli, workload_file
from bench.workload import Spec
from sessionwatch.bulk import BulkReport, index_documents
from sessionwatch.indices import index_templates

CHUNK = 1000


def create_index(client: Elasticsearch, index: str, meta: dict[str, Any] | None = None) -> None:
    """An index shaped by sessionwatch's own events template (single node: no replicas)."""
    template = index_templates()["sessionwatch-events"]["template"]
    mappings = dict(template["mappings"])
    if meta:
        mappings["_meta"] = meta
    settings = {**template["settings"], "number_of_replicas": 0}
    client.indices.delete(index=index, ignore_unavailable=True)
    client.indices.create(index=index, mappings=mappings, settings=settings)


def _docs(lines: IO[bytes], id_path: tuple[str, ...]) -> Iterator[tuple[str, dict[str, Any]]]:
    for raw in lines:
        if not raw.strip():
            continue
        doc = json.loads(raw)
        node: Any = doc
        for part in id_path:
            node = node[part]
        yield str(node), doc


def load_raw(client: Elasticsearch, raw: Path, index: str) -> dict[str, Any]:
    create_index(client, index)
    started = time.perf_counter()
    with raw.open("rb") as lines:
        report = index_documents(client, index, _docs(lines, ("event", "id")), chunk_size=CHUNK)
    seconds = time.perf_counter() - started
    if not report.ok:
        raise RuntimeError(f"{len(report.failed)} raw documents rejected: {report.failed[0]}")
    return {"indexed": report.indexed, "seconds": round(seconds, 1), "retried": report.retried}


def _fast_bulk(client: Elasticsearch, index: str, docs: Iterator[tuple[str, dict[str, Any]]]) -> BulkReport:
    """Two bulk threads, 2 000 documents a request; any rejected document stops the load."""
    report = BulkReport()
    actions = ({"_index": index, "_id": doc_id, "_source": doc} for doc_id, doc in docs)
    for ok, item in parallel_bulk(client, actions, thread_count=2, chunk_size=2000, raise_on_error=True):
        if not ok:
            raise RuntimeError(f"document rejected: {item}")
        report.indexed += 1
    client.indices.refresh(index=index)
    return report


def load_enriched(
    client: Elasticsearch, raw: Path, index: str, meta: dict[str, Any] | None = None, *, fast: bool = False
) -> dict[str, Any]:
    """``fast``: bulk-load tunings (no refresh, async translog, two bulk threads) for the big indices."""
    create_index(client, index, meta)
    if fast:
        tuned = {"index.refresh_interval": "-1", "index.translog.durability": "async"}
        client.indices.put_settings(index=index, settings=tuned)
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own CLI
        [*sessionwatch_cli(), "enrich", str(raw), "--dead-letter", str(raw) + ".dead.ndjson"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    assert child.stdout is not None
    assert child.stderr is not None
    docs = _docs(child.stdout, ("sessionwatch", "event", "id"))
    if fast:
        report = _fast_bulk(client, index, docs)
        restored = {"index.refresh_interval": None, "index.translog.durability": None}
        client.indices.put_settings(index=index, settings=restored)
    else:
        report = index_documents(client, index, docs, chunk_size=CHUNK)
    err = child.stderr.read().decode("utf-8", "replace")
    if child.wait() not in (0, 1):
        raise RuntimeError(f"enrich failed: {err[-2000:]}")
    seconds = time.perf_counter() - started
    if not report.ok:
        raise RuntimeError(f"{len(report.failed)} enriched documents rejected: {report.failed[0]}")
    return {"indexed": report.indexed, "seconds": round(seconds, 1), "retried": report.retried}


def bulk_rates(client: Elasticsearch, events: int) -> Section:
    """Raw and enriched loads of the same documents, back to back; the indices are removed."""
    section = Section("bulk_load")
    banner(f"4. bulk loading {events:,} events: enriched pipeline vs raw documents")
    raw, _ = workload_file(Spec(events=events))
    raw_index, enriched_index = f"bench-bulk-raw-{events}", f"bench-bulk-enriched-{events}"
    try:
        floor = load_raw(client, raw, raw_index)
        section.put("raw_seconds", floor["seconds"], "raw documents: seconds")
        section.put("raw_docs_per_s", round(floor["indexed"] / floor["seconds"]), "raw documents/s")
        enriched = load_enriched(client, raw, enriched_index)
        section.put("enriched_seconds", enriched["seconds"], "enrich + bulk: seconds")
        section.put(
            "enriched_events_per_s", round(enriched["indexed"] / enriched["seconds"]), "enriched events/s"
        )
        section.put("ratio", round(enriched["seconds"] / floor["seconds"], 2), "enriched / raw time")
        stats = client.indices.stats(index=f"{raw_index},{enriched_index}", metric="store,docs").body
        for name, label in ((raw_index, "raw"), (enriched_index, "enriched")):
            total = stats["indices"][name]["primaries"]
            section.put(f"{label}_store_mib", round(total["store"]["size_in_bytes"] / 2**20, 1))
        section.put("retried_429", floor["retried"] + enriched["retried"])
    finally:
        client.indices.delete(index=f"{raw_index},{enriched_index}", ignore_unavailable=True)
    return section


def detection_index(
    client: Elasticsearch, events: int, *, reload: bool = False
) -> tuple[str, dict[str, Any]]:
    """``bench-events-N``, enriched and loaded once; reused while its workload spec is the same."""
    spec = Spec(events=events)
    index = f"bench-events-{events}"
    raw, manifest = workload_file(spec)
    wanted = {"spec": manifest["spec"], "sha256": manifest["sha256"]}
    if not reload and client.indices.exists(index=index):
        meta = client.indices.get_mapping(index=index).body[index]["mappings"].get("_meta", {})
        count = client.count(index=index).body["count"]
        same = all(meta.get(key) == value for key, value in wanted.items())
        if same and count == events and meta.get("complete"):
            print(f"  reusing {index}: {count:,} events, loaded {meta.get('loaded_at')}", flush=True)
            return index, {**meta, "reused": True}
    print(f"  loading {index} ({events:,} events: enrich + bulk)", flush=True)
    info = machine()
    meta = {
        **wanted,
        "commit": info["commit"],
        "loaded_at": info["date"],
        "load_average": info["load_average"],
    }
    result = load_enriched(client, raw, index, meta, fast=True)
    client.indices.refresh(index=index)  # no force-merge: queries see a freshly loaded index
    meta |= {"complete": True, "load_seconds": result["seconds"], "load_tuned": True}
    client.indices.put_mapping(index=index, meta=meta)
    print(f"  loaded {index} in {result['seconds']:.0f} s", flush=True)
    return index, {**meta, "reused": False}
