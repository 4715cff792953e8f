"""Several ``enrich --follow`` processes sharing one source (``--partitions``), on the real node:
every event enriched exactly once with the facts one process gives (so no session and no
account was split), the work shared, and a follower killed with SIGKILL taken over by the
survivor within the lease time, nothing lost, nothing written twice."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.follow import default_follower_id
from sessionwatch.follow_partitions import Share
from tests.integration.test_follow import RAW_MAPPING, assert_exactly_once
from tests.integration.test_runner_support import (
    DAY,
    Names,
    cli_env,
    count,
    iso,
    load,
    run_cli,
    start_cli,
    synthetic_events,
    wait_for,
)
from tests.unit.test_bench_workload import _load as _load_workload

PARTITIONS = 8


@pytest.fixture
def names(es: Elasticsearch) -> Iterator[Names]:
    made = Names()
    es.indices.create(
        index=made.raw, mappings=RAW_MAPPING, settings={"number_of_shards": 2, "number_of_replicas": 0}
    )
    yield made
    made.drop(es)


def with_admin_actions(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add an admin (partition of '9') disabling user5 (partition of '5') mid-stream: user5's
    later events must say ``disabled`` although another follower read the disable."""
    middle = raw[len(raw) // 2]["@timestamp"]
    admin = {
        "@timestamp": middle,
        "event": {"id": "admin-disable-1", "dataset": "generic.portal", "action": "account_disabled"},
        "session": {"id": "admin-s"},
        "user": {"name": "admin9", "target": {"name": "user5"}},
    }
    return sorted([*raw, admin], key=lambda e: (e["@timestamp"], e["event"]["id"]))


def member_args(names: Names, member: str, *extra: str, partitions: int = PARTITIONS) -> list[str]:
    return [
        "enrich",
        "--follow",
        "--source-index",
        names.raw,
        "--dest-index",
        names.dest,
        "--state-index",
        names.state,
        "--partitions",
        str(partitions),
        "--member-id",
        member,
        "--settle",
        "0s",
        "--poll",
        "1s",
        *extra,
    ]


def lease_owners(es: Elasticsearch, names: Names) -> dict[int, str | None]:
    group = default_follower_id(names.raw, names.dest)
    owners: dict[int, str | None] = {}
    for partition in range(PARTITIONS):
        found = es.options(ignore_status=404).get(index=names.state, id=f"lease:{group}:{partition}")
        data = found.get("_source", {}).get("data", {}) if found.get("found") else {}
        live = data.get("owner") and data.get("expires", 0) > time.time() * 1000
        owners[partition] = data.get("owner") if live else None
    return owners


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def summary(log: Path) -> dict[str, int]:
    line = [x for x in log.read_text().splitlines() if "follow stopped:" in x][-1]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def test_two_followers_share_a_source_and_enrich_each_event_once(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    raw = with_admin_actions(synthetic_events(400, seed=21)[0])
    load(es, names.raw, raw, raw=True)
    env = cli_env(es_url)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    members = [
        start_cli(member_args(names, name, "--batch-size", "50"), env, tmp_path, log)
        for name, log in zip(("a", "b"), logs, strict=True)
    ]
    try:
        wait_for(lambda: count(es, names.dest) >= len(raw), 300, "every event written")
        time.sleep(3)  # anything written twice would show now
    finally:
        for member in members:
            stop(member)
    assert all(member.returncode == 0 for member in members), [log.read_text()[-2000:] for log in logs]
    assert_exactly_once(es, names, raw)  # the facts of one process: no session, no account split
    disabled = es.search(
        index=names.dest,
        query={
            "bool": {
                "filter": [
                    {"term": {"user.name": "user5"}},
                    {"range": {"@timestamp": {"gt": DAY.isoformat()}}},
                ]
            }
        },
        size=1000,
    )["hits"]["hits"]
    statuses = {
        h["_source"]["sessionwatch"]["account"]["status"]
        for h in disabled
        if h["_source"]["@timestamp"] > raw[len(raw) // 2]["@timestamp"]
    }
    assert statuses == {"disabled"}
    counts = [summary(log) for log in logs]
    assert sum(c["read"] for c in counts) == len(raw), counts  # each event enriched by one follower
    assert all(c["read"] > 0 for c in counts), counts  # the work was shared
    assert all(c["dead_letter"] == 0 for c in counts), counts


def test_a_killed_follower_is_taken_over_within_the_lease_time(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    raw, _ = synthetic_events(1200, seed=23)
    load(es, names.raw, raw, raw=True)
    env = cli_env(es_url)
    lease = 10.0  # short, so the test waits little; the default (30 s) is the same code path
    extra = ("--batch-size", "40", "--lease", f"{lease:.0f}s")
    survivor = start_cli(member_args(names, "survivor", *extra), env, tmp_path, tmp_path / "survivor.log")
    victim = start_cli(member_args(names, "victim", *extra), env, tmp_path, tmp_path / "victim.log")
    try:
        wait_for(
            lambda: (
                set(lease_owners(es, names).values()) == {"survivor", "victim"}
                and count(es, names.dest) > len(raw) // 5
            ),
            240,
            "both followers holding partitions, a fifth written",
        )
        assert count(es, names.dest) < len(raw) * 3 // 4, "too little left to take over"
        victim.send_signal(signal.SIGKILL)
        victim.wait(30)
        killed = time.monotonic()
        wait_for(
            lambda: set(lease_owners(es, names).values()) == {"survivor"},
            90,
            "survivor holding every partition",
        )
        takeover = time.monotonic() - killed
        wait_for(lambda: count(es, names.dest) >= len(raw), 300, "every event written")
        time.sleep(3)
    finally:
        stop(survivor)
        if victim.poll() is None:
            victim.kill()
    assert survivor.returncode == 0, (tmp_path / "survivor.log").read_text()[-2000:]
    assert takeover < min(60.0, lease + 15.0), f"took {takeover:.1f} s"
    print(f"takeover after SIGKILL: {takeover:.1f} s (lease {lease:.0f} s)")
    assert_exactly_once(es, names, raw)  # none lost, none written twice, facts of one process
    assert iso(DAY) <= raw[0]["@timestamp"]


def test_each_partitions_query_reads_every_event_it_owns_across_profiles(
    es: Elasticsearch, names: Names
) -> None:
    """The scriptless query of each partition is a superset of the events it owns, for the
    benchmark's five source layouts (generic, Okta, Auth0, Vault, Teleport) mapped dynamically,
    and every admin action on another account is read by every partition."""
    workload = _load_workload()  # bench/ is not a package the tests import
    source = f"{names.raw}-mixed"
    docs = list(workload.Workload(workload.Spec(events=3000, seed=7)))
    operations: list[Any] = []
    for n, doc in enumerate(docs):
        operations += [{"index": {"_index": source, "_id": str(n)}}, doc]
    try:
        assert not es.bulk(operations=operations, refresh=True)["errors"]
        profiles = ProfileRegistry.discover()
        read: dict[int, set[str]] = {}
        for partition in range(PARTITIONS):
            share = Share(partition, PARTITIONS, profiles)
            hits = es.search(index=source, query=share.query(es, source), size=10000, source=False)
            read[partition] = {h["_id"] for h in hits["hits"]["hits"]}
        shares = [Share(p, PARTITIONS, profiles) for p in range(PARTITIONS)]
        owners = [[s.partition for s in shares if s.classify(doc) == "own"] for doc in docs]
        assert all(len(o) == 1 for o in owners)  # one owner each
        missed = [n for n, o in enumerate(owners) if str(n) not in read[o[0]]]
        assert missed == []
        observed = [n for n, doc in enumerate(docs) if shares[0].classify(doc) == "observe"]
        assert all(str(n) in read[p] for n in observed for p in range(PARTITIONS))
        amplification = sum(len(ids) for ids in read.values()) / len(docs)
        assert amplification < 1.5, amplification  # a follower reads about its share, not everything
        used = {o[0] for o in owners}
        assert len(used) >= PARTITIONS - 1, used  # the actors spread over the partitions
    finally:
        es.indices.delete(index=source, ignore_unavailable=True)


def test_a_follower_with_another_partition_count_is_refused(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    raw, _ = synthetic_events(20, seed=2)
    load(es, names.raw, raw, raw=True)
    env = cli_env(es_url)
    first = run_cli([*member_args(names, "a"), "--once"], env, tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert count(es, names.dest) == len(raw)  # alone, it took every partition
    other = run_cli(member_args(names, "b", "--once", partitions=4), env, tmp_path)
    assert other.returncode == 2, other.stderr[-2000:]
    assert "runs with --partitions 8, not 4" in other.stderr
    assert "Traceback" not in other.stderr
