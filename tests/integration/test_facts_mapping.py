"""The mapping generated from the facts vocabulary, in a real node: accepted, and every fact is
queryable by its type (range on numbers and dates, CIDR terms on IPs, terms on keywords)."""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.enrichers import FACTS, Fact, events_mapping
from tests.cli_runner import run_sessionwatch
from tests.unit.test_enrich_helpers import get, sample_outputs

DOCS = sample_outputs()


@pytest.fixture(scope="module")
def facts_index(es: Elasticsearch) -> Iterator[str]:
    name = f"sw-facts-mapping-{uuid.uuid4().hex[:12]}"
    es.indices.create(
        index=name, mappings=events_mapping(), settings={"number_of_shards": 1, "number_of_replicas": 0}
    )
    try:
        operations: list[dict[str, Any]] = []
        for number, doc in enumerate(DOCS):
            operations += [{"index": {"_index": name, "_id": str(number)}}, doc]
        response = es.bulk(operations=operations, refresh=True)
        assert not response["errors"], [i for i in response["items"] if "error" in i["index"]][:3]
        yield name
    finally:
        es.indices.delete(index=name, ignore_unavailable=True)


def test_mapping_is_accepted_as_generated(es: Elasticsearch, facts_index: str) -> None:
    stored = es.indices.get_mapping(index=facts_index)[facts_index]["mappings"]
    assert stored["dynamic"] in ("false", False)
    for fact in FACTS:
        node: Any = stored
        for part in fact.name.split("."):
            node = node["properties"][part]
        assert node["type"] == fact.type, fact.name
    assert es.count(index=facts_index)["count"] == len(DOCS)


def _values(fact: Fact) -> list[Any]:
    return [v for v in (get(doc, fact.name) for doc in DOCS) if v is not None]


def _query_and_expected(fact: Fact, values: list[Any]) -> tuple[dict[str, Any], int]:
    name = fact.name
    if fact.type in ("long", "double"):
        pivot = sorted(values)[len(values) // 2]
        return {"range": {name: {"gte": pivot}}}, sum(1 for v in values if v >= pivot)
    if fact.type == "date":
        moments = sorted(datetime.fromisoformat(v) for v in values)
        pivot = moments[len(moments) // 2]
        expected = sum(1 for m in moments if m >= pivot)
        return {"range": {name: {"gte": pivot.isoformat()}}}, expected
    if fact.type == "boolean":
        return {"term": {name: True}}, sum(1 for v in values if v is True)
    if fact.type == "ip":
        first = ipaddress.ip_address(values[0])
        network = ipaddress.ip_network(f"{first}/{24 if first.version == 4 else 64}", strict=False)
        expected = sum(1 for v in values if ipaddress.ip_address(v) in network)
        return {"term": {name: str(network)}}, expected
    if any(isinstance(v, list) for v in values):  # a keyword array: a document matches any item
        common = Counter(item for v in values for item in v).most_common(1)[0][0]
        return {"terms": {name: [common]}}, sum(1 for v in values if common in v)
    common, count = Counter(values).most_common(1)[0]
    return {"terms": {name: [common]}}, count


@pytest.mark.parametrize("fact", FACTS, ids=[f.name for f in FACTS])
def test_every_fact_is_queryable_by_its_type(es: Elasticsearch, facts_index: str, fact: Fact) -> None:
    values = _values(fact)
    assert values, f"no sample document carries {fact.name}"
    query, expected = _query_and_expected(fact, values)
    assert expected > 0
    assert es.count(index=facts_index, query=query)["count"] == expected
    exists = es.count(index=facts_index, query={"exists": {"field": fact.name}})["count"]
    assert exists == len(values)


def test_cidr_terms_on_ips_cover_ipv6_prefixes(es: Elasticsearch, facts_index: str) -> None:
    network = ipaddress.ip_network("2001:db8:1:2::/64")
    values = [get(d, "sessionwatch.source.ip") for d in DOCS]
    expected = sum(1 for v in values if v and ipaddress.ip_address(v) in network)
    assert expected == 2
    query = {"term": {"sessionwatch.source.ip": str(network)}}
    assert es.count(index=facts_index, query=query)["count"] == expected
    changed = {"bool": {"filter": [{"term": {"sessionwatch.ip.prefix_changed": True}}, query]}}
    assert es.count(index=facts_index, query=changed)["count"] == 0
    moved = {"term": {"sessionwatch.ip.first": str(network)}}
    assert es.count(index=facts_index, query=moved)["count"] == 3


def test_account_facts_from_an_inventory_index(es: Elasticsearch, es_url: str, tmp_path: Path) -> None:
    index = f"sw-inventory-{uuid.uuid4().hex[:12]}"
    records = [
        {"user": "dormant@example.com", "status": "active", "last_seen": "2026-01-01T00:00:00Z"},
        {"user": "gone@example.com", "status": "deprovisioned"},
    ]
    operations: list[dict[str, Any]] = []
    for record in records:
        operations += [{"index": {"_index": index}}, record]
    try:
        assert not es.bulk(operations=operations, refresh=True)["errors"]
        source = tmp_path / "in.ndjson"
        source.write_text(
            "".join(
                json.dumps(
                    {"@timestamp": "2026-03-02T00:00:00Z", "event": {"id": user}, "user": {"name": user}}
                )
                + "\n"
                for user in ("dormant@example.com", "gone@example.com", "new@example.com")
            )
        )
        command = ["enrich", str(source), "-o", "out.ndjson"]
        done = run_sessionwatch(
            [*command, "--inventory-index", index, "--es-url", es_url], cwd=tmp_path, timeout=120
        )
        assert done.returncode == 0, done.stderr
        out = [
            json.loads(line)["sessionwatch"] for line in (tmp_path / "out.ndjson").read_text().splitlines()
        ]
        accounts = {facts["event"]["id"]: facts["account"] for facts in out}
        assert accounts["dormant@example.com"] == {
            "status": "active",
            "last_seen": "2026-01-01T00:00:00.000Z",
            "dormant_days": 60.0,
        }
        assert accounts["gone@example.com"] == {"status": "deprovisioned"}
        assert accounts["new@example.com"] == {"status": "unknown"}
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
