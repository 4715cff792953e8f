"""``enrich --follow`` and a source document the Python client cannot read back (issue 16 §1).

Elasticsearch 9.5 stores a document nested 990 levels deep (its limit is 1,000); the client's
JSON decoder gives up on it with a RecursionError, so before the fix the follower died with a
traceback on that page, on every restart, and its checkpoint never moved. (An integer of more
than 4,300 digits, the other value Python's JSON refuses, is refused by the node itself: its
parser stops at 1,000 digits; ``tests/unit/test_follow_fetch.py`` covers the client's side.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from tests.integration.test_follow import follow_args
from tests.integration.test_runner_support import Names, all_docs, cli_env, load, run_cli, synthetic_events

RAW_MAPPING = {"dynamic": False, "properties": {"@timestamp": {"type": "date"}}}
DEPTH = 990


@pytest.fixture
def names(es: Elasticsearch) -> Iterator[Names]:
    made = Names()
    es.indices.create(index=made.raw, mappings=RAW_MAPPING, settings={"number_of_replicas": 0})
    yield made
    made.drop(es)


def put_raw(es: Elasticsearch, index: str, doc_id: str, body: str) -> None:
    """Index ``body`` as it is (the client could not serialize such a document itself)."""
    es.perform_request(
        "PUT",
        f"/{index}/_doc/{doc_id}",
        params={"refresh": "true"},
        body=body.encode(),
        headers={"content-type": "application/json", "accept": "application/json"},
    )


def test_an_unreadable_source_document_is_dead_lettered_and_the_stream_goes_on(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    raw, _ = synthetic_events(40, seed=8)
    load(es, names.raw, raw, raw=True)
    deep = "[" * DEPTH + "]" * DEPTH
    middle = raw[len(raw) // 2]["@timestamp"]  # among the others: its page holds readable events too
    put_raw(
        es,
        names.raw,
        "deep-1",
        json.dumps({"@timestamp": middle, "event": {"id": "deep-1", "dataset": "generic.portal"}})[:-1]
        + f',"session":{{"id":"s-deep"}},"user":{{"name":"deep"}},"payload":{deep}}}',
    )
    with pytest.raises(RecursionError):  # what broke the follower: the client cannot read it back
        es.get(index=names.raw, id="deep-1")
    dead = tmp_path / "dead.ndjson"
    args = follow_args(names, "--batch-size", "25", "--dead-letter", str(dead))
    first = run_cli(args, cli_env(es_url), tmp_path)
    assert "Traceback" not in first.stderr, first.stderr[-3000:]
    assert first.returncode == 1, first.stderr[-3000:]  # a dead letter is a finding
    assert f"read={len(raw) + 1} " in first.stderr
    letters = [json.loads(line) for line in dead.read_text().splitlines()]
    assert [letter["source"] for letter in letters] == [f"{names.raw}/deep-1"]
    assert "nested too deeply" in letters[0]["reason"]
    written = {d["sessionwatch"]["event"]["id"] for d in all_docs(es, names.dest)}
    assert written == {e["event"]["id"] for e in raw}  # every other event, none lost
    # The checkpoint moved past it: a restart neither crashes nor reads it again.
    again = run_cli(args, cli_env(es_url), tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "read=0 " in again.stderr
    assert len(dead.read_text().splitlines()) == 1
