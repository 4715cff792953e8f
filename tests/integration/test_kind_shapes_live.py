"""Each kind's query template and its declared alert shape agree, in a real node.

Every shipped rule's rendered search runs against an index with the events mapping sessionwatch
installs (no documents: the node still parses the whole body, resolves every sort and aggregation
field against the mapping, and answers in the response shape). A kind declared ``EVENTS`` must
answer with sorted hits; a grouped kind with the ``groups`` composite aggregation the alert
builder pages through. A template that disagreed with its declaration, or that named a field the
mapping lacks in a sort or aggregation, fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.alerts import GROUPS_AGG, alerts_from_response
from sessionwatch.indices import temporary_events_index
from sessionwatch.renderer import Window, render_query
from sessionwatch.rules import Rule, load_rules
from sessionwatch.rules.kinds import Shape

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
RULES = sorted(load_rules([PACK]), key=lambda r: r.name)
WINDOW = Window("2026-01-15T09:00:00.000Z", "2026-01-15T10:00:00.000Z")


@pytest.fixture(scope="module")
def events_index(es: Elasticsearch) -> Iterator[str]:
    with temporary_events_index(es, "sw-kind-shapes-") as name:
        yield name


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rendered_search_answers_in_the_declared_shape(
    es: Elasticsearch, events_index: str, rule: Rule
) -> None:
    body = render_query(rule, WINDOW)
    response = es.search(index=events_index, body=body).body  # a 400 here fails the test
    if rule.spec.shape is Shape.EVENTS:
        assert "aggregations" not in response
        assert response["hits"]["hits"] == []
        assert next(iter(body["sort"][0])) == "@timestamp"
    else:
        assert response["aggregations"][GROUPS_AGG]["buckets"] == []
        assert response["hits"]["hits"] == []  # size 0: buckets, not hits, carry the findings
    assert alerts_from_response(rule, response) == []
