"""``render --target kibana``: Kibana's detection-rule import format, schema-checked."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.renderer import Window, render, render_query
from sessionwatch.renderer.kibana import render_kibana_rule, to_ndjson
from sessionwatch.renderer.watcher import schema_errors
from sessionwatch.rules import RenderError, load_rule_file


def test_event_rule_is_a_query_rule_with_the_dsl_as_filter(idle_rule_path: Path) -> None:
    rule = load_rule_file(idle_rule_path)
    doc = render_kibana_rule(rule)
    expected_query = render_query(rule, Window.trailing(rule))["query"]
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
        "field": ["sessionwatch.actor.name"],
        "value": 1,
        "cardinality": [{"field": "sessionwatch.session.id", "value": 4}],
    }


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


def test_ndjson_is_one_rule_per_line(idle_rule_path: Path) -> None:
    rule = load_rule_file(idle_rule_path)
    text = to_ndjson([rule, rule])
    lines = text.splitlines()
    assert len(lines) == 2
    assert json.loads(lines[0]) == render(rule, "kibana")
