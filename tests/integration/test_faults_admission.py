"""What the engine writes, a real node accepts: hostile events repaired, long ids still matched.

``test_one_event`` proves in-process that no hostile value stops a stream and that ``admit``
finds nothing left to repair in the output; here the same outputs (the named cases plus fuzzed
lines of every profile) are bulk-indexed, as the raw text the engine wrote, into an index with
the facts mapping: zero rejects. And a session id longer than the old ``ignore_above`` (1,024)
or than any indexable keyword is still found by a ``term`` query on ``sessionwatch.session.id``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers, events_mapping
from sessionwatch.indices import create_events_index
from tests.hardening.events_fuzz import hostile_line
from tests.hardening.test_one_event import event, line, stream

EXAMPLES = 40


@cache
def profiles() -> ProfileRegistry:
    return ProfileRegistry.discover()


def enriched_lines(lines: list[str]) -> list[str]:
    engine = Engine(profiles(), discover_enrichers())
    outputs = list(engine.process(lines))
    assert engine.counts.conserved
    return [o.text() for o in outputs if o.dead is None]


@pytest.fixture(scope="module")
def fuzz_index(es: Elasticsearch) -> Iterator[str]:
    name = f"sw-admit-fuzz-{uuid.uuid4().hex[:12]}"
    create_events_index(es, name)
    yield name
    es.indices.delete(index=name, ignore_unavailable=True)


def bulk_raw(es: Elasticsearch, index: str, lines: list[str], refresh: bool = True) -> list[dict[str, Any]]:
    """Index the lines exactly as written; the items Elasticsearch refused."""
    if not lines:
        return []
    body = "".join(f'{{"index":{{}}}}\n{text}\n' for text in lines)
    raw: Any = body  # NDJSON text, sent as is (a list of dicts would be re-serialised)
    result = es.bulk(index=index, operations=raw, refresh=refresh)
    return [item["index"] for item in result["items"] if item["index"].get("error")]


def test_the_named_hostile_events_are_accepted(es: Elasticsearch, fresh_index: Callable[..., str]) -> None:
    index = fresh_index("sw-admit", mappings=events_mapping())
    written = enriched_lines(stream().splitlines())
    assert len(written) >= 8
    assert bulk_raw(es, index, written) == []
    found = es.search(index=index, query={"term": {"sessionwatch.quality.repaired_fields": "client.ip"}})
    assert found["hits"]["total"]["value"] == 1


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(st.lists(hostile_line(), min_size=1, max_size=8))
def test_fuzzed_outputs_are_accepted(es: Elasticsearch, fuzz_index: str, lines: list[str]) -> None:
    written = enriched_lines(lines)
    assert bulk_raw(es, fuzz_index, written, refresh=False) == []


def test_long_session_ids_are_still_matched(es: Elasticsearch, fresh_index: Callable[..., str]) -> None:
    index = fresh_index("sw-long", mappings=events_mapping())
    just_over = "s" * 1025  # evaded the rules under ignore_above: 1024
    huge = "x" * 9000  # beyond any indexable keyword: written as its SHA-256
    written = enriched_lines(
        [line(event(1, session={"id": just_over})), line(event(2, session={"id": huge}))]
    )
    assert bulk_raw(es, index, written) == []
    for wanted in (just_over, "sha256:" + hashlib.sha256(huge.encode()).hexdigest()):
        found = es.search(index=index, query={"term": {"sessionwatch.session.id": wanted}})
        assert found["hits"]["total"]["value"] == 1, wanted[:40]
    assert json.loads(written[1])["session"]["id"] == huge  # the input field itself is kept
