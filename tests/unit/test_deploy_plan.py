"""Deploy planning: what is added, changed, kept, removed (pure: no cluster)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.deploy.cluster import apply
from sessionwatch.deploy.desired import desired
from sessionwatch.deploy.model import Action, Deployed, Kind, Resource, content_hash, plan
from sessionwatch.deploy.roles import (
    ALERT_WRITER_ROLE,
    RUNNER_ROLE,
    WATCH_OWNER_ROLE,
    roles,
)
from sessionwatch.rules import RenderError, load_rule_file


def _rule(name: str, version: int = 1) -> Resource:
    return Resource(Kind.RUNNER_RULE, name, {"owner": "p", "name": name, "version": version})


def test_add_keep_change() -> None:
    same, changed = _rule("a"), _rule("b", 2)
    deployed = [Deployed(Kind.RUNNER_RULE, "a", same.hash), Deployed(Kind.RUNNER_RULE, "b", _rule("b").hash)]
    result = plan([same, changed, _rule("c")], deployed, prune=False)
    actions = {c.name: c.action for c in result.changes}
    assert actions == {"a": Action.KEEP, "b": Action.CHANGE, "c": Action.ADD}
    assert result.summary() == "1 to add, 1 to change, 0 to remove, 1 unchanged"


def test_second_run_says_no_changes() -> None:
    resources = [_rule("a"), Resource(Kind.INDEX_TEMPLATE, "t", {"x": 1})]
    deployed = [Deployed(r.kind, r.name, r.hash) for r in resources]
    result = plan(resources, deployed, prune=False)
    assert result.pending() == []
    assert result.summary() == "no changes: 2 resources up to date"
    assert result.lines() == []


def test_rules_leave_only_with_prune_and_templates_never() -> None:
    here = _rule("here")
    deployed = [
        Deployed(Kind.RUNNER_RULE, "here", here.hash, owner="p"),
        Deployed(Kind.RUNNER_RULE, "gone", "h", owner="p"),
        Deployed(Kind.WATCH, "sessionwatch-gone", "h", owner="p"),
        Deployed(Kind.INDEX_TEMPLATE, "old-template", "h"),
        Deployed(Kind.ROLE, "old-role", "h"),
        Deployed(Kind.RUNNER_RULE, "other-pack", "h", owner="other"),  # another pack's entry
        Deployed(Kind.RUNNER_RULE, "unrecorded", "h"),  # deployed before owners were recorded
    ]
    kept = plan([here], deployed, prune=False)
    assert {c.name: c.action for c in kept.changes} == {
        "here": Action.KEEP,
        "gone": Action.ORPHAN,
        "sessionwatch-gone": Action.ORPHAN,
    }
    assert kept.pending() == []
    assert "! runner_rule gone  (no longer in the pack; kept: --prune removes it)" in kept.lines()
    pruned = plan([here], deployed, prune=True)
    assert {c.name: c.action for c in pruned.changes} == {
        "here": Action.KEEP,
        "gone": Action.REMOVE,
        "sessionwatch-gone": Action.REMOVE,
    }
    assert "note: runner_rule other-pack belongs to other: left alone" in pruned.lines()
    assert "note: runner_rule unrecorded belongs to an unknown owner: left alone" in pruned.lines()


def test_change_shows_a_unified_diff_of_the_recorded_body() -> None:
    before = {"name": "a", "version": 1}
    result = plan(
        [_rule("a", 2)], [Deployed(Kind.RUNNER_RULE, "a", content_hash(before), before)], prune=False
    )
    lines = result.lines()
    assert lines[0] == "~ runner_rule a"
    assert '    -  "version": 1' in lines
    assert '    +  "version": 2' in lines


def test_change_without_record_says_so() -> None:
    result = plan([_rule("a", 2)], [Deployed(Kind.RUNNER_RULE, "a", "other")], prune=False)
    assert result.lines() == ["~ runner_rule a  (content differs; no earlier record to diff against)"]


def test_hash_ignores_key_order() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_runner_role_is_least_privilege(idle_rule_path: Path) -> None:
    role = roles([load_rule_file(idle_rule_path)], "runner")[RUNNER_ROLE]
    assert role["cluster"] == ["monitor"]
    by_index = {tuple(i["names"]): set(i["privileges"]) for i in role["indices"]}
    assert by_index[("sessionwatch-events-*",)] == {"read", "view_index_metadata"}
    assert by_index[("sessionwatch-audit-*",)] == {"create_doc", "create_index", "view_index_metadata"}
    every = set().union(*by_index.values())
    assert not every & {"all", "delete_index", "manage", "delete", "write"}
    assert role["run_as"] == []


def test_watcher_roles(idle_rule_path: Path) -> None:
    rendered = roles([load_rule_file(idle_rule_path)], "watcher")
    assert set(rendered) == {WATCH_OWNER_ROLE, ALERT_WRITER_ROLE}
    assert rendered[ALERT_WRITER_ROLE]["indices"] == [
        {
            "names": ["sessionwatch-alerts-*"],
            "privileges": ["create_doc", "create_index"],
            "allow_restricted_indices": False,
        }
    ]
    assert rendered[WATCH_OWNER_ROLE]["cluster"] == ["manage_watcher", "monitor"]


def test_desired_watches_skip_rules_a_watch_cannot_express(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any, idle_rule_path: Path
) -> None:
    idle_rule_data.update(
        name="concurrent", kind="session_concurrency", params={"max_sessions": 2, "within": "1h"}
    )
    concurrent = load_rule_file(write_rule(tmp_path, idle_rule_data))
    wanted = desired([load_rule_file(idle_rule_path), concurrent], "watcher", with_roles=False)
    assert [(r.kind, r.name) for r in wanted.resources if r.kind is Kind.WATCH] == [
        (Kind.WATCH, "sessionwatch-pci-dss-idle-15m")
    ]
    assert wanted.notes[0].startswith("! concurrent: not deployable as a watch")
    runner = desired([concurrent], "runner", with_roles=True)
    assert [r.kind for r in runner.resources].count(Kind.RUNNER_RULE) == 1
    assert [r.name for r in runner.resources if r.kind is Kind.ROLE] == [
        RUNNER_ROLE
    ]  # --terminate needs no other role


def test_missing_watch_secrets_stop_the_deploy_before_any_write(idle_rule_path: Path) -> None:
    wanted = desired([load_rule_file(idle_rule_path)], "watcher", with_roles=False)
    changes = plan(wanted.resources, [], prune=False).changes
    never_contacted = Elasticsearch("http://127.0.0.1:9")  # a request would fail with a connection error
    with pytest.raises(RenderError, match="SESSIONWATCH_WATCHER_ES_PASSWORD") as caught:
        apply(never_contacted, changes, {"SESSIONWATCH_WATCHER_ES_URL": "http://es:9200"})
    assert "SESSIONWATCH_WATCHER_ES_USERNAME" in str(caught.value)
