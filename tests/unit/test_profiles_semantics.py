"""The vendor-semantics defects of issue 11, each pinned by a test that fails on the old behaviour."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.enrichers import Engine, EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.profile_hint import ProfileUsage
from sessionwatch.enrichers.profiles import Condition, load_builtin, profile_from_yaml
from sessionwatch.rules.errors import PluginError
from tests.cli_runner import run_sessionwatch


def enrich(*docs: dict[str, Any], **options: Any) -> list[dict[str, Any]]:
    engine = Engine(ProfileRegistry.discover(), discover_enrichers(), options=EngineOptions(**options))
    outputs = sorted(engine.process(json.dumps(d) for d in docs), key=lambda out: out.line)
    assert engine.counts.dead_letter == 0
    return [out.facts or {} for out in outputs]


def okta(
    ts: str, action: str, sid: str, actor: str, targets: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": ts,
        "data_stream": {"dataset": "okta.system"},
        "event": {"action": action, "outcome": "success", "id": f"{action}-{ts}"},
        "okta": {
            "actor": {"alternate_id": actor, "type": "User"},
            "authentication_context": {"external_session_id": sid},
        },
        "client": {"ip": "175.16.199.1"},
    }
    if targets is not None:
        doc["okta"]["target"] = targets
    return doc


def test_okta_sso_is_use_of_the_session_not_reauthentication() -> None:
    facts = enrich(
        okta("2026-04-01T08:00:00Z", "user.session.start", "s1", "ada@example.com"),
        *(
            okta(f"2026-04-01T{8 + h:02d}:30:00Z", "user.authentication.sso", "s1", "ada@example.com")
            for h in range(3)
        ),
    )
    last = facts[-1]["session"]
    assert facts[-1]["event"]["action"] == "activity"
    assert last["reauth"] is False
    assert last["since_auth_seconds"] == 3 * 3600 - 1800  # still measured from the login
    assert last["idle_seconds"] == 3600.0


def test_lifecycle_event_acts_on_the_target_user_not_the_admin() -> None:
    suspend = okta(
        "2026-04-01T09:00:00Z",
        "user.lifecycle.suspend",
        "admin-s",
        "root@example.com",
        [
            {"type": "AppInstance", "alternate_id": "salesforce"},
            {"type": "User", "alternate_id": "bob@example.com"},
        ],
    )
    facts = enrich(
        suspend,
        okta("2026-04-01T09:05:00Z", "user.session.start", "admin-s2", "root@example.com"),
        okta("2026-04-01T09:06:00Z", "user.session.start", "bob-s", "bob@example.com"),
    )
    assert facts[0]["account"]["target"] == "bob@example.com"
    assert facts[1]["account"]["status"] == "unknown"  # the admin stays as he was
    assert facts[2]["account"]["status"] == "disabled"


def test_a_lifecycle_event_without_a_user_target_never_falls_back_to_the_actor() -> None:
    group_only = okta(
        "2026-04-01T09:00:00Z",
        "user.lifecycle.deactivate",
        "admin-s",
        "root@example.com",
        [{"type": "UserGroup", "alternate_id": "Everyone"}],
    )
    facts = enrich(group_only, okta("2026-04-01T09:05:00Z", "user.session.start", "s2", "root@example.com"))
    assert "target" not in facts[0].get("account", {})
    assert facts[1]["account"]["status"] == "unknown"


ENABLES = [
    "user.lifecycle.unsuspend",
    "user.lifecycle.activate",
    "user.lifecycle.reactivate",
    "user.account.unlock",
]


@pytest.mark.parametrize("enable", ENABLES)
def test_re_enable_events_restore_the_account(enable: str) -> None:
    target = [{"type": "User", "alternate_id": "bob@example.com"}]
    facts = enrich(
        okta("2026-04-01T09:00:00Z", "user.lifecycle.suspend", "a", "root@example.com", target),
        okta("2026-04-01T09:01:00Z", "user.session.start", "b1", "bob@example.com"),
        okta("2026-04-01T09:02:00Z", enable, "a", "root@example.com", target),
        okta("2026-04-01T09:03:00Z", "user.session.start", "b2", "bob@example.com"),
    )
    assert facts[1]["account"]["status"] == "disabled"
    assert facts[2]["event"]["action"] == "account_enable"
    assert facts[3]["account"]["status"] == "active"


def test_entra_reads_no_grant_type_from_the_authentication_protocol() -> None:
    doc = {
        "@timestamp": "2026-05-02T08:00:00Z",
        "data_stream": {"dataset": "azure.signinlogs"},
        "event": {"action": "Sign-in activity", "outcome": "success"},
        "azure": {
            "signinlogs": {
                "category": "NonInteractiveUserSignInLogs",
                "properties": {"session_id": "s", "authentication_protocol": "ropc", "app_id": "app"},
            }
        },
    }
    facts = enrich(doc)[0]
    assert facts["event"]["action"] == "token_refresh"
    assert "grant_type" not in facts["token"]
    entra = next(p for p in load_builtin() if p.name == "entra")
    assert "grant_type" not in entra.fields


def test_profile_comes_from_data_stream_dataset_when_event_dataset_is_unknown() -> None:
    doc = okta("2026-04-01T08:00:00Z", "user.session.start", "s1", "ada@example.com")
    doc["event"]["dataset"] = "okta.system.custom"  # a rename in a custom pipeline
    assert enrich(doc)[0]["event"]["profile"] == "okta"
    alone = okta("2026-04-01T08:00:00Z", "user.session.start", "s1", "ada@example.com")
    assert enrich(alone)[0]["event"]["profile"] == "okta"  # exports often keep only data_stream


def test_array_selector_in_paths_and_conditions() -> None:
    doc = {"okta": {"target": [{"type": "AppInstance", "id": "app"}, {"type": "user", "id": "u1"}]}}
    assert Condition("okta.target[type=User].id", "equals", ("u1",)).matches(doc)
    assert not Condition("okta.target[type=Group].id", "exists").matches(doc)
    assert Condition("okta.target[].id", "equals", ("app",)).matches(doc)
    text = """
