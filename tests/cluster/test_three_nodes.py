"""``detect``, ``run`` and ``enrich --follow`` on a three-node cluster (indices with one replica)
while one node is killed, and while the cluster is restarted node by node.

Each test prints its figures (expected, written, lost, duplicated), the numbers
docs/reliability.md ("Three-node cluster") records. Lost and duplicated must be 0.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.bulk import document_id
from sessionwatch.indices import index_templates
from tests.cluster.conftest import NODES, Cluster
from tests.integration.test_follow import RAW_MAPPING, facts_by_event, follow_args
from tests.integration.test_runner_support import (
    DAY,
    IDLE_RULE,
    Names,
    all_docs,
    cli_env,
    count,
    enrich,
    iso,
    load,
    run_cli,
    start_cli,
    synthetic_events,
    wait_for,
)

REPLICATED = {"number_of_shards": 2, "number_of_replicas": 1}
SPAN = timedelta(hours=8)  # session starts of the synthetic workload
# a session goes on for up to 5 gaps of 25 minutes after its start: every event is evaluated
UNTIL = DAY + SPAN + timedelta(hours=3)


@pytest.fixture
def client(cluster: Cluster) -> Iterator[Elasticsearch]:
    made = cluster.client()
    yield made
    made.close()


def figures(what: str, expected: list[Any], written: list[Any]) -> dict[str, int]:
    """Expected / written / lost / duplicated of one test, printed for the docs."""
    seen = Counter(written)
    result = {
        "expected": len(expected),
        "written": len(written),
        "lost": len(set(expected) - set(seen)),
        "duplicated": sum(n - 1 for n in seen.values()),
        "unexpected": len(set(seen) - set(expected)),
    }
    print(f"\nFIGURES {what}: {json.dumps(result)}")
    return result


def assert_exact(what: str, expected: list[Any], written: list[Any]) -> None:
    result = figures(what, expected, written)
    assert result["lost"] == result["duplicated"] == result["unexpected"] == 0, result


def alert_pairs(client: Elasticsearch, index: str) -> list[tuple[str, str]]:
    return [
        (a["sessionwatch"]["session"]["id"], a["sessionwatch"]["evidence"]["event_ids"][0])
        for a in all_docs(client, index)
    ]


def replicated_events(client: Elasticsearch, name: str, docs: list[dict[str, Any]]) -> None:
    template = index_templates()["sessionwatch-events"]["template"]
    client.indices.create(index=name, mappings=template["mappings"], settings=REPLICATED)
    load(client, name, docs)


def kill_one_node(cluster: Cluster, node: str = "es03") -> Callable[[], None]:
    """Kill ``node`` (SIGKILL, no goodbye to the cluster); the returned call starts it again."""
    cluster.docker("kill", node)

    def revive() -> None:
        cluster.docker("start", node)
        cluster.wait("green", via=node)

    return revive


def finish(process: subprocess.Popen[bytes], log: Path, timeout: float = 900) -> str:
    try:
        assert process.wait(timeout) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
    return log.read_text()


# --- enrich --follow and run, side by side -----------------------------------------------------------


def _follow_and_run(cluster: Cluster, client: Elasticsearch, tmp_path: Path, disrupt: str = "kill") -> None:
    """A follower (raw → enriched events) and a runner (enriched events → alerts) on their own
    indices, both working while the cluster is disrupted; then exact counts for both."""
    follow_names, run_names = Names(), Names()
    try:
        client.indices.create(index=follow_names.raw, mappings=RAW_MAPPING, settings=REPLICATED)
        raw, _ = synthetic_events(300, seed=31, span=SPAN)
        load(client, follow_names.raw, raw, raw=True)
        run_raw, expected = synthetic_events(300, seed=37, span=SPAN)
        replicated_events(client, run_names.events, enrich(run_raw))
        env = cli_env(cluster.entry_url)
        follow_log, run_log = tmp_path / "follow.log", tmp_path / "runner.log"
        follower = start_cli(follow_args(follow_names, "--batch-size", "40"), env, tmp_path, follow_log)
        runner = start_cli(
            run_names.run_args("--start", iso(DAY), "--until", iso(UNTIL)), env, tmp_path, run_log
        )
        revive = None
        try:
            wait_for(lambda: count(client, follow_names.dest) >= 200, 600, "200 events written")
            wait_for(lambda: count(client, run_names.audit) >= 20, 600, "20 evaluations")
            revive = kill_one_node(cluster)
            finish(follower, follow_log)
            finish(runner, run_log)
        finally:
            if revive is not None:
                revive()
        written = all_docs(client, follow_names.dest)
        # each document under the id the follower gives it: event id + digest of the event
        assert_exact(
            f"enrich --follow, {disrupt}", [document_id(d) for d in enrich(raw)], [d["_id"] for d in written]
        )
        assert facts_by_event(written) == facts_by_event(enrich(raw))
        for index in (run_names.alerts, run_names.audit, run_names.state):
            settings = client.indices.get_settings(index=index)
            replicas = [int(s["settings"]["index"].get("number_of_replicas", 0)) for s in settings.values()]
            assert min(replicas) >= 1, (index, replicas)
        assert_exact(f"run, {disrupt}", sorted(expected), alert_pairs(client, run_names.alerts))
    finally:
        follow_names.drop(client)
        run_names.drop(client)


def test_follow_and_run_while_a_node_is_killed(
    cluster: Cluster, client: Elasticsearch, tmp_path: Path
) -> None:
    _follow_and_run(cluster, client, tmp_path, "kill")


def test_follow_and_run_through_a_rolling_restart(
    cluster: Cluster, client: Elasticsearch, tmp_path: Path
) -> None:
    """Node by node (es03, es02, then es01, the CLI's only address): for each node a follower
    (``--once``) over a third of the raw events and a runner over a third of the windows (resuming
    from its checkpoint) are started, the node is restarted once both are under way, and both
    must finish; the next node waits until the restarted one answers as part of a green cluster."""
    follow_names, run_names = Names(), Names()
    try:
        client.indices.create(index=follow_names.raw, mappings=RAW_MAPPING, settings=REPLICATED)
        raw, _ = synthetic_events(300, seed=31, span=SPAN)
        run_raw, expected = synthetic_events(300, seed=37, span=SPAN)
        replicated_events(client, run_names.events, enrich(run_raw))
        env = cli_env(cluster.entry_url)
        step = (UNTIL - DAY) / 3
        thirds = [raw[i * len(raw) // 3 : (i + 1) * len(raw) // 3] for i in range(3)]
        for i, node in enumerate(reversed(NODES)):
            load(client, follow_names.raw, thirds[i], raw=True)
            written, audited = count(client, follow_names.dest), count(client, run_names.audit)
            follow_log, run_log = tmp_path / f"follow-{node}.log", tmp_path / f"runner-{node}.log"
            follower = start_cli(follow_args(follow_names, "--batch-size", "20"), env, tmp_path, follow_log)
            until = iso(DAY + step * (i + 1))
            runner = start_cli(
                run_names.run_args("--start", iso(DAY), "--until", until), env, tmp_path, run_log
            )
            wait_for(lambda w=written: count(client, follow_names.dest) > w, 600, "the follower under way")
            wait_for(lambda a=audited: count(client, run_names.audit) > a + 2, 600, "the runner under way")
            cluster.docker("restart", node)
            cluster.wait("green", via=node)
            finish(follower, follow_log)
            finish(runner, run_log)
            retried = {
                name: "retry" in log.read_text() for name, log in (("follow", follow_log), ("run", run_log))
            }
            print(f"\nrestart of {node}: retried {retried}")
        written_docs = all_docs(client, follow_names.dest)
        assert_exact(
            "enrich --follow, rolling restart",
            [document_id(d) for d in enrich(raw)],
            [d["_id"] for d in written_docs],
        )
        assert facts_by_event(written_docs) == facts_by_event(enrich(raw))
        assert_exact("run, rolling restart", sorted(expected), alert_pairs(client, run_names.alerts))
    finally:
        follow_names.drop(client)
        run_names.drop(client)


# --- detect ---------------------------------------------------------------------------------------------


def _detect(
    cluster: Cluster, tmp_path: Path, expected: set[tuple[str, str]], events: Path
) -> list[tuple[str, str]]:
    done = run_cli(
        [
            "detect",
            "--events",
            str(events),
            "--rules",
            str(IDLE_RULE),
            "--from",
            iso(DAY),
            "--to",
            iso(UNTIL),
        ],
        cli_env(cluster.entry_url),
        tmp_path,
    )
    assert done.returncode == (1 if expected else 0), done.stderr
    alerts = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return [
        (a["sessionwatch"]["session"]["id"], a["sessionwatch"]["evidence"]["event_ids"][0]) for a in alerts
    ]


def test_detect_while_a_node_is_down_and_during_a_restart(cluster: Cluster, tmp_path: Path) -> None:
    raw, expected = synthetic_events(300, seed=41, span=SPAN)
    events = tmp_path / "events.ndjson"
    events.write_text("".join(json.dumps(e) + "\n" for e in raw))
    revive = kill_one_node(cluster)
    try:
        assert_exact(
            "detect, one node killed", sorted(expected), _detect(cluster, tmp_path, expected, events)
        )
    finally:
        revive()
    outcome: dict[str, list[tuple[str, str]]] = {}
    restarting = threading.Thread(target=lambda: cluster.docker("restart", "es02"))
    restarting.start()
    try:
        outcome["during"] = _detect(cluster, tmp_path, expected, events)
    finally:
        restarting.join()
        cluster.wait("green", via="es02")
    assert_exact("detect, during a node restart", sorted(expected), outcome["during"])
