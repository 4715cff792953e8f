"""Faults against a real node of this module's own: restarts, 429 rejections, a flaky network.

The node (the ``faults`` node scripts/run-tests.sh started for this module alone, see
tests/shared_nodes.py; else one this module starts on port 19280) has a write thread pool of one
thread and a queue of one, so concurrent bulk loads are rejected with 429 for real. Faults are
injected by ``docker restart`` (SIGKILL) and by a TCP proxy between client and node that drops or
stalls connections. After each fault every document must be in the index exactly once (count, ids
and a checksum), or be reported.

Runner (``sessionwatch run``) fault tests live with the runner: see docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.bulk import BulkReport, index_documents
from sessionwatch.es import Backoff
from tests.cli_runner import run_sessionwatch
from tests.hardening.nodes import FaultyProxy, OwnNode, docker_problem
from tests.shared_nodes import shared_node

PORT = 19280
IDLE_RULE = Path(__file__).resolve().parents[2] / "rules/pack/session_idle_timeout/pci-dss-idle-15m.yml"
BULK = (b"PUT /_bulk", b"POST /_bulk")  # the request line of a bulk load
DOCS = 10_000
CHUNK = 500

# Figures for docs/reliability.md, printed at the end of the module (pytest -s, or -rA).
FIGURES: dict[str, Any] = {}
# retries of the flaky-network bulk load
FLAKY_RETRY = Backoff(base=0.2, cap=1.0, give_up_after=150.0)
# the node's write thread pool: concurrent bulk loads are rejected (429) for real
WRITE_POOL_OF_ONE = {"thread_pool.write.size": "1", "thread_pool.write.queue_size": "1"}


@pytest.fixture(scope="module")
def node() -> Iterator[OwnNode]:
    shared = shared_node("faults")  # started by scripts/run-tests.sh, reset for this module
    if shared is not None:
        info = client_for(shared.url).nodes.info(metric="thread_pool")["nodes"]
        pools = [n["thread_pool"]["write"] for n in info.values()]
        assert [(p["size"], p["queue_size"]) for p in pools] == [(1, 1)], "not the faults node's write pool"
        yield OwnNode(shared.port, name=shared.container)
        if FIGURES:
            print("\nfault figures:", json.dumps(FIGURES, sort_keys=True))
        return
    problem = docker_problem()
    if problem:
        pytest.skip(f"fault tests start their own Elasticsearch container: {problem}")
    own = OwnNode(PORT, settings={"xpack.security.enabled": "false", **WRITE_POOL_OF_ONE})
    try:
        own.start()
        yield own
    finally:
        own.remove()
        if FIGURES:
            print("\nfault figures:", json.dumps(FIGURES, sort_keys=True))


def client_for(url: str, **options: Any) -> Elasticsearch:
    return Elasticsearch(url, request_timeout=options.pop("request_timeout", 30), **options)


def make_index(node: OwnNode, name: str) -> str:
    client = client_for(node.url)
    client.indices.create(
        index=name,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={"properties": {"n": {"type": "long"}, "batch": {"type": "keyword"}}},
    )
    return name


def documents(count: int, batch: str = "a") -> Iterator[tuple[str, dict[str, Any]]]:
    for n in range(count):
        yield f"{batch}-{n}", {"n": n, "batch": batch, "pad": "x" * 64}


def assert_exactly_once(node: OwnNode, index: str, expected: dict[str, int]) -> None:
    """``expected`` maps each batch to its size: every id present, once, with its own document."""
    client = client_for(node.url)
    client.indices.refresh(index=index)
    total = sum(expected.values())
    assert client.count(index=index)["count"] == total
    for batch, count in expected.items():
        stats = client.search(
            index=index,
            size=0,
            track_total_hits=True,
            query={"term": {"batch": batch}},
            aggs={"sum": {"sum": {"field": "n"}}, "distinct": {"cardinality": {"field": "n"}}},
        )
        assert stats["hits"]["total"]["value"] == count
        assert stats["aggregations"]["sum"]["value"] == count * (count - 1) / 2
    ids: set[str] = set()
    after: list[Any] | None = None
    while True:
        page = client.search(
            index=index, size=10_000, sort=[{"batch": "asc"}, {"n": "asc"}], search_after=after, source=False
        )
        hits = page["hits"]["hits"]
        if not hits:
            break
        ids.update(hit["_id"] for hit in hits)
        after = hits[-1]["sort"]
    assert ids == {f"{batch}-{n}" for batch, count in expected.items() for n in range(count)}


def record(name: str, report: BulkReport, **extra: Any) -> None:
    counts = {"indexed": report.indexed, "retried": report.retried, "failed": len(report.failed)}
    FIGURES[name] = {**counts, **extra}


@pytest.mark.slow
def test_bulk_load_survives_a_node_restart(node: OwnNode) -> None:
    index = make_index(node, "faults-restart")
    proxy = FaultyProxy(node.port)
    bulk_seen = proxy.when_seen(*BULK)
    restarts = []

    def restart_when_loading() -> None:
        if bulk_seen.wait(60):
            node.restart(kill=True)
            restarts.append(time.monotonic())

    chaos = threading.Thread(target=restart_when_loading)
    chaos.start()
    try:
        client = client_for(proxy.url, max_retries=0, request_timeout=10)
        report = index_documents(client, index, documents(DOCS), chunk_size=CHUNK)
    finally:
        chaos.join()
        proxy.close()
    record("restart during bulk", report, restarts=len(restarts))
    assert restarts, "the node was not restarted"
    assert report.ok, report.failed[:3]
    assert report.retried > 0, "the restart did not hit the load"
    assert report.indexed == DOCS
    node.wait_healthy()
    assert_exactly_once(node, index, {"a": DOCS})


def test_bulk_rejections_are_retried_until_indexed(node: OwnNode) -> None:
    index = make_index(node, "faults-429")
    before = _rejected(node)
    reports: dict[str, BulkReport] = {}
    batches = [f"t{i}" for i in range(4)]

    def load(batch: str) -> None:
        reports[batch] = index_documents(
            client_for(node.url), index, documents(2_000, batch), chunk_size=200, refresh=False
        )

    threads = [threading.Thread(target=load, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rejected = _rejected(node) - before
    total = BulkReport(
        indexed=sum(r.indexed for r in reports.values()),
        retried=sum(r.retried for r in reports.values()),
        failed=[f for r in reports.values() for f in r.failed],
    )
    record("429 rejections", total, rejected_by_node=rejected)
    # the node counted rejections, and every document still arrived exactly once: the client's
    # streaming_bulk retried the rejected ones (its per-item retries are not counted by us)
    assert rejected > 0, "the tiny write queue rejected nothing: no fault was injected"
    assert total.ok, total.failed[:3]
    assert_exactly_once(node, index, dict.fromkeys(batches, 2_000))


def _rejected(node: OwnNode) -> int:
    stats = client_for(node.url).nodes.stats(metric="thread_pool")
    return sum(n["thread_pool"]["write"]["rejected"] for n in stats["nodes"].values())


def test_bulk_load_through_a_flaky_network(node: OwnNode) -> None:
    """Connections dropped and stalled (longer than the client's timeout) while loading."""
    index = make_index(node, "faults-network")
    proxy = FaultyProxy(node.port)
    stop = threading.Event()

    def chaos() -> None:
        pattern = [("pass", 0.3), ("drop", 0.2), ("pass", 0.3), ("stall", 2.0)]
        while not stop.is_set():
            for mode, seconds in pattern:
                if stop.is_set():
                    break
                proxy.set_mode(mode)
                stop.wait(seconds)
        proxy.set_mode("pass")

    thread = threading.Thread(target=chaos)
    thread.start()
    try:
        client = client_for(proxy.url, max_retries=0, request_timeout=1.5)
        # retries at most 1 s apart (the command's policy waits up to 10 s, test_es_retry.py checks
        # that schedule): here, one chunk in three is hit, and what counts is that none is lost
        report = index_documents(client, index, documents(6_000), chunk_size=300, policy=FLAKY_RETRY)
    finally:
        stop.set()
        thread.join()
        proxy.close()
    record("flaky network", report, drops=proxy.drops, stalls=proxy.stalls)
    assert proxy.drops > 0
    assert proxy.stalls > 0
    assert report.retried > 0
    assert report.ok, report.failed[:3]
    assert_exactly_once(node, index, {"a": 6_000})


def test_unreachable_node_is_reported_not_raised(node: OwnNode) -> None:
    """A node that never comes back: every document is reported as failed, nothing is lost silently."""
    proxy = FaultyProxy(node.port)
    proxy.set_mode("drop")
    try:
        client = client_for(proxy.url, max_retries=0, request_timeout=1)
        report = index_documents(
            client,
            "faults-never",
            documents(1_200),
            chunk_size=500,
            policy=Backoff(base=0.1, cap=0.5, give_up_after=3.0),
            refresh=False,
        )
    finally:
        proxy.close()
    record("unreachable node", report)
    assert report.indexed == 0
    assert sorted(f["id"] for f in report.failed) == sorted(f"a-{n}" for n in range(1_200))
    assert all(f["error"] for f in report.failed)


# --- detect --events -------------------------------------------------------------------------------


def idle_events(path: Path, alerting: int, quiet: int) -> None:
    """``alerting`` sessions with a 20-minute idle gap (one alert each), ``quiet`` sessions without."""
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    lines = []
    for kind, count, gap in (("gap", alerting, 1200), ("ok", quiet, 60)):
        for s in range(count):
            moments = [0, 60, 60 + gap, 120 + gap]
            for i, offset in enumerate(moments):
                lines.append(
                    {
                        "@timestamp": (start + timedelta(seconds=offset + s % 600)).isoformat(),
                        "event": {"id": f"{kind}-{s}-{i}", "action": "login" if i == 0 else "view"},
                        "session": {"id": f"{kind}-{s}"},
                        "user": {"name": f"user-{s}"},
                    }
                )
    path.write_text("".join(json.dumps(doc) + "\n" for doc in lines), encoding="utf-8")


def run_detect(url: str, events: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SESSIONWATCH_ES_URL": url}
    return run_sessionwatch(
        ["detect", "--events", str(events), "--rules", str(IDLE_RULE)], cwd=cwd, env=env, timeout=600
    )


def alert_ids(stdout: str) -> list[str]:
    return sorted(json.loads(line)["event"]["id"] for line in stdout.splitlines() if line.strip())


@pytest.fixture(scope="module")
def detect_baseline(node: OwnNode, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("detect")
    events = folder / "events.ndjson"
    idle_events(events, alerting=300, quiet=4_000)
    result = run_detect(node.url, events, folder)
    assert result.returncode == 1, result.stderr[-2000:]  # alerts found
    ids = alert_ids(result.stdout)
    assert len(ids) == 300
    return events, ids


@pytest.mark.slow
def test_detect_survives_a_node_restart_while_loading(
    node: OwnNode, detect_baseline: tuple[Path, list[str]], tmp_path: Path
) -> None:
    events, expected = detect_baseline
    proxy = FaultyProxy(node.port)
    bulk_seen = proxy.when_seen(*BULK)
    restarted = threading.Event()

    def restart_when_loading() -> None:
        if bulk_seen.wait(120):
            node.restart(kill=True)
            restarted.set()

    chaos = threading.Thread(target=restart_when_loading)
    chaos.start()
    try:
        result = run_detect(proxy.url, events, tmp_path)
    finally:
        chaos.join()
        proxy.close()
    FIGURES["restart during detect"] = {"alerts": len(alert_ids(result.stdout)), "expected": len(expected)}
    assert restarted.is_set()
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 1, result.stderr[-2000:]
    assert alert_ids(result.stdout) == expected
    node.wait_healthy()


def test_detect_through_a_flaky_network(
    node: OwnNode, detect_baseline: tuple[Path, list[str]], tmp_path: Path
) -> None:
    events, expected = detect_baseline
    proxy = FaultyProxy(node.port)
    bulk_seen = proxy.when_seen(*BULK)
    stop = threading.Event()

    def chaos() -> None:
        if not bulk_seen.wait(120):
            return
        for mode, seconds in [("drop", 0.3), ("pass", 0.3), ("drop", 2.0), ("pass", 0.5), ("drop", 0.3)]:
            proxy.set_mode(mode)
            if stop.wait(seconds):
                break
        proxy.set_mode("pass")

    thread = threading.Thread(target=chaos)
    thread.start()
    try:
        result = run_detect(proxy.url, events, tmp_path)
    finally:
        stop.set()
        thread.join()
        proxy.close()
    FIGURES["flaky network during detect"] = {"drops": proxy.drops, "alerts": len(alert_ids(result.stdout))}
    assert proxy.drops > 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 1, result.stderr[-2000:]
    assert alert_ids(result.stdout) == expected