name: arrays
description: selector
datasets: [x]
fields:
  account_target: ["okta.target[type=User].id"]
actions: {account_disable: [disabled]}
"""
    profile = profile_from_yaml(text, "arrays.yml")
    assert profile.extract(doc, dotted=False) == {"account_target": "u1"}
    assert profile.extract(doc, dotted=True) == {"account_target": "u1"}
    with pytest.raises(PluginError, match="invalid profile"):
        profile_from_yaml(text.replace("[type=User]", "[type=User"), "broken.yml")


def test_hint_names_datasets_and_the_profile_flag() -> None:
    usage = ProfileUsage()
    usage.record({"event": {"dataset": "okta.raw"}}, True, None)
    usage.record({"eventType": "user.session.start", "uuid": "u", "actor": {}}, True, "generic")
    usage.record({"data_stream": {"dataset": "okta.system"}}, True, "okta")
    hints = usage.hints(["generic", "okta"])
    assert "2 of 3 events" in hints[0]
    assert "okta.raw (1)" in hints[0]
    assert "--profile NAME" in hints[0]
    assert "raw Okta System Log API JSON" in hints[1]
    assert "okta.system" in hints[1]


def test_no_hint_when_most_events_found_their_profile() -> None:
    usage = ProfileUsage()
    for _ in range(3):
        usage.record({"data_stream": {"dataset": "okta.system"}}, True, "okta")
    usage.record({}, True, None)
    assert usage.hints(["okta"]) == []


def test_enrich_prints_the_hint_on_stderr(tmp_path: Path) -> None:
    raw = {"eventType": "user.session.start", "uuid": "u1", "actor": {"alternateId": "ada@example.com"}}
    events = tmp_path / "raw.ndjson"
    events.write_text(json.dumps({"@timestamp": "2026-01-01T00:00:00Z", **raw}) + "\n", encoding="utf-8")
    command = ["enrich", str(events)]
    done = run_sessionwatch([*command, "-o", str(tmp_path / "out.ndjson")], cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 of 1 events went to the generic profile or passed through" in done.stderr
    assert "--profile NAME" in done.stderr
    assert "raw Okta System Log API JSON" in done.stderr
    forced = run_sessionwatch(
        [*command, "-o", str(tmp_path / "o2.ndjson"), "--profile", "generic"], cwd=tmp_path, timeout=120
    )
    assert forced.returncode == 0, forced.stderr
    assert "--profile NAME" not in forced.stderr  # the user already chose


def test_events_labelled_for_the_generic_profile_get_no_hint() -> None:
    """``generic.portal`` is the generic profile's own dataset: choosing it is not a fallback."""
    usage = ProfileUsage()
    for _ in range(3):
        usage.record({"event": {"dataset": "generic.portal"}}, False, "generic")
    assert usage.hints(["generic", "okta"]) == []
    usage.record({"event": {"dataset": "acme.app"}}, False, "generic")
    usage.record({"event": {"dataset": "acme.app"}}, False, "generic")
    usage.record({"event": {"dataset": "acme.app"}}, False, "generic")
    usage.record({"event": {"dataset": "acme.app"}}, False, "generic")
    assert usage.hints(["generic", "okta"])  # 4 of 7 fell to generic without asking for it
