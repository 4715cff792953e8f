"""Watches PUT and ``_execute``d for real, where the cluster has Watcher (the official image with
a trial licence); skipped, with that reason, on the minimal distribution. The simulated run must
render exactly the body the dry run renders, and a forced run must write the alerts."""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch

from sessionwatch.bulk import index_documents
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.harness import enrich_fixture
from sessionwatch.indices import alerts_mapping, create_events_index
from sessionwatch.renderer.watcher import WatchOptions, render_watch
from sessionwatch.renderer.webhooks import inject
from sessionwatch.rules import load_rule_file
from sessionwatch.watch_dryrun import dry_run

REPO = Path(__file__).resolve().parents[2]
IDLE = REPO / "rules" / "pack" / "session_idle_timeout" / "pci-dss-idle-15m.yml"
FIXTURE = REPO / "fixtures/session_idle_timeout/pci-dss-idle-15m/gap-20m-then-accepted.ndjson"


@pytest.fixture(scope="module")
def watcher(es: Elasticsearch) -> Elasticsearch:
    try:
        stats = es.perform_request("GET", "/_watcher/stats", headers={"accept": "application/json"})
    except ApiError as exc:
        pytest.skip(f"this cluster has no usable Watcher (GET _watcher/stats: HTTP {exc.meta.status})")
    if stats.body.get("watcher_state") != "started":
        pytest.skip(f"Watcher is not started here ({stats.body.get('watcher_state')})")
    return es


@pytest.fixture
def setup(watcher: Elasticsearch) -> Iterator[dict[str, Any]]:
    suffix = uuid.uuid4().hex[:10]
    events, alerts = f"sw-live-events-{suffix}", f"sw-live-alerts-{suffix}"
    create_events_index(watcher, events)
    watcher.indices.create(index=alerts, mappings=alerts_mapping())
    docs = enrich_fixture(FIXTURE, ProfileRegistry.discover(), None)
    assert index_documents(watcher, events, ((d["sessionwatch"]["event"]["id"], d) for d in docs)).ok
    rule = load_rule_file(IDLE)
    rule = dataclasses.replace(rule, scope=dataclasses.replace(rule.scope, index=events))
    environ = {
        "SESSIONWATCH_WATCHER_ES_URL": os.environ.get("SESSIONWATCH_WATCHER_ES_URL", "http://127.0.0.1:9200"),
        "SESSIONWATCH_WATCHER_ES_USERNAME": os.environ.get("SESSIONWATCH_ES_USERNAME", "elastic"),
        "SESSIONWATCH_WATCHER_ES_PASSWORD": os.environ.get("SESSIONWATCH_ES_PASSWORD", "changeme"),
    }
    watch = inject(render_watch(rule, WatchOptions(alerts_index=alerts)), environ)
    watch_id = f"sessionwatch-live-{suffix}"
    watcher.watcher.put_watch(id=watch_id, body=watch, active=False)
    yield {"id": watch_id, "watch": watch, "rule": rule, "alerts": alerts}
    watcher.watcher.delete_watch(id=watch_id)
    watcher.indices.delete(index=f"{events},{alerts}", ignore_unavailable=True)


def _execute(es: Elasticsearch, watch_id: str, mode: str) -> dict[str, Any]:
    response = es.watcher.execute_watch(
        id=watch_id,
        trigger_data={"scheduled_time": "2026-03-02T10:00:00Z", "triggered_time": "2026-03-02T10:00:00Z"},
        action_modes={"_all": mode},
        record_execution=False,
    )
    record: dict[str, Any] = response["watch_record"]
    return record


def test_simulated_execution_renders_what_the_dry_run_renders(
    watcher: Elasticsearch, setup: dict[str, Any]
) -> None:
    record = _execute(watcher, setup["id"], "force_simulate")
    assert record["condition"]["met"] is True
    (action,) = [a for a in record["result"]["actions"] if a["id"] == "index_alerts"]
    assert action["status"] == "simulated"
    dry = dry_run(watcher, setup["watch"], setup["rule"].tests[0].at)
    (request,) = next(a for a in dry.actions if a.id == "index_alerts").requests
    assert action["webhook"]["request"]["body"] == request["body"]


def test_forced_execution_writes_the_alerts_once(watcher: Elasticsearch, setup: dict[str, Any]) -> None:
    for _ in range(2):
        record = _execute(watcher, setup["id"], "force_execute")
        (action,) = [a for a in record["result"]["actions"] if a["id"] == "index_alerts"]
        assert action["status"] == "success", action
    watcher.indices.refresh(index=setup["alerts"])
    hits = watcher.search(index=setup["alerts"])["hits"]["hits"]
    assert [h["_source"]["sessionwatch"]["evidence"]["event_ids"] for h in hits] == [["a-3"]]
