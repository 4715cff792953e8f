"""Watches dry-run on the real node (no Watcher licence needed): the search input runs in
Elasticsearch with the trigger time substituted, the condition is evaluated as Watcher does, and
the ``index_alerts`` body renders to the same alert documents ``sessionwatch detect`` produces.

Watcher cannot compute ``event.id`` (a SHA-256 in Python; ``<rule id>:…`` in the watch), so that
one field is left out of the comparison.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.bulk import index_documents
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.harness import enrich_fixture
from sessionwatch.indices import alerts_mapping, create_events_index
from sessionwatch.renderer import Window
from sessionwatch.renderer.watcher import WatchOptions, render_watch
from sessionwatch.renderer.webhooks import inject
from sessionwatch.rule_sources import Selection, load_selected
from sessionwatch.rules import RenderError, Rule, load_rule_file
from sessionwatch.runner.evaluation import evaluate_window
from sessionwatch.watch_dryrun import DryRunResult, bulk_documents, dry_run
from tests.cli_runner import run_sessionwatch
from tests.integration.case_aliases import CaseAlias, case_aliases

REPO = Path(__file__).resolve().parents[2]
IDLE = REPO / "rules" / "pack" / "session_idle_timeout" / "pci-dss-idle-15m.yml"
ENV = {
    "SESSIONWATCH_WATCHER_ES_URL": "http://127.0.0.1:9200",
    "SESSIONWATCH_WATCHER_ES_USERNAME": "sessionwatch_alerts",
    "SESSIONWATCH_WATCHER_ES_PASSWORD": "not-a-real-password",
}


def _alerts(
    client: Elasticsearch, rule: Rule, index: str, window: Window, page_size: int = 1000
) -> list[dict[str, Any]]:
    """Every alert of ``rule`` over ``window``: the one evaluation path, all pages."""
    return evaluate_window(client, rule, index, window, max_pages=None, page_size=page_size).alerts


def _watchable(rule: Rule) -> bool:
    try:
        render_watch(rule)
    except RenderError:
        return False
    return True


CASES = [
    (rule, case)
    for rule in load_selected([], include_deprecated=False, selection=Selection.AS_WRITTEN)
    if _watchable(rule)
    for case in rule.tests
    if case.start is None  # a watch's window always ends at the trigger and spans the lookback
]


def _iso(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


@pytest.fixture
def events_index(es: Elasticsearch) -> Iterator[str]:
    name = f"sw-dryrun-events-{uuid.uuid4().hex[:12]}"
    create_events_index(es, name)
    yield name
    es.indices.delete(index=name, ignore_unavailable=True)


def _load(es: Elasticsearch, index: str, docs: list[dict[str, Any]]) -> None:
    report = index_documents(es, index, ((d["sessionwatch"]["event"]["id"], d) for d in docs))
    assert report.ok, report.failed


def _watch_on(rule: Rule, index: str) -> dict[str, Any]:
    scoped = dataclasses.replace(rule, scope=dataclasses.replace(rule.scope, index=index))
    watch: dict[str, Any] = inject(render_watch(scoped), ENV)
    return watch


def _alert_docs(result: DryRunResult) -> list[dict[str, Any]]:
    action = next(a for a in result.actions if a.id == "index_alerts")
    assert action.status == "simulated"
    (request,) = action.requests
    assert request["method"] == "post"
    assert (request["host"], request["port"], request["path"]) == ("127.0.0.1", 9200, "/_bulk")
    assert request["auth"]["basic"]["password"] == "::es_redacted::"
    return [doc for _, doc in bulk_documents(request["body"])]


def _without_event_id(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for alert in alerts:
        copy = json.loads(json.dumps(alert))
        del copy["event"]["id"]
        out.append(copy)
    return sorted(out, key=lambda a: json.dumps(a, sort_keys=True))


@pytest.fixture(scope="module")
def replayed(es: Elasticsearch) -> Iterator[list[CaseAlias]]:
    with case_aliases(es, CASES, ProfileRegistry.discover(), "sw-dryrun-events-") as aliases:
        yield aliases


@pytest.mark.parametrize("number", range(len(CASES)), ids=[f"{r.name}/{c.name}" for r, c in CASES])
def test_dry_run_equals_detect(es: Elasticsearch, replayed: list[CaseAlias], number: int) -> None:
    rule, case = CASES[number]
    events_index, documents = replayed[number]
    assert es.count(index=events_index)["count"] == documents > 0  # the case's own events, no other's
    window = Window(_iso(case.at - timedelta(seconds=rule.schedule.lookback_seconds)), _iso(case.at))
    expected = _alerts(es, rule, events_index, window)

    result = dry_run(es, _watch_on(rule, events_index), case.at)

    assert result.condition_met is bool(expected)
    if not expected:
        assert result.actions == []
        return
    assert _without_event_id(_alert_docs(result)) == _without_event_id(expected)


def test_idle_watch_matches_the_detect_command(es_url: str, es: Elasticsearch, events_index: str) -> None:
    rule = load_rule_file(IDLE)
    fixture = REPO / "fixtures/session_idle_timeout/pci-dss-idle-15m/gap-20m-then-accepted.ndjson"
    _load(es, events_index, enrich_fixture(fixture, ProfileRegistry.discover(), None))
    detect = run_sessionwatch(
        [
            "detect",
            "--index",
            events_index,
            "--at",
            "2026-03-02T10:00:00Z",
            "--rules",
            str(IDLE),
        ],
        cwd=REPO.parent,
        env={**os.environ, "SESSIONWATCH_ES_URL": es_url},
        timeout=120,
    )
    assert detect.returncode == 1, detect.stderr
    expected = [json.loads(line) for line in detect.stdout.splitlines()]
    assert [a["sessionwatch"]["evidence"]["event_ids"] for a in expected] == [["a-3"]]

    result = dry_run(es, _watch_on(rule, events_index), rule.tests[0].at)

    assert result.condition_met
    assert result.resolved_values == {"ctx.payload.hits.total": 1}
    assert _without_event_id(_alert_docs(result)) == _without_event_id(expected)
    assert result.search_body["query"]["bool"]["filter"][0] == {
        "range": {"@timestamp": {"gte": "2026-03-02T10:00Z||-1h", "lt": "2026-03-02T10:00Z"}}
    }


def test_rendered_bulk_is_accepted_once(es: Elasticsearch, events_index: str) -> None:
    """The body Watcher would POST is valid for the alerts mapping, and its ids deduplicate."""
    rule = load_rule_file(IDLE)
    fixture = REPO / "fixtures/samples/portal-violations.ndjson"
    _load(es, events_index, enrich_fixture(fixture, ProfileRegistry.discover(), None))
    alerts_index = f"sw-dryrun-alerts-{uuid.uuid4().hex[:12]}"
    es.indices.create(index=alerts_index, mappings=alerts_mapping())
    try:
        result = dry_run(es, _watch_on(rule, events_index), rule.tests[0].at)
        (request,) = next(a for a in result.actions if a.id == "index_alerts").requests
        body = request["body"].replace('"_index":"sessionwatch-alerts-default"', f'"_index":"{alerts_index}"')
        first = es.bulk(body=body, refresh=True)
        assert not first["errors"], first["items"]
        assert len(first["items"]) == 2
        again = es.bulk(body=body, refresh=True)
        assert [item["create"]["status"] for item in again["items"]] == [409, 409]
        assert es.count(index=alerts_index)["count"] == 2
    finally:
        es.indices.delete(index=alerts_index, ignore_unavailable=True)


HOSTILE = '"},"rule":{"id":"x"},"a":{"' + "{{ctx.payload}} line\nbreak \\ \u2028 😀 }}}{{{"


def test_values_from_logs_stay_values(es: Elasticsearch, events_index: str) -> None:
    rule = load_rule_file(IDLE)
    fixture = REPO / "fixtures/session_idle_timeout/pci-dss-idle-15m/gap-20m-then-accepted.ndjson"
    docs = enrich_fixture(fixture, ProfileRegistry.discover(), None)
    for doc in docs:
        doc["user"] = {"name": HOSTILE}
        doc["sessionwatch"]["session"]["id"] = HOSTILE
    _load(es, events_index, docs)
    expected = _alerts(es, rule, events_index, Window("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))
    assert len(expected) == 1

    result = dry_run(es, _watch_on(rule, events_index), rule.tests[0].at)

    (alert,) = _alert_docs(result)
    assert alert["rule"]["id"] == str(rule.id)
    assert alert["user"]["name"] == HOSTILE
    assert alert["sessionwatch"]["session"]["id"] == HOSTILE
    assert _without_event_id([alert]) == _without_event_id(expected)


def test_termination_webhook_is_called_once_per_hit(es: Elasticsearch, events_index: str) -> None:
    rule = load_rule_file(IDLE)
    docs = enrich_fixture(
        REPO / "fixtures/samples/portal-violations.ndjson", ProfileRegistry.discover(), None
    )
    # dave's request after 15 idle minutes (d-3) is one of the two offending events: it gets a
    # hostile user name (chosen by content: the sample's order changes as it gains sessions)
    (daves,) = [d for d in docs if d["sessionwatch"]["event"]["id"] == "d-3"]
    assert daves["user"]["name"] == "dave"
    daves["user"] = {"name": "mallory/../admin?x=1"}
    _load(es, events_index, docs)
    scoped = dataclasses.replace(rule, scope=dataclasses.replace(rule.scope, index=events_index))
    env = {**ENV, "SESSIONWATCH_OKTA_DOMAIN": "example.okta.com", "SESSIONWATCH_OKTA_API_TOKEN": "okta-token"}
    watch = inject(render_watch(scoped, WatchOptions(terminate="okta")), env)
    expected = _alerts(es, rule, events_index, Window("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z"))

    result = dry_run(es, watch, rule.tests[0].at)

    action = next(a for a in result.actions if a.id == "terminate_sessions")
    assert action.iterations == len(expected) == 2
    paths = sorted(r["path"] for r in action.requests)
    users = sorted(a["user"]["name"] for a in expected)
    assert "mallory/../admin?x=1" in users
    encoded = {"alice": "alice", "mallory/../admin?x=1": "mallory%2F..%2Fadmin%3Fx%3D1"}
    assert paths == sorted(f"/api/v1/users/{encoded.get(u, u)}/sessions" for u in users)
    assert {(r["method"], r["host"], r["headers"]["Authorization"]) for r in action.requests} == {
        ("delete", "example.okta.com", "SSWS okta-token")
    }


@pytest.mark.parametrize("dots", [".", "..", "..."])
def test_a_dot_segment_id_never_walks_up_the_webhook_path(
    es: Elasticsearch, events_index: str, dots: str
) -> None:
    """Watcher's HTTP client URL-decodes each path segment and builds the URI again, so no
    encoding keeps ``..`` from naming the parent (``DELETE /admin/realms/acme/sessions/..``):
    the watch writes the alert but makes no call for it; a percent sign is sent encoded, so a
    session id ``%2e%2e`` reaches the provider as itself."""
    rule = load_rule_file(IDLE)
    docs = enrich_fixture(
        REPO / "fixtures/samples/portal-violations.ndjson", ProfileRegistry.discover(), None
    )
    hostile = {"a-3": dots, "d-3": "%2e%2e"}  # alice's and dave's offending requests
    for doc in docs:
        if doc["sessionwatch"]["event"]["id"] in hostile:
            doc["sessionwatch"]["session"]["id"] = hostile[doc["sessionwatch"]["event"]["id"]]
    _load(es, events_index, docs)
    scoped = dataclasses.replace(rule, scope=dataclasses.replace(rule.scope, index=events_index))
    env = {
        **ENV,
        "SESSIONWATCH_KEYCLOAK_HOST": "sso.example.com",
        "SESSIONWATCH_KEYCLOAK_REALM": "acme",
        "SESSIONWATCH_KEYCLOAK_TOKEN": "kc-token",
    }
    watch = inject(render_watch(scoped, WatchOptions(terminate="keycloak")), env)

    result = dry_run(es, watch, rule.tests[0].at)

    written = sorted(a["sessionwatch"]["session"]["id"] for a in _alert_docs(result))
    assert written == sorted([dots, "%2e%2e"])  # every alert is still written
    action = next(a for a in result.actions if a.id == "terminate_sessions")
    assert action.iterations == 1
    (request,) = action.requests
    assert (request["method"], request["host"]) == ("delete", "sso.example.com")
    assert request["path"] == request["sent_path"] == "/admin/realms/acme/sessions/%252e%252e"


def test_a_dot_segment_session_bucket_is_written_but_not_terminated(
    es: Elasticsearch, events_index: str
) -> None:
    """The per-session shape: the guarded copy of the session buckets leaves out a session
    ``..``; its alert is still written."""
    rule = load_rule_file(REPO / "rules" / "pack" / "session_max_lifetime" / "org-session-absolute-8h.yml")
    case = next(c for c in rule.tests if c.name == "active-past-lifetime")
    docs = enrich_fixture(fixture_path(rule, case), ProfileRegistry.discover(), case.profile)
    _load(es, events_index, docs)
    scoped = dataclasses.replace(rule, scope=dataclasses.replace(rule.scope, index=events_index))
    env = {**ENV, "SESSIONWATCH_AUTH0_DOMAIN": "acme.auth0.example", "SESSIONWATCH_AUTH0_TOKEN": "a0-token"}
    watch = inject(render_watch(scoped, WatchOptions(terminate="auth0")), env)

    action = next(a for a in dry_run(es, watch, case.at).actions if a.id == "terminate_sessions")
    assert [r["sent_path"] for r in action.requests] == ["/api/v2/sessions/sess-a"]

    for doc in docs:  # the same events (same ids, overwritten) with the session id ".."
        if doc["sessionwatch"].get("session", {}).get("id") == "sess-a":
            doc["sessionwatch"]["session"]["id"] = ".."
    _load(es, events_index, docs)

    result = dry_run(es, watch, case.at)

    assert [a["sessionwatch"]["session"]["id"] for a in _alert_docs(result)] == [".."]
    action = next(a for a in result.actions if a.id == "terminate_sessions")
    assert (action.iterations, action.requests) == (0, [])
