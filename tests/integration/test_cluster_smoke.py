"""Smoke tests of the test cluster: they document what the node supports.

Everything here is what the rendered rules rely on (scriptless Query DSL and core
aggregations) and must pass on both the official image and the local image built from
the integ-test distribution (no rest-root, no lang-painless, no aggregations module).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from elasticsearch import ApiError, BadRequestError, Elasticsearch

EVENTS_MAPPING: dict[str, Any] = {
    "properties": {
        "@timestamp": {"type": "date"},
        "event": {"properties": {"action": {"type": "keyword"}}},
        "user": {"properties": {"name": {"type": "keyword"}}},
        "source": {"properties": {"ip": {"type": "ip"}}},
        "sessionwatch": {
            "properties": {
                "session": {"properties": {"id": {"type": "keyword"}}},
                "idle_seconds": {"type": "long"},
            }
        },
    }
}

# 12 events: 3 sessions, 2 users, over 3 hours, from two networks
EVENTS: list[dict[str, Any]] = [
    {
        "@timestamp": "2024-05-01T08:00:00Z",
        "user": "alice",
        "s": "s1",
        "ip": "10.1.2.3",
        "a": "login",
        "idle": 0,
    },
    {
        "@timestamp": "2024-05-01T08:20:00Z",
        "user": "alice",
        "s": "s1",
        "ip": "10.1.2.3",
        "a": "read",
        "idle": 1200,
    },
    {
        "@timestamp": "2024-05-01T08:50:00Z",
        "user": "alice",
        "s": "s1",
        "ip": "10.1.2.3",
        "a": "read",
        "idle": 1800,
    },
    {
        "@timestamp": "2024-05-01T09:10:00Z",
        "user": "alice",
        "s": "s1",
        "ip": "203.0.113.7",
        "a": "read",
        "idle": 1200,
    },
    {
        "@timestamp": "2024-05-01T09:15:00Z",
        "user": "alice",
        "s": "s1",
        "ip": "203.0.113.7",
        "a": "logout",
        "idle": 300,
    },
    {
        "@timestamp": "2024-05-01T09:40:00Z",
        "user": "alice",
        "s": "s1",
        "ip": "203.0.113.7",
        "a": "read",
        "idle": 1500,
    },
    {
        "@timestamp": "2024-05-01T08:05:00Z",
        "user": "bob",
        "s": "s2",
        "ip": "10.9.9.9",
        "a": "login",
        "idle": 0,
    },
    {
        "@timestamp": "2024-05-01T08:06:00Z",
        "user": "bob",
        "s": "s2",
        "ip": "10.9.9.9",
        "a": "read",
        "idle": 60,
    },
    {
        "@timestamp": "2024-05-01T10:30:00Z",
        "user": "bob",
        "s": "s2",
        "ip": "10.9.9.9",
        "a": "read",
        "idle": 8640,
    },
    {
        "@timestamp": "2024-05-01T09:00:00Z",
        "user": "bob",
        "s": "s3",
        "ip": "192.0.2.10",
        "a": "login",
        "idle": 0,
    },
    {
        "@timestamp": "2024-05-01T09:01:00Z",
        "user": "bob",
        "s": "s3",
        "ip": "192.0.2.10",
        "a": "read",
        "idle": 60,
    },
    {
        "@timestamp": "2024-05-01T09:02:00Z",
        "user": "bob",
        "s": "s3",
        "ip": "192.0.2.10",
        "a": "read",
        "idle": 60,
    },
]


def _doc(e: dict[str, Any]) -> dict[str, Any]:
    return {
        "@timestamp": e["@timestamp"],
        "event": {"action": e["a"]},
        "user": {"name": e["user"]},
        "source": {"ip": e["ip"]},
        "sessionwatch": {"session": {"id": e["s"]}, "idle_seconds": e["idle"]},
    }


@pytest.fixture
def events_index(es: Elasticsearch, fresh_index: Callable[..., str]) -> str:
    index = fresh_index("sw-smoke-events", mappings=EVENTS_MAPPING)
    operations: list[dict[str, Any]] = []
    for i, event in enumerate(EVENTS):
        operations.append({"index": {"_index": index, "_id": f"e{i}"}})
        operations.append(_doc(event))
    result = es.bulk(operations=operations)
    assert result["errors"] is False, result
    es.indices.refresh(index=index)
    return index


def test_cluster_health_is_green_or_yellow(es: Elasticsearch) -> None:
    health = es.cluster.health(wait_for_status="yellow", timeout="10s")
    assert health["status"] in {"green", "yellow"}
    assert health["number_of_nodes"] >= 1


def test_root_endpoint_depends_on_rest_root_module(es: Elasticsearch, es_modules: frozenset[str]) -> None:
    """`GET /` (client info()/ping()) needs the rest-root module; the integ-test zip lacks it."""
    if "rest-root" in es_modules:
        assert es.info()["version"]["number"]
        assert es.ping() is True
    else:
        with pytest.raises(ApiError) as excinfo:
            es.info()
        assert excinfo.value.meta.status == 405
        assert es.ping() is False


def test_composable_index_template_on_plain_index(es: Elasticsearch) -> None:
    suffix = uuid.uuid4().hex[:10]
    template = f"sw-smoke-template-{suffix}"
    pattern_prefix = f"sw-smoke-tmpl-{suffix}"
    es.indices.put_index_template(
        name=template,
        index_patterns=[f"{pattern_prefix}-*"],
        priority=500,
        template={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": EVENTS_MAPPING,
        },
    )
    index = f"{pattern_prefix}-000001"
    try:
        es.index(index=index, document=_doc(EVENTS[0]), refresh=True)
        mapping = es.indices.get_mapping(index=index)[index]["mappings"]
        assert mapping["properties"]["source"]["properties"]["ip"]["type"] == "ip"
        settings = es.indices.get_settings(index=index)[index]["settings"]["index"]
        assert settings["number_of_replicas"] == "0"
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
        es.indices.delete_index_template(name=template)


def test_bulk_search_range_term_and_cidr_terms(es: Elasticsearch, events_index: str) -> None:
    result = es.search(
        index=events_index,
        size=20,
        query={
            "bool": {
                "filter": [
                    {"range": {"@timestamp": {"gte": "2024-05-01T08:00:00Z", "lt": "2024-05-01T10:00:00Z"}}},
                    {"term": {"event.action": "read"}},
                    {"terms": {"source.ip": ["10.0.0.0/8", "192.0.2.0/24"]}},
                    {"exists": {"field": "sessionwatch.session.id"}},
                ],
                "must_not": [{"term": {"user.name": "nobody"}}],
            }
        },
        sort=[{"@timestamp": "asc"}],
    )
    ids = [hit["_id"] for hit in result["hits"]["hits"]]
    assert ids == ["e7", "e1", "e2", "e10", "e11"]
    assert result["hits"]["total"] == {"value": 5, "relation": "eq"}

    # a single CIDR in a term query
    outside = es.search(
        index=events_index, query={"bool": {"must_not": [{"term": {"source.ip": "10.0.0.0/8"}}]}}
    )
    assert outside["hits"]["total"]["value"] == 6


def test_terms_lookup(es: Elasticsearch, events_index: str, fresh_index: Callable[..., str]) -> None:
    lists = fresh_index("sw-smoke-lists", mappings={"properties": {"users": {"type": "keyword"}}})
    es.index(index=lists, id="disabled", document={"users": ["bob"]}, refresh=True)
    result = es.search(
        index=events_index,
        query={"terms": {"user.name": {"index": lists, "id": "disabled", "path": "users"}}},
    )
    assert result["hits"]["total"]["value"] == 6


def test_core_aggregations(es: Elasticsearch, events_index: str) -> None:
    result = es.search(
        index=events_index,
        size=0,
        aggs={
            "sessions": {
                "terms": {"field": "sessionwatch.session.id", "size": 10, "order": {"_key": "asc"}},
                "aggs": {
                    "first": {"min": {"field": "@timestamp"}},
                    "last": {"max": {"field": "@timestamp"}},
                    "ips": {"cardinality": {"field": "source.ip"}},
                    "latest": {
                        "top_hits": {"size": 1, "sort": [{"@timestamp": "desc"}], "_source": ["event.action"]}
                    },
                },
            },
            "users": {"cardinality": {"field": "user.name"}},
            "per_hour": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h"}},
            "by_kind": {
                "filters": {
                    "filters": {
                        "logins": {"term": {"event.action": "login"}},
                        "idle_over_30m": {"range": {"sessionwatch.idle_seconds": {"gt": 1800}}},
                    }
                }
            },
        },
    )
    aggs = result["aggregations"]
    sessions = {b["key"]: b for b in aggs["sessions"]["buckets"]}
    assert [b["key"] for b in aggs["sessions"]["buckets"]] == ["s1", "s2", "s3"]
    assert sessions["s1"]["doc_count"] == 6
    assert sessions["s1"]["first"]["value_as_string"] == "2024-05-01T08:00:00.000Z"
    assert sessions["s1"]["last"]["value_as_string"] == "2024-05-01T09:40:00.000Z"
    assert sessions["s1"]["ips"]["value"] == 2
    assert sessions["s2"]["latest"]["hits"]["hits"][0]["_source"] == {"event": {"action": "read"}}
    assert aggs["users"]["value"] == 2
    assert [b["doc_count"] for b in aggs["per_hour"]["buckets"]] == [5, 6, 1]
    assert aggs["by_kind"]["buckets"]["logins"]["doc_count"] == 3
    assert aggs["by_kind"]["buckets"]["idle_over_30m"]["doc_count"] == 1


def test_composite_aggregation_pages(es: Elasticsearch, events_index: str) -> None:
    pairs: list[tuple[str, str]] = []
    after: dict[str, Any] | None = None
    pages = 0
    while True:
        composite: dict[str, Any] = {
            "size": 2,
            "sources": [
                {"user": {"terms": {"field": "user.name"}}},
                {"session": {"terms": {"field": "sessionwatch.session.id"}}},
            ],
        }
        if after is not None:
            composite["after"] = after
        result = es.search(index=events_index, size=0, aggs={"pairs": {"composite": composite}})
        agg = result["aggregations"]["pairs"]
        if not agg["buckets"]:
            break
        pages += 1
        pairs += [(b["key"]["user"], b["key"]["session"]) for b in agg["buckets"]]
        after = agg.get("after_key")
        if after is None:
            break
    assert pairs == [("alice", "s1"), ("bob", "s2"), ("bob", "s3")]
    assert pages == 2


def test_point_in_time_with_search_after(es: Elasticsearch, events_index: str) -> None:
    pit = es.open_point_in_time(index=events_index, keep_alive="1m")["id"]
    try:
        seen: list[str] = []
        search_after: list[Any] | None = None
        while True:
            kwargs: dict[str, Any] = {}
            if search_after is not None:
                kwargs["search_after"] = search_after
            result = es.search(
                size=5,
                pit={"id": pit, "keep_alive": "1m"},
                sort=[{"@timestamp": "asc"}, {"_shard_doc": "asc"}],
                **kwargs,
            )
            hits = result["hits"]["hits"]
            if not hits:
                break
            pit = result.get("pit_id", pit)
            seen += [h["_id"] for h in hits]
            search_after = hits[-1]["sort"]
        assert len(seen) == len(EVENTS)
        assert len(set(seen)) == len(EVENTS)
        assert seen[0] == "e0"
        assert seen[-1] == "e8"
    finally:
        es.close_point_in_time(id=pit)


def test_script_queries_depend_on_painless(
    es: Elasticsearch, events_index: str, es_modules: frozenset[str]
) -> None:
    """Rules are scriptless; this records whether this node could run painless at all."""
    query = {"script": {"script": {"source": "doc['sessionwatch.idle_seconds'].value > 1800"}}}
    if "lang-painless" in es_modules:
        assert es.search(index=events_index, query=query)["hits"]["total"]["value"] == 1
    else:
        with pytest.raises(BadRequestError):
            es.search(index=events_index, query=query)
