"""Evaluating a range equals stepping through it, for every one of the twelve kinds (real node).

Hypothesis builds event streams from the pack's own fixture cases (every kind's violations and
near misses), each copy shifted to a drawn instant around a drawn range ``[A, B)`` (before it,
straddling its edges and the runner's window edges, after it) and given its own session, token
and event ids; copies keep or change their account, so concurrency bursts mix. For one drawn
rule of every kind, ``detect --from A --to B`` (one window, ``evaluate_window``) must give the
same alerts — same ids, same first evidence event — as the real ``Runner`` started at ``A``
with horizon ``B`` and ``not_before=A`` and a drawn step, its alerts read back from its alerts
index (created once: the first window that saw a finding wrote it).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sessionwatch.bulk import document_id, index_documents
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.enrichers.engine import parse_timestamp
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.harness import enrich_fixture
from sessionwatch.indices import temporary_events_index
from sessionwatch.renderer import Window
from sessionwatch.rule_sources import Selection, load_selected
from sessionwatch.rules.kinds import Kind
from sessionwatch.rules.model import Rule
from sessionwatch.runner import Runner, RunnerOptions
from sessionwatch.runner.clock import iso
from sessionwatch.runner.evaluation import evaluate_window
from tests.integration.test_runner_support import REPO

BASE = datetime(2026, 7, 6, 0, 0, tzinfo=UTC)
# every rule with its own values (as `test` replays them): the pack's cases hold for them
RULES = load_selected(
    [str(REPO / "rules" / "pack")], include_deprecated=False, selection=Selection.AS_WRITTEN
)
BY_KIND = {kind: [r for r in RULES if r.kind is kind and r.tests] for kind in Kind}
IDS = ("session.id", "event.id", "token.id")


def _pool() -> dict[Kind, list[list[dict[str, Any]]]]:
    """Every kind's fixture cases, enriched the way ``test`` enriches them."""
    profiles = ProfileRegistry.discover()
    pool: dict[Kind, list[list[dict[str, Any]]]] = {}
    for kind, rules in BY_KIND.items():
        seen: set[str] = set()
        for rule in rules:
            for case in rule.tests:
                path = fixture_path(rule, case)
                if str(path) in seen:
                    continue
                seen.add(str(path))
                pool.setdefault(kind, []).append(enrich_fixture(path, profiles, case.profile))
    return pool


POOL = _pool()


def _place(docs: list[dict[str, Any]], at: datetime, tag: str, same_account: bool) -> list[dict[str, Any]]:
    """A copy of one fixture's events, its first event at ``at``, with ids of its own."""
    first = min(parse_timestamp(d["@timestamp"]) for d in docs)
    placed = []
    for doc in docs:
        new = copy.deepcopy(doc)
        moment = datetime.fromtimestamp(parse_timestamp(doc["@timestamp"]) - first, UTC)
        new["@timestamp"] = iso(at + (moment - datetime.fromtimestamp(0, UTC)))
        facts = new["sessionwatch"]
        new["event"] = {**(new.get("event") or {}), "id": f"{(new.get('event') or {}).get('id')}~{tag}"}
        for path in IDS:
            group, name = path.split(".")
            if isinstance(facts.get(group), dict) and facts[group].get(name) is not None:
                facts[group][name] = f"{facts[group][name]}~{tag}"
        if not same_account and isinstance(facts.get("actor"), dict) and facts["actor"].get("name"):
            facts["actor"]["name"] = f"{facts['actor']['name']}~{tag}"
        placed.append(new)
    return placed


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    start = BASE + timedelta(minutes=draw(st.integers(0, 59)), seconds=draw(st.integers(0, 59)))
    length = timedelta(minutes=draw(st.integers(30, 300)))
    span = timedelta(minutes=draw(st.sampled_from([20, 45, 60, 120])))
    docs: list[dict[str, Any]] = []
    rules: list[Rule] = []
    for number, kind in enumerate(Kind):
        rules.append(draw(st.sampled_from(BY_KIND[kind])))
        cases = POOL[kind]
        for n in range(draw(st.integers(2, 4))):
            case = cases[draw(st.integers(0, len(cases) - 1))]
            offset = timedelta(minutes=draw(st.integers(-45, int(length.total_seconds() // 60) + 15)))
            docs += _place(case, start + offset, f"k{number}c{n}", draw(st.booleans()))
    return {"start": start, "end": start + length, "span": span, "docs": docs, "rules": rules}


def _mid_range_burst() -> dict[str, Any]:
    """A concurrency burst in the middle of the range, clear of its last ``within`` (what a range
    run missed before), and one copy of every other kind's first case next to it."""
    start = BASE + timedelta(minutes=7, seconds=13)
    docs: list[dict[str, Any]] = []
    for number, kind in enumerate(Kind):
        at = start + timedelta(minutes=47 if kind == "session_concurrency" else 30)
        docs += _place(POOL[kind][0], at, f"x{number}", True)
    rules = [BY_KIND[kind][0] for kind in Kind]
    return {
        "start": start,
        "end": start + timedelta(hours=3),
        "span": timedelta(minutes=20),
        "docs": docs,
        "rules": rules,
    }


@pytest.fixture
def scratch(es: Elasticsearch) -> Iterator[dict[str, str]]:
    tag = uuid.uuid4().hex[:10]
    names = {k: f"sessionwatch-{k}-prop{tag}" for k in ("alerts", "audit", "state")}
    yield names
    for name in names.values():
        es.indices.delete(index=name, ignore_unavailable=True)


def _by_id(alerts: list[dict[str, Any]]) -> dict[str, str]:
    return {a["event"]["id"]: a["sessionwatch"]["evidence"]["event_ids"][0] for a in alerts}


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(scenario=scenarios())
@example(scenario=_mid_range_burst())
def test_a_range_gives_the_alerts_of_the_runner_stepping_through_it(
    es: Elasticsearch, scratch: dict[str, str], scenario: dict[str, Any]
) -> None:
    start, end, rules = scenario["start"], scenario["end"], scenario["rules"]
    with temporary_events_index(es, "sw-prop-events-") as index:
        docs = scenario["docs"]
        assert index_documents(es, index, ((document_id(d), d) for d in docs)).indexed == len(docs)
        ranged = {
            rule.name: _by_id(
                evaluate_window(es, rule, index, Window(iso(start), iso(end)), max_pages=None).alerts
            )
            for rule in rules
        }
        for name in scratch.values():
            es.indices.delete(index=name, ignore_unavailable=True)
        options = RunnerOptions(
            index=index,
            alerts_index=scratch["alerts"],
            audit_index=scratch["audit"],
            state_index=scratch["state"],
            start=start,
            not_before=start,
            until=end,
            max_span=scenario["span"],
            every=scenario["span"],
            give_up_after=60.0,
        )
        summary = Runner(es, rules, options).run()
        assert summary.errors == 0
        es.indices.refresh(index=scratch["alerts"])
        stored = es.search(index=scratch["alerts"], size=10_000, query={"match_all": {}})["hits"]["hits"]
    stepped: dict[str, dict[str, str]] = {rule.name: {} for rule in rules}
    for hit in stored:
        stepped[hit["_source"]["rule"]["name"]].update(_by_id([hit["_source"]]))
    for rule in rules:
        assert stepped[rule.name] == ranged[rule.name], (
            rule.kind.value,
            rule.name,
            str(scenario["span"]),
        )
