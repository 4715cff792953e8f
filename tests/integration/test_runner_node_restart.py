"""The runner and follow mode while their Elasticsearch node is killed and restarted mid-run.

The node is the ``restart`` node scripts/run-tests.sh started for this module alone
(tests/shared_nodes.py), else a container of this module's own (docker, a free port in
19241-19259), so the suite's node is never disturbed; without docker the tests are skipped, saying why.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.integration.test_follow import RAW_MAPPING, assert_exactly_once, follow_args
from tests.integration.test_runner_support import (
    DAY,
    Names,
    OwnNode,
    alert_keys,
    all_docs,
    assert_windows_contiguous,
    cli_env,
    count,
    docker_problem,
    enrich,
    events_index,
    load,
    start_cli,
    synthetic_events,
    wait_for,
)
from tests.shared_nodes import shared_node


@pytest.fixture(scope="module")
def node() -> Iterator[OwnNode]:
    shared = shared_node("restart")  # started by scripts/run-tests.sh, reset for this module
    if shared is not None:
        yield OwnNode.attach(shared)
        return
    problem = docker_problem()
    if problem:
        pytest.skip(f"restart tests start their own Elasticsearch container: {problem}")
    own = OwnNode()
    try:
        own.start()
        yield own
    finally:
        own.remove()


@pytest.fixture
def client(node: OwnNode) -> Iterator[Elasticsearch]:
    made = Elasticsearch(node.url, request_timeout=30, retry_on_timeout=True, max_retries=3)
    yield made
    made.close()


def _restart_mid_run(node: OwnNode, process: subprocess.Popen[bytes]) -> None:
    assert process.poll() is None, "finished before the node restart"
    node.restart()
    node.wait_healthy()


def test_runner_backs_off_while_the_node_restarts_and_ends_exact(
    node: OwnNode, client: Elasticsearch, tmp_path: Path
) -> None:
    names = Names()
    raw, expected = synthetic_events(600, seed=23)
    load(client, events_index(client, names.events), enrich(raw))
    args = names.run_args("--start", "2026-03-02T00:00:00Z", "--until", "2026-03-02T21:00:00Z")
    log = tmp_path / "runner.log"
    runner = start_cli(args, cli_env(node.url), tmp_path, log)
    try:
        wait_for(lambda: count(client, names.audit) >= 30, 120, "30 evaluations")
        _restart_mid_run(node, runner)
        assert runner.wait(600) == 0, log.read_text()
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGKILL)
    output = log.read_text()
    assert "retry 1 in" in output  # the runner saw the node go away and backed off
    assert alert_keys(client, names.alerts) == sorted(expected)
    audit = all_docs(client, names.audit)
    assert_windows_contiguous(
        audit,
        start=DAY,
        until=DAY + timedelta(hours=21),
        lookback=timedelta(hours=1),
        step=timedelta(minutes=5),
    )
    print(f"\nrunner: {sum(r['outcome'] == 'error' for r in audit)} failed evaluations audited, then resumed")


def test_follower_survives_a_node_restart_exactly_once(
    node: OwnNode, client: Elasticsearch, tmp_path: Path
) -> None:
    names = Names()
    client.indices.create(
        index=names.raw, mappings=RAW_MAPPING, settings={"number_of_shards": 2, "number_of_replicas": 0}
    )
    raw, _ = synthetic_events(1500, seed=29)
    load(client, names.raw, raw, raw=True)
    log = tmp_path / "follow.log"
    follower = start_cli(follow_args(names, "--batch-size", "40"), cli_env(node.url), tmp_path, log)
    try:
        wait_for(lambda: count(client, names.dest) >= 300, 120, "300 events written")
        _restart_mid_run(node, follower)
        assert follower.wait(600) == 0, log.read_text()
    finally:
        if follower.poll() is None:
            follower.send_signal(signal.SIGKILL)
    assert "follow: " in log.read_text()
    assert "retry 1 in" in log.read_text()
    assert_exactly_once(client, names, raw)
