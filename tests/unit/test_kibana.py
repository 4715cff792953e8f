"""``render --target kibana``: Kibana's detection-rule import format, schema-checked."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.renderer import Window, render, render_query
from sessionwatch.renderer.kibana import render_kibana_rule, to_ndjson
from sessionwatch.renderer.watcher import schema_errors
from sessionwatch.rule_sources import load_selected
from sessionwatch.rules import RenderError, load_rule_file
from tests.cli_runner import run_sessionwatch


def test_event_rule_is_a_query_rule_with_the_dsl_without_its_window_as_filter(idle_rule_path: Path) -> None:
    rule = load_rule_file(idle_rule_path)
    doc = render_kibana_rule(rule)
    full = render_query(rule, Window.trailing(rule))["query"]
    window = {"range": {"@timestamp": {"gte": "now-1h", "lt": "now"}}}
    assert window in full["bool"]["filter"]
    expected_query = {
        **full,
        "bool": {**full["bool"], "filter": [c for c in full["bool"]["filter"] if c != window]},
    }
    assert doc["type"] == "query"
    assert doc["query"] == ""
    assert doc["language"] == "kuery"
    assert doc["filters"][0]["query"] == expected_query
    assert json.loads(doc["filters"][0]["meta"]["value"]) == expected_query
    assert (doc["risk_score"], doc["severity"]) == (73, "high")
    assert (doc["interval"], doc["from"], doc["to"]) == ("5m", "now-1h", "now")
    assert doc["rule_id"] == str(rule.id)
    assert doc["version"] == 1
    assert doc["references"] == ["PCI DSS v4.0 requirement 8.2.8"]
    assert "pci-dss-4.0:8.2.8" in doc["tags"]


def test_mitre_threat_has_tactics_techniques_and_subtechniques(idle_rule_path: Path) -> None:
    doc = render_kibana_rule(load_rule_file(idle_rule_path))
    by_tactic = {t["tactic"]["id"]: t for t in doc["threat"]}
    assert set(by_tactic) == {"TA0005", "TA0006", "TA0008"}
    evasion = by_tactic["TA0005"]["technique"][0]
    assert evasion["id"] == "T1550"
    assert evasion["subtechnique"][0] == {
        "id": "T1550.004",
        "name": "Web Session Cookie",
        "reference": "https://attack.mitre.org/techniques/T1550/004/",
    }
    assert by_tactic["TA0006"]["technique"] == [
        {
            "id": "T1539",
            "name": "Steal Web Session Cookie",
            "reference": "https://attack.mitre.org/techniques/T1539/",
        }
    ]


def test_unknown_technique_is_a_located_error(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    idle_rule_data["attack"] = ["T9999"]
    rule = load_rule_file(write_rule(tmp_path, idle_rule_data))
    with pytest.raises(RenderError, match="no ATT&CK name known for T9999"):
        render_kibana_rule(rule)


def test_per_session_kind_is_a_threshold_rule_by_session(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    idle_rule_data.update(
        kind="session_max_lifetime", params={"max_lifetime": "12h", "anchor": "session_start"}
    )
    doc = render_kibana_rule(load_rule_file(write_rule(tmp_path, idle_rule_data)))
    assert doc["type"] == "threshold"
    assert doc["threshold"] == {"field": ["sessionwatch.session.id"], "value": 1}


def test_concurrency_is_a_threshold_rule_with_cardinality(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    idle_rule_data.update(kind="session_concurrency", params={"max_sessions": 3, "within": "1h"})
    doc = render_kibana_rule(load_rule_file(write_rule(tmp_path, idle_rule_data)))
    assert doc["threshold"] == {
        "field": ["sessionwatch.actor.name", "sessionwatch.event.profile"],  # per account and application
        "value": 1,
        "cardinality": [{"field": "sessionwatch.session.id", "value": 4}],
    }
    # the period (`within`) and one interval are Kibana's `from`, not a now-range in the filter
    assert doc["from"] == "now-65m"
    assert "now" not in json.dumps(doc["filters"])
    assert doc["alert_suppression"] == {"duration": {"value": 1, "unit": "h"}}


def test_a_period_threshold_reaches_back_one_period_and_one_interval(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    """So every period lies whole in the window of the first execution after its end."""
    idle_rule_data.update(kind="session_concurrency", params={"max_sessions": 3, "within": "15m"})
    rule = load_rule_file(write_rule(tmp_path, idle_rule_data))
    assert rule.schedule.interval_seconds == 300
    assert render_kibana_rule(rule)["from"] == "now-20m"


def test_no_rule_of_the_pack_keeps_now_in_its_filters() -> None:
    rules = load_selected([], include_deprecated=False)
    for line in to_ndjson(rules).splitlines():
        doc = json.loads(line)
        assert "now" not in json.dumps(doc["filters"]), doc["rule_id"]
        assert schema_errors(doc, "kibana-rule.schema.json") == []


def test_guides_fields_integrations_and_suppression(idle_rule_path: Path) -> None:
    doc = render_kibana_rule(load_rule_file(idle_rule_path))
    assert doc["note"].startswith("## Triage and analysis: Session used after more than 15 minutes idle")
    assert "- `sessionwatch.session.idle_seconds`" in doc["note"]
    assert "### Response" in doc["note"]
    assert "`session_clock`" in doc["setup"]
    assert "`idle_timeout` = `15m`" in doc["setup"]
    assert {"name": "sessionwatch.session.idle_seconds", "type": "double"} in doc["required_fields"]
    assert {"name": "@timestamp", "type": "date"} in doc["required_fields"]
    assert {"package": "okta", "version": "*", "integration": "system"} in doc["related_integrations"]
    assert all(i["package"] != "generic" for i in doc["related_integrations"])
    assert doc["alert_suppression"] == {
        "group_by": ["sessionwatch.session.id"],
        "duration": {"value": 1, "unit": "h"},
        "missing_fields_strategy": "doNotSuppress",
    }
    assert doc["investigation_fields"]["field_names"][0] == "sessionwatch.session.idle_seconds"
    assert doc["max_signals"] == 100
    assert doc["enabled"] is True


def test_events_that_may_lack_a_session_are_suppressed_per_session_or_account() -> None:
    """KindSpec.session_optional: a sessionless refresh folds per account, never into one
    group of every sessionless event, and never goes unsuppressed per event."""
    pack = Path(__file__).resolve().parents[2] / "rules" / "pack"
    rule = load_rule_file(pack / "token_renewal_outside_workflow" / "org-token-renewal-workflow.yml")
    assert rule.spec.session_optional
    assert render_kibana_rule(rule)["alert_suppression"] == {
        "group_by": ["sessionwatch.session.id", "sessionwatch.actor.name"],
        "duration": {"value": 1, "unit": "h"},
        "missing_fields_strategy": "suppress",
    }


def test_only_stable_rules_are_enabled(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    idle_rule_data["status"] = "experimental"
    doc = render_kibana_rule(load_rule_file(write_rule(tmp_path, idle_rule_data)))
    assert doc["enabled"] is False


def test_schema_rejects_what_kibana_would(idle_rule_path: Path) -> None:
    doc = render_kibana_rule(load_rule_file(idle_rule_path))
    assert schema_errors(doc, "kibana-rule.schema.json") == []
    broken = {**doc, "severity": "severe", "risk_score": 101, "typo": 1}
    errors = schema_errors(broken, "kibana-rule.schema.json")
    assert any(e.startswith("/severity") for e in errors)
    assert any(e.startswith("/risk_score") for e in errors)
    assert any("'typo' was unexpected" in e for e in errors)
    threshold_without = {**doc, "type": "threshold"}
    assert any(
        "'threshold' is a required property" in e
        for e in schema_errors(threshold_without, "kibana-rule.schema.json")
    )
    # Kibana's types: a query rule takes no threshold, a threshold rule's suppression has only a
    # duration, required_fields are {name, type} (ecs is computed by Kibana), units s/m/h only
    wrong = [
        {**doc, "threshold": {"field": ["a"], "value": 1}},
        {**doc, "type": "threshold", "threshold": {"field": ["a"], "value": 1}},
        {**doc, "required_fields": [{"name": "a", "type": "keyword", "ecs": False}]},
        {**doc, "alert_suppression": {"group_by": ["a"], "duration": {"value": 1, "unit": "d"}}},
        {**doc, "related_integrations": [{"package": "okta"}]},
        {**doc, "max_signals": 0},
        {**doc, "type": "eql"},
        {**doc, "immutable": True},
    ]
    for broken_doc in wrong:
        assert schema_errors(broken_doc, "kibana-rule.schema.json"), broken_doc


def test_render_writes_one_importable_file(tmp_path: Path, idle_rule_path: Path) -> None:
    done = run_sessionwatch(
        ["render", "--target", "kibana", "--out", str(tmp_path), str(idle_rule_path.parent)]
    )
    assert done.returncode == 0, done.stderr
    (written,) = (tmp_path / "kibana").iterdir()
    assert written.name == "rules.ndjson"
    docs = [json.loads(line) for line in written.read_text().splitlines()]
    assert len(docs) == len(list(idle_rule_path.parent.glob("*.yml")))
    assert all(schema_errors(d, "kibana-rule.schema.json") == [] for d in docs)
    shown = run_sessionwatch(["render", "--target", "kibana", str(idle_rule_path)])
    assert shown.returncode == 0, shown.stderr
    stdout = shown.stdout
    assert [json.loads(line) for line in stdout.splitlines()] == [
        render_kibana_rule(load_rule_file(idle_rule_path))
    ]


def test_deploy_kibana_out_needs_no_cluster(tmp_path: Path, idle_rule_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "SESSIONWATCH_ES_URL"}
    out = tmp_path / "rules.ndjson"
    done = run_sessionwatch(["deploy", "--kibana-out", str(out), str(idle_rule_path)], env=env)
    assert done.returncode == 0, done.stderr
    assert "nothing else to deploy" in done.stdout
    assert json.loads(out.read_text())["rule_id"] == str(load_rule_file(idle_rule_path).id)


def test_ndjson_is_one_rule_per_line(idle_rule_path: Path) -> None:
    rule = load_rule_file(idle_rule_path)
    text = to_ndjson([rule, rule])
    lines = text.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == render(rule, "kibana")
