"""Kibana detection rules against the real node: every rule's filter is a query the events
mapping accepts, and threshold fields are aggregatable there (no Kibana here: the import format
itself is checked by the schema in the unit tests)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.harness import create_events_index
from sessionwatch.renderer.kibana import render_kibana_rule
from sessionwatch.rule_sources import Selection, load_selected
from sessionwatch.rules import Rule

RULES = load_selected([], include_deprecated=False, selection=Selection.AS_WRITTEN)


@pytest.fixture(scope="module")
def events_index(es: Elasticsearch) -> Iterator[str]:
    name = f"sw-kibana-events-{uuid.uuid4().hex[:12]}"
    create_events_index(es, name)
    yield name
    es.indices.delete(index=name, ignore_unavailable=True)


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_filter_and_threshold_fit_the_events_mapping(
    es: Elasticsearch, events_index: str, rule: Rule
) -> None:
    doc = render_kibana_rule(rule)
    (kibana_filter,) = doc["filters"]
    checked = es.indices.validate_query(index=events_index, query=kibana_filter["query"], explain=True)
    assert checked["valid"], checked
    if doc["type"] == "threshold":
        fields = [*doc["threshold"]["field"], *(c["field"] for c in doc["threshold"].get("cardinality", []))]
        caps = es.field_caps(index=events_index, fields=fields)["fields"]
        for field in fields:
            assert any(spec["aggregatable"] for spec in caps[field].values()), field
