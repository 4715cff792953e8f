"""``render --target watcher``: structure, schema, placeholders, and values that stay values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.renderer import Window, render, render_query
from sessionwatch.renderer.watcher import (
    TRIGGER_TIME,
    WatchOptions,
    render_watch,
    schema_errors,
    validate_watch,
    watch_window,
)
from sessionwatch.renderer.webhooks import PROVIDERS, placeholders
from sessionwatch.rules import RenderError, load_rule_file


@pytest.fixture
def watch(idle_rule_path: Path) -> dict[str, Any]:
    return render_watch(load_rule_file(idle_rule_path))


def test_search_body_is_the_query_target_with_the_window_bound_to_the_trigger(
    idle_rule_path: Path, watch: dict[str, Any]
) -> None:
    rule = load_rule_file(idle_rule_path)
    expected = render_query(rule, Window(f"{TRIGGER_TIME}||-1h", TRIGGER_TIME))
    assert watch["input"]["search"]["request"]["body"] == expected
    assert watch_window(rule) == Window(
        "{{ctx.trigger.scheduled_time}}||-1h", "{{ctx.trigger.scheduled_time}}"
    )
    assert watch["input"]["search"]["request"]["indices"] == ["sessionwatch-events-*"]


def test_schedule_condition_metadata_and_throttle(watch: dict[str, Any]) -> None:
    assert watch["trigger"] == {"schedule": {"interval": "5m"}}
    assert watch["condition"] == {"compare": {"ctx.payload.hits.total": {"gt": 0}}}
    assert watch["metadata"]["sessionwatch"]["rule"] == {
        "id": "4ff09e72-c1ab-4a67-8f5c-ff5b10e9646a",
        "name": "pci-dss-idle-15m",
        "version": 1,
        "kind": "session_idle_timeout",
    }
    assert watch["throttle_period"] == "5m"
    assert '"script"' not in json.dumps(watch)


def test_alert_writer_posts_to_bulk_in_json_mode(watch: dict[str, Any]) -> None:
    webhook = watch["actions"]["index_alerts"]["webhook"]
    assert webhook["url"] == "${SESSIONWATCH_WATCHER_ES_URL}/_bulk"
    assert webhook["body"].startswith("__json__::{{#ctx.payload.hits.hits}}")
    assert webhook["body"].endswith("{{/ctx.payload.hits.hits}}")
    assert "{{{" not in webhook["body"]
    assert "}}}" not in webhook["body"]
    assert placeholders(watch) == {
        "SESSIONWATCH_WATCHER_ES_URL",
        "SESSIONWATCH_WATCHER_ES_USERNAME",
        "SESSIONWATCH_WATCHER_ES_PASSWORD",
    }


@pytest.mark.parametrize("provider", [None, *PROVIDERS])
def test_every_variant_matches_the_watch_schema(idle_rule_path: Path, provider: str | None) -> None:
    watch = render_watch(load_rule_file(idle_rule_path), WatchOptions(terminate=provider))
    assert validate_watch(watch) == []


def test_termination_is_one_call_per_hit_throttled_to_cover_every_hit(idle_rule_path: Path) -> None:
    watch = render_watch(load_rule_file(idle_rule_path), WatchOptions(terminate="okta", max_iterations=25))
    action = watch["actions"]["terminate_sessions"]
    # the hits whose user is a usable path segment (renderer/webhooks.py path_slot_guard)
    assert action["foreach"] == "ctx.payload.aggregations.terminable.hits.hits.hits"
    terminable = watch["input"]["search"]["request"]["body"]["aggs"]["terminable"]
    assert terminable["aggs"]["hits"]["top_hits"]["size"] == 25
    assert "sessionwatch.actor.name" in json.dumps(terminable["filter"])
    assert action["max_iterations"] == 25
    assert action["throttle_period"] == "55m"  # lookback 1h - interval 5m
    webhook = action["webhook"]
    assert (webhook["scheme"], webhook["host"], webhook["port"]) == (
        "https",
        "${SESSIONWATCH_OKTA_DOMAIN}",
        443,
    )
    assert webhook["path"].startswith("/api/v1/users/{{#url}}")
    assert webhook["path"].endswith("{{/url}}/sessions")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_mustache_in_a_url_watcher_parses_as_a_uri(idle_rule_path: Path, provider: str) -> None:
    watch = render_watch(load_rule_file(idle_rule_path), WatchOptions(terminate=provider))
    for action in watch["actions"].values():
        assert "{{" not in action["webhook"].get("url", "")


def test_schema_rejects_what_the_specification_forbids(watch: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(watch))
    broken["trigger"]["schedule"]["every"] = "5m"
    broken["actions"]["index_alerts"]["webhook"]["method"] = "patch"
    del broken["condition"]
    errors = schema_errors(broken, "watch.schema.json")
    assert any("'condition' is a required property" in e for e in errors)
    assert any(e.startswith("/actions/index_alerts/webhook/method") for e in errors)
    assert any(e.startswith("/trigger/schedule") for e in errors)


def test_script_condition_is_refused_even_though_the_schema_allows_it(watch: dict[str, Any]) -> None:
    scripted = {**watch, "condition": {"script": {"source": "return true"}}}
    assert validate_watch(scripted) == ["/condition/script: scripts are not allowed"]


@pytest.mark.parametrize("value", ["{{ctx.metadata}}", "x}}y", "{{#ctx}}"])
def test_mustache_in_rule_values_is_refused(
    value: str, tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    idle_rule_data["scope"]["filters"] = [{"field": "event.dataset", "any_of": [value]}]
    rule = load_rule_file(write_rule(tmp_path, idle_rule_data))
    with pytest.raises(RenderError, match="mustache delimiter"):
        render_watch(rule)


def test_mustache_in_the_title_is_refused(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    idle_rule_data["title"] = "Idle {{ctx.payload}} session"
    with pytest.raises(RenderError, match="mustache delimiter"):
        render_watch(load_rule_file(write_rule(tmp_path, idle_rule_data)))


def test_hostile_title_stays_a_json_string(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    idle_rule_data["title"] = 'Idle "session" \\ over\nlimit'
    watch = render_watch(load_rule_file(write_rule(tmp_path, idle_rule_data)))
    body = watch["actions"]["index_alerts"]["webhook"]["body"]
    assert '"description":"Idle \\"session\\" \\\\ over\\nlimit"' in body


def test_render_dispatches_the_watcher_target(idle_rule_path: Path, watch: dict[str, Any]) -> None:
    assert render(load_rule_file(idle_rule_path), "watcher") == watch


def test_per_session_kind_loops_over_session_buckets(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    idle_rule_data.update(
        kind="session_max_lifetime", params={"max_lifetime": "12h", "anchor": "session_start"}
    )
    watch = render_watch(
        load_rule_file(write_rule(tmp_path, idle_rule_data)), WatchOptions(terminate="auth0")
    )
    buckets = "ctx.payload.aggregations.groups.buckets"
    assert watch["condition"] == {
        "array_compare": {buckets: {"path": "doc_count", "gte": {"value": 1, "quantifier": "some"}}}
    }
    assert watch["actions"]["index_alerts"]["webhook"]["body"].startswith("__json__::{{#" + buckets + "}}")
    terminable = "ctx.payload.aggregations.terminable.groups.buckets"  # the guarded copy of groups
    assert watch["actions"]["terminate_sessions"]["foreach"] == terminable
    assert "ctx.payload.first.hits.hits.0._source.sessionwatch.session.id" in json.dumps(watch)
    assert validate_watch(watch) == []


def test_per_account_threshold_kind_is_a_clear_error(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    idle_rule_data.update(kind="session_concurrency", params={"max_sessions": 3, "within": "1h"})
    with pytest.raises(RenderError, match="cannot filter without a script: use the runner"):
        render_watch(load_rule_file(write_rule(tmp_path, idle_rule_data)))


def test_a_webhook_without_alert_values_in_its_path_calls_for_every_hit(idle_rule_path: Path) -> None:
    watch = render_watch(load_rule_file(idle_rule_path), WatchOptions(terminate="generic"))
    assert watch["actions"]["terminate_sessions"]["foreach"] == "ctx.payload.hits.hits"
    assert "aggs" not in watch["input"]["search"]["request"]["body"]
