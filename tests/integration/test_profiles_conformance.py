"""Every shipped profile's conformance fixture, enriched and indexed into the real node with the
facts mapping: accepted without a mapping error, one document per event, and the canonical
actions queryable as the enricher wrote them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.indices import temporary_events_index
from tests.unit.test_profiles_conformance import PROFILES, enrich, fixture_documents


@pytest.fixture(scope="module")
def index(es: Elasticsearch) -> Iterator[str]:
    with temporary_events_index(es, "sw-profiles-") as name:
        yield name


@pytest.mark.parametrize("profile", PROFILES)
def test_fixture_indexes_with_the_facts_mapping(es: Elasticsearch, index: str, profile: str) -> None:
    docs = fixture_documents(profile)
    operations: list[dict[str, object]] = []
    for number, doc in enumerate(docs, start=1):
        operations += [{"index": {"_index": index, "_id": f"{profile}-{number}"}}, doc]
    response = es.bulk(operations=operations, refresh=True)
    assert not response["errors"], [i for i in response["items"] if "error" in i["index"]][:3]
    ids = [f"{profile}-{n}" for n in range(1, len(docs) + 1)]
    query = {"ids": {"values": ids}}
    assert es.count(index=index, query=query)["count"] == len(docs)
    found = es.search(
        index=index,
        query=query,
        size=0,
        aggs={"actions": {"terms": {"field": "sessionwatch.event.action", "size": 20}}},
    )
    indexed = {b["key"]: b["doc_count"] for b in found["aggregations"]["actions"]["buckets"]}
    assert indexed == dict(Counter(facts["event"]["action"] for facts in enrich(profile)))
