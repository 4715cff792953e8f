"""The profile format: schema with located errors, composite keys, action rules, selection."""

from __future__ import annotations

import importlib.metadata
import json
from typing import Any

import pytest

from sessionwatch.enrichers import Profile, ProfileRegistry
from sessionwatch.enrichers.profiles import load_builtin, profile_from_yaml
from sessionwatch.rules.errors import PluginError
from tests.unit.test_enrich_helpers import facts_by_id, get, run

BUILTIN = {
    "auth0",
    "aws_cloudtrail",
    "cisco_duo",
    "entra",
    "generic",
    "github",
    "google_workspace",
    "google_workspace_admin",
    "google_workspace_token",
    "hashicorp_vault",
    "keycloak",
    "o365",
    "okta",
    "onepassword",
    "salesforce",
    "salesforce_apex",
    "slack",
    "system_auth",
    "teleport",
    "zscaler_zpa",
}

MINIMAL = """\
name: custom
description: test profile
datasets: [custom.app]
fields:
  session_id:
    - {join: [host.name, process.pid], separator: "/"}
    - sess.id
  action: [event.action]
  url_path: [url.path]
actions:
  logout: [bye]
action_rules:
  - action: login
    when:
      - {field: event.category, equals: [session]}
      - {field: event.type, equals: [START]}
  - action: token_revoke
    when:
      - {field: url.path, prefix: ["/oauth/revoke"]}
  - action: termination
    when:
      - {field: url.path, suffix: [/kill]}
  - action: reauth
    when:
      - {field: url.path, contains: [/mfa/]}
      - {field: mfa.method, exists: true}
"""


def test_builtin_profiles_all_load() -> None:
    assert {p.name for p in load_builtin()} == BUILTIN


def test_schema_error_is_located() -> None:
    broken = MINIMAL.replace("  logout: [bye]", "  leave: [bye]")
    with pytest.raises(PluginError) as caught:
        profile_from_yaml(broken, "custom.yml")
    assert str(caught.value).startswith("custom.yml:11:")
    assert "leave" in str(caught.value)


def test_condition_needs_exactly_one_test() -> None:
    broken = MINIMAL.replace("{field: mfa.method, exists: true}", "{field: mfa.method}")
    with pytest.raises(PluginError, match="invalid profile"):
        profile_from_yaml(broken, "custom.yml")


def _custom() -> Profile:
    return profile_from_yaml(MINIMAL, "custom.yml")


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"event": {"category": ["web", "session"], "type": ["start"]}}, "login"),
        ({"event": {"category": "session", "type": "end"}}, "activity"),
        ({"url": {"path": "/OAuth/Revoke/123"}}, "token_revoke"),
        ({"url": {"path": "/admin/kill"}}, "termination"),
        ({"url": {"path": "/step/mfa/push"}, "mfa": {"method": "push"}}, "reauth"),
        ({"url": {"path": "/step/mfa/push"}}, "activity"),
        ({"event": {"action": "BYE"}}, "logout"),
        ({"event.action": "bye"}, "logout"),
    ],
)
def test_action_rules_and_value_map(doc: dict[str, Any], expected: str) -> None:
    assert _custom().action(doc) == expected


def test_composite_key_needs_every_part() -> None:
    profile = _custom()
    assert profile.value({"host": {"name": "h1"}, "process": {"pid": 42}}, "session_id") == "h1/42"
    assert profile.value({"host": {"name": "h1"}, "sess": {"id": "x"}}, "session_id") == "x"
    assert profile.value({"host": {"name": "h1"}}, "session_id") is None
    assert profile.fields["session_id"] == ("host.name", "process.pid", "sess.id")


def test_extract_reads_flat_dotted_and_nested_documents_alike() -> None:
    profile = _custom()
    nested = {"host": {"name": "h1"}, "process": {"pid": 7}, "url": {"path": "/a"}}
    flat = {"host.name": "h1", "process": {"pid": 7}, "url.path": "/a"}
    assert (
        profile.extract(nested, dotted=False)
        == profile.extract(flat)
        == {
            "session_id": "h1/7",
            "url_path": "/a",
        }
    )


