"""``sessionwatch enrich --follow`` against a real node: every event enriched and indexed exactly
once, with the same facts as file mode, across passes and a follower killed mid-run."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.bulk import document_id
from sessionwatch.follow import default_follower_id
from tests.integration.test_runner_support import (
    Names,
    alert_keys,
    all_docs,
    cli_env,
    count,
    enrich,
    load,
    run_cli,
    start_cli,
    synthetic_events,
    wait_for,
)

RAW_MAPPING = {"properties": {"@timestamp": {"type": "date"}}}


@pytest.fixture
def names(es: Elasticsearch) -> Iterator[Names]:
    made = Names()
    es.indices.create(
        index=made.raw, mappings=RAW_MAPPING, settings={"number_of_shards": 2, "number_of_replicas": 0}
    )
    yield made
    made.drop(es)


def follow_args(names: Names, *extra: str) -> list[str]:
    return [
        "enrich",
        "--follow",
        "--source-index",
        names.raw,
        "--dest-index",
        names.dest,
        "--state-index",
        names.state,
        "--once",
        *extra,
    ]


def facts_by_event(docs: list[dict[str, Any]]) -> dict[str, Any]:
    return {d["sessionwatch"]["event"]["id"]: d["sessionwatch"] for d in docs}


def assert_exactly_once(es: Elasticsearch, names: Names, raw: list[dict[str, Any]]) -> None:
    """Every raw event is in the destination once, under its document id (event id + digest of
    the event), with the facts file mode gives for the same events in (@timestamp, id) order,
    the order follow mode feeds."""
    assert len(raw) <= 10000  # one search returns them all
    assert count(es, names.dest) == len(raw)
    written = all_docs(es, names.dest)
    assert sorted(d["_id"] for d in written) == sorted(document_id(d) for d in enrich(raw))
    assert sorted(d["sessionwatch"]["event"]["id"] for d in written) == sorted(e["event"]["id"] for e in raw)
    assert facts_by_event(written) == facts_by_event(enrich(raw))


def test_follow_enriches_each_event_once_across_passes(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    raw, _ = synthetic_events(300)
    half = len(raw) // 2
    load(es, names.raw, raw[:half], raw=True)
    env = cli_env(es_url)
    first = run_cli(follow_args(names, "--batch-size", "37"), env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert count(es, names.dest) == half
    # New events arrive; the next pass reads only them, with the sessions' state carried over.
    load(es, names.raw, raw[half:], raw=True)
    second = run_cli(follow_args(names, "--batch-size", "37"), env, tmp_path)
    assert second.returncode == 0, second.stderr
    assert f"read={len(raw) - half} " in second.stderr
    assert_exactly_once(es, names, raw)
    # Caught up: another pass reads nothing and writes nothing.
    third = run_cli(follow_args(names), env, tmp_path)
    assert third.returncode == 0, third.stderr
    assert "read=0 " in third.stderr
    state = es.get(index=names.state, id=f"follow:{default_follower_id(names.raw, names.dest)}")
    assert json.loads(state["_source"]["data"]["engine"])["format"]


def test_follower_killed_mid_run_neither_skips_nor_duplicates(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    raw, _ = synthetic_events(1500, seed=11)
    load(es, names.raw, raw, raw=True)
    env = cli_env(es_url)
    args = follow_args(names, "--batch-size", "40")
    follower = start_cli(args, env, tmp_path, tmp_path / "first.log")
    try:
        wait_for(lambda: count(es, names.dest) >= 400, 120, "400 events written")
        assert follower.poll() is None, "the follower finished before it could be killed"
        follower.send_signal(signal.SIGKILL)
        follower.wait(30)
    finally:
        if follower.poll() is None:
            follower.kill()
    assert count(es, names.dest) < len(raw), "the follower was not killed mid-run"
    resumed = run_cli(args, env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert_exactly_once(es, names, raw)


def test_events_without_a_profile_pass_through_and_bad_ones_are_dead_lettered(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    raw, _ = synthetic_events(5)
    odd = {"@timestamp": "2026-03-02T12:00:00Z", "message": "no profile claims this"}
    # (an address Elasticsearch would refuse is repaired, not dead-lettered: test_faults_follow)
    bad = {**raw[0], "@timestamp": "2026-03-02T12:00:01Z", "token": {"exp": "soon"}}
    bad["event"] = {**raw[0]["event"], "id": "bad-1"}
    load(es, names.raw, [*raw, bad], raw=True)
    es.index(index=names.raw, document=odd, refresh=True)
    result = run_cli(
        follow_args(names, "--dead-letter", str(tmp_path / "dead.ndjson")), cli_env(es_url), tmp_path
    )
    assert result.returncode == 1, result.stderr  # a dead letter is a finding
    letters = [json.loads(line) for line in (tmp_path / "dead.ndjson").read_text().splitlines()]
    assert [letter["reason"] for letter in letters] == ["token expiry is not ISO-8601: 'soon'"]
    assert letters[0]["source"].startswith(f"{names.raw}/")
    docs = all_docs(es, names.dest)
    assert len(docs) == len(raw) + 1
    assert [d["message"] for d in docs if "message" in d] == ["no profile claims this"]


def test_follow_then_run_raises_the_expected_alerts(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    """The whole pipeline: raw events → enrich --follow → run → exactly the known violations."""
    raw, expected = synthetic_events(200, seed=3, span=timedelta(hours=3))
    load(es, names.raw, raw, raw=True)
    env = cli_env(es_url)
    followed = run_cli(follow_args(names), env, tmp_path)
    assert followed.returncode == 0, followed.stderr
    window = ["--start", "2026-03-02T00:00:00Z", "--until", "2026-03-02T06:00:00Z", "--every", "15m"]
    ran = run_cli(names.run_args(*window, index=names.dest), env, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert expected
    assert alert_keys(es, names.alerts) == sorted(expected)
