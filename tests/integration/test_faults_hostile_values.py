"""Hostile log values through a real Elasticsearch: they stay values, in the query and the alert.

Each Hypothesis example writes two sessions that both break the idle-timeout rule: one whose
actor, URL path and session id are hostile strings (quotes, ``{{ }}``, JSON fragments, control
and non-BMP characters) with a random IPv4/IPv6 source, and a plain decoy. The rule is scoped
to the hostile values (``scope.filters`` with ``any_of``), rendered, and run in Elasticsearch:
exactly the hostile session alerts, and the alert carries the values verbatim.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionwatch.bulk import index_documents
from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers
from sessionwatch.indices import create_events_index
from sessionwatch.renderer import Window
from sessionwatch.rules import load_rule_file
from sessionwatch.rules.model import Rule, ScopeFilter
from sessionwatch.runner.evaluation import evaluate_window
from tests.hardening.hostile import hostile_text

IDLE_RULE = Path(__file__).resolve().parents[2] / "rules/pack/session_idle_timeout/pci-dss-idle-15m.yml"
EXAMPLES = 40
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# keyword fields keep values up to 1024 characters (ignore_above); stay well inside that
values = hostile_text(max_size=40).filter(lambda v: v.strip() != "" and len(v) <= 300)


def _alerts(
    client: Elasticsearch, rule: Rule, index: str, window: Window, page_size: int = 1000
) -> list[dict[str, Any]]:
    """Every alert of ``rule`` over ``window``: the one evaluation path, all pages."""
    return evaluate_window(client, rule, index, window, max_pages=None, page_size=page_size).alerts


@pytest.fixture(scope="module")
def events_index(es: Elasticsearch) -> Iterator[str]:
    name = f"sessionwatch-hardening-{uuid.uuid4().hex[:12]}"
    create_events_index(es, name)
    yield name
    es.indices.delete(index=name, ignore_unavailable=True)


def session_lines(dataset: str, session: str, user: str, path: str, ip: str) -> list[str]:
    lines = []
    for i, minutes in enumerate((0, 1, 21)):  # a 20-minute idle gap before the third event
        lines.append(
            json.dumps(
                {
                    "@timestamp": (START + timedelta(minutes=minutes)).isoformat(),
                    "event": {
                        "id": f"{dataset}-{uuid.uuid4().hex}-{i}",
                        "dataset": dataset,
                        "action": "login" if i == 0 else "view",
                        "outcome": "success",
                    },
                    "session": {"id": session},
                    "user": {"name": user},
                    "url": {"path": path},
                    "source": {"ip": ip},
                },
                ensure_ascii=False,
            )
        )
    return lines


def scoped(rule: Rule, dataset: str, **wanted: str) -> Rule:
    filters = [ScopeFilter(field="event.dataset", any_of=(dataset,))]
    filters += [ScopeFilter(field=field, any_of=(value,)) for field, value in wanted.items()]
    return dataclasses.replace(rule, scope=dataclasses.replace(rule.scope, filters=tuple(filters)))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(user=values, path=values, session=values, ip=st.ip_addresses().map(str))
def test_hostile_event_values_match_literally(
    es: Elasticsearch, events_index: str, user: str, path: str, session: str, ip: str
) -> None:
    dataset = f"generic.h{uuid.uuid4().hex[:10]}"
    lines = session_lines(dataset, session, user, path, ip)
    lines += session_lines(dataset, f"decoy-{uuid.uuid4().hex}", "decoy-user", "/decoy", "192.0.2.99")
    engine = Engine(ProfileRegistry.discover(), discover_enrichers())
    docs: list[dict[str, Any]] = []
    for out in engine.process(lines):
        assert out.dead is None, out.dead
        assert out.enriched
        assert out.doc is not None
        docs.append(out.doc)
    report = index_documents(es, events_index, ((d["sessionwatch"]["event"]["id"], d) for d in docs))
    assert report.ok, report.failed
    rule = load_rule_file(IDLE_RULE)
    window = Window(START.isoformat(), (START + timedelta(hours=1)).isoformat())

    everyone = _alerts(es, scoped(rule, dataset), events_index, window)
    assert len(everyone) == 2  # both sessions break the rule

    wanted = {"user.name": user, "url.path": path, "sessionwatch.session.id": session, "source.ip": ip}
    for field, value in wanted.items():  # each hostile value alone selects exactly its session
        (alert,) = _alerts(es, scoped(rule, dataset, **{field: value}), events_index, window)
        assert alert["sessionwatch"]["session"]["id"] == session
    (alert,) = _alerts(es, scoped(rule, dataset, **wanted), events_index, window)
    assert alert["user"]["name"] == user
    assert alert["sessionwatch"]["session"]["id"] == session