def _registry(*extra: Profile) -> ProfileRegistry:
    return ProfileRegistry([*load_builtin(), *extra])


def test_profile_is_chosen_per_event_from_either_dataset_field() -> None:
    registry = _registry(_custom())
    assert registry.for_event({"event": {"dataset": "okta.system"}}).name == "okta"  # type: ignore[union-attr]
    assert registry.for_event({"data_stream": {"dataset": "custom.app"}}).name == "custom"  # type: ignore[union-attr]
    assert registry.for_event({"event": {"dataset": "generic.portal"}}).name == "generic"  # type: ignore[union-attr]
    assert registry.for_event({"message": "no label"}).name == "generic"  # type: ignore[union-attr]
    assert registry.for_event({"event": {"dataset": "nginx.access"}}) is None


def test_one_mixed_stream_needs_no_flag() -> None:
    lines = [
        json.dumps({"@timestamp": "2026-01-01T00:00:00Z", "event": {"dataset": "okta.system", "id": "o"}}),
        json.dumps({"@timestamp": "2026-01-01T00:00:01Z", "event": {"dataset": "auth0.logs", "id": "a"}}),
        json.dumps({"@timestamp": "2026-01-01T00:00:02Z", "event": {"dataset": "nginx.access", "id": "n"}}),
    ]
    engine, outs = run(lines)
    enriched = facts_by_id(o for o in outs if o.enriched)
    assert {k: get(v, "event.profile") for k, v in enriched.items()} == {"o": "okta", "a": "auth0"}
    assert engine.counts.passed_through == 1
    passed = next(o for o in outs if not o.enriched)
    assert passed.raw == lines[2]


class _EntryPoint:
    group, dist = "sessionwatch.profiles", None  # as importlib.metadata.EntryPoint has them

    def __init__(self, name: str, value: str, factory: Any) -> None:
        self.name, self.value, self._factory = name, value, factory

    def load(self) -> Any:
        return self._factory


def _entry_points(*extra: _EntryPoint) -> Any:
    def entry_points(group: str) -> list[Any]:
        assert group == "sessionwatch.profiles"
        return [_EntryPoint("builtin", "sessionwatch.enrichers.profiles:load_builtin", load_builtin), *extra]

    return entry_points


def test_third_party_profiles_come_through_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = _EntryPoint("acme", "acme_profiles:profiles", lambda: [_custom()])
    monkeypatch.setattr(importlib.metadata, "entry_points", _entry_points(plugin))
    registry = ProfileRegistry.discover()
    assert "custom" in registry.names
    assert registry.for_event({"event": {"dataset": "custom.app"}}) == _custom()


def test_duplicate_profile_name_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    clash = _EntryPoint("acme", "acme_profiles:profiles", lambda: [_custom(), _custom()])
    monkeypatch.setattr(importlib.metadata, "entry_points", _entry_points(clash))
    with pytest.raises(PluginError, match="duplicate profile name 'custom'"):
        ProfileRegistry.discover()


def test_failing_plugin_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> list[Profile]:
        raise RuntimeError("no config")

    monkeypatch.setattr(importlib.metadata, "entry_points", _entry_points(_EntryPoint("acme", "x:y", boom)))
    with pytest.raises(PluginError, match=r"profile entry point 'acme' .* failed: no config"):
        ProfileRegistry.discover()


def test_extract_skips_paths_through_non_objects() -> None:
    profile = _custom()
    doc = {"host": "h1", "process": {"pid": 7}, "sess": {"id": ""}, "url": {"path": ["/a", "/b"]}}
    assert profile.extract(doc, dotted=False) == {"url_path": ["/a", "/b"]}
    assert profile.extract(doc, dotted=True) == {"url_path": ["/a", "/b"]}
