"""Least privilege that holds: a scope reaching every index or system indices is a lint error
unless allowed; roles never grant on system indices; alerts are created, never overwritten."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from sessionwatch.commands.validate import lint_context
from sessionwatch.deploy.roles import RUNNER_ROLE, event_patterns, roles
from sessionwatch.rules import Rule, load_rule_file
from sessionwatch.rules.lint import Level, lint_rule, reaches_system_indices

REPO = Path(__file__).resolve().parents[2]
IDLE_RULE = REPO / "rules/pack/session_idle_timeout/pci-dss-idle-15m.yml"
ALERT_STORE = REPO / "sessionwatch/runner/alert_store.py"


def rule_with_index(tmp_path: Path, index: str) -> Rule:
    data = yaml.safe_load(IDLE_RULE.read_text(encoding="utf-8"))
    data["scope"]["index"] = index
    (tmp_path / "fixtures").symlink_to(REPO / "fixtures")
    path = tmp_path / IDLE_RULE.name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return load_rule_file(path)


@pytest.mark.parametrize("index", ["*", "*events*", "logs-*,.kibana*", "*,-logs"])
def test_broad_scopes_are_lint_errors_unless_allowed(tmp_path: Path, index: str) -> None:
    rule = rule_with_index(tmp_path, index)
    context = lint_context([rule])
    found = [f for f in lint_rule(rule, context) if f.code == "SW110"]
    assert len(found) == 1
    assert found[0].level is Level.ERROR
    assert found[0].location.line > 1  # located at scope.index
    allowed = dataclasses.replace(context, broad_indices_allowed=frozenset({index}))
    assert [f for f in lint_rule(rule, allowed) if f.code == "SW110"] == []


def test_ordinary_scopes_pass() -> None:
    assert not reaches_system_indices("sessionwatch-events-*")
    assert not reaches_system_indices("logs-okta.system-*,logs-auth0-*")


def test_roles_never_grant_on_system_indices(tmp_path: Path) -> None:
    rule = rule_with_index(tmp_path, "logs-a-*,.security-7,.kibana*")
    assert event_patterns([rule]) == ["logs-a-*"]
    for role in roles([rule], "runner").values():
        for entry in role["indices"]:
            assert entry["allow_restricted_indices"] is False
            assert not any(name.startswith(".") for name in entry["names"])


def test_the_runner_creates_alerts_and_never_overwrites_them() -> None:
    rendered = roles([load_rule_file(IDLE_RULE)], "runner")
    assert list(rendered) == [RUNNER_ROLE]  # `run --terminate` included: no other role
    for pattern in ("sessionwatch-alerts-*", "sessionwatch-terminations-*"):
        entries = [i for i in rendered[RUNNER_ROLE]["indices"] if i["names"] == [pattern]]
        assert len(entries) == 1, pattern
        assert "create_doc" in entries[0]["privileges"]
        assert not {"index", "write", "all"} & set(entries[0]["privileges"]), pattern
    # the alert store only creates: alerts (bulk op "create") and termination outcomes
    source = ALERT_STORE.read_text(encoding="utf-8")
    assert '{"create": {' in source
    assert "client.create(" in source
    for writes_over in ('{"index": {', '{"update": {', "client.update(", "client.index("):
        assert writes_over not in source, writes_over
