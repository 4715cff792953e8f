"""``enrich --follow`` and hostile events in the source index: an IPv6 zone id crashed the
follower on every restart, and ``client.ip: "-"`` (accepted by a source index that maps it as
text) was refused by the destination, so the follower retried forever and its checkpoint never
moved. Now both are enriched (the refused field dropped and recorded), every pass exits 0, and
a second pass finds nothing new."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.integration.test_follow import follow_args
from tests.integration.test_runner_support import Names, all_docs, cli_env, load, run_cli, synthetic_events

RAW_MAPPING = {
    "properties": {"@timestamp": {"type": "date"}, "client": {"properties": {"ip": {"type": "keyword"}}}}
}


@pytest.fixture
def names(es: Elasticsearch) -> Iterator[Names]:
    made = Names()
    es.indices.create(index=made.raw, mappings=RAW_MAPPING, settings={"number_of_replicas": 0})
    yield made
    made.drop(es)


def test_hostile_events_in_the_source_neither_crash_nor_stall_the_follower(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    raw, _ = synthetic_events(5)
    zone = {**raw[0], "@timestamp": "2026-03-02T12:00:01Z", "source": {"ip": "fe80::1%eth0"}}
    zone["event"] = {**raw[0]["event"], "id": "zone-1"}
    dash = {**raw[0], "@timestamp": "2026-03-02T12:00:02Z", "client": {"ip": "-"}}
    dash["event"] = {**raw[0]["event"], "id": "dash-1"}
    load(es, names.raw, [*raw, zone, dash], raw=True)
    dead = tmp_path / "dead.ndjson"
    first = run_cli(follow_args(names, "--dead-letter", str(dead)), cli_env(es_url), tmp_path)
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    docs = {d["sessionwatch"]["event"]["id"]: d for d in all_docs(es, names.dest)}
    assert len(docs) == len(raw) + 2
    assert docs["zone-1"]["sessionwatch"]["source"]["ip"] == "fe80::1%eth0"
    assert docs["dash-1"]["sessionwatch"]["quality"]["repaired_fields"] == ["client.ip"]
    assert json.loads(docs["dash-1"]["sessionwatch"]["quality"]["original_values"]) == {"client.ip": "-"}
    again = run_cli(follow_args(names, "--dead-letter", str(dead)), cli_env(es_url), tmp_path)
    assert again.returncode == 0, again.stderr  # restarted: no crash, nothing re-read
    assert len(all_docs(es, names.dest)) == len(raw) + 2
    assert not dead.exists() or dead.read_text() == ""
