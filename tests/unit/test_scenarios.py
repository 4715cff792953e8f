"""The scenario generator (bench/scenarios): deterministic by seed, every kind injected with its
near misses, labels consistent with the events, clean traffic inside the policy it claims."""

from __future__ import annotations

import json
import sys
import tomllib
import uuid
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.rules.kinds import Kind

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # bench/ is not installed; appended so the installed package wins

from bench.scenarios.generate import generate, read_labels, write  # noqa: E402
from bench.scenarios.model import Label, Limits, Scenario  # noqa: E402
from bench.scenarios.vendors import all_vendors  # noqa: E402

LIMITS = Limits()


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return generate(seed=5, days=1, users=12)


@pytest.fixture(scope="module")
def clean() -> Scenario:
    return generate(seed=5, days=2, users=25, clean=True)


def _get(doc: dict[str, Any], path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _eid(event: dict[str, Any]) -> str:
    """The generator's event id: event.id, Salesforce's event.code, or the sshd line's tag."""
    found = _get(event, "event.id") or _get(event, "event.code") or _get(event, "onepassword.uuid")
    if found:
        return str(found)
    txid = _get(event, "cisco_duo.auth.txid")
    if txid:  # the generator derives Duo's transaction id from its own event id
        return f"sc-{uuid.UUID(txid).int - (1 << 100):07d}"
    message = str(event.get("message", ""))  # sshd lines carry it; ZPA status records have none
    return message[message.rindex("[") + 1 : -1] if "[" in message else ""


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def test_same_seed_same_scenario_other_seed_other_scenario() -> None:
    first, again, other = (generate(seed, 1, 6) for seed in (3, 3, 4))
    assert first.events == again.events
    assert [label.to_json() for label in first.labels] == [label.to_json() for label in again.labels]
    assert first.events != other.events


def test_every_kind_has_violations_and_near_misses(scenario: Scenario) -> None:
    by_truth: dict[str, set[str]] = defaultdict(set)
    for label in scenario.labels:
        by_truth[label.truth].add(label.kind)
    every = {kind.value for kind in Kind}
    assert by_truth["violation"] == every
    assert by_truth["near_miss"] == every


def test_the_named_boundaries_are_near_misses(scenario: Scenario) -> None:
    described = " | ".join(label.description for label in scenario.labels if label.truth == "near_miss")
    for boundary in (
        "under the idle limit",
        "re-authenticated",
        "delivered",
        "NAT",
        "unsuspended",
        "session.upload",
        "inside the clock skew",
        "exactly the limit",
        "is not use",
        "auth_device.ip != access_device.ip",
    ):
        assert boundary in described, boundary


def test_labels_point_at_real_events_in_their_interval(scenario: Scenario) -> None:
    stamps = defaultdict(set)
    for event in scenario.events:
        stamps[_eid(event)].add(event["@timestamp"])
    for label in scenario.labels:
        assert label.event_ids, label
        times = []
        for eid in label.event_ids:
            assert eid in stamps, (label.label_id, eid)
            times += [_epoch(s) for s in stamps[eid]]
        assert min(times) == pytest.approx(_epoch(label.start), abs=0.002), label.label_id
        assert max(times) == pytest.approx(_epoch(label.end), abs=0.002), label.label_id
        assert label.session or label.account


def test_violations_have_wide_margins(scenario: Scenario) -> None:
    events = {_eid(e): e for e in scenario.events}
    for label in scenario.labels:
        if label.truth != "violation":
            continue
        if label.kind == "session_idle_timeout":
            assert "3 h idle" in label.description
        if label.kind == "session_max_lifetime":
            first = min(_epoch(events[eid]["@timestamp"]) for eid in label.event_ids)
            assert _epoch(label.end) - first > 3 * 3600  # offending uses go on for hours past the limit
        if label.kind == "token_lifetime_policy":
            event = events[label.event_ids[0]]
            ttl = _get(event, "hashicorp_vault.audit.auth.token_ttl")
            if ttl is None:
                ttl = _epoch(_get(event, "token.expires_at")) - _epoch(_get(event, "token.issued_at"))
            assert ttl >= 12 * LIMITS.token_lifetime


def test_late_delivery_is_written_after_the_logout(scenario: Scenario) -> None:
    late = next(label for label in scenario.labels if "delivered" in label.description)
    order = [_eid(e) for e in scenario.events]
    session_events = [e for e in scenario.events if _get(e, "session.id") == late.session]
    logout = next(_eid(e) for e in session_events if _get(e, "event.action") == "logout")
    assert order.index(late.event_ids[0]) > order.index(logout)
    assert _epoch(late.start) < min(_epoch(e["@timestamp"]) for e in session_events if _eid(e) == logout)


def _sessions(events: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    paths = {
        "okta.system": "okta.authentication_context.external_session_id",
        "generic.portal": "session.id",
        "teleport.audit": "teleport.audit.session.id",
        "azure.signinlogs": "azure.signinlogs.properties.session_id",
        "auth0.logs": "auth0.logs.data.details.session_id",
        "keycloak.log": "keycloak.login.code_id",
        "zscaler_zpa.user_status": "zscaler_zpa.user_status.session.id",
    }
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        path = paths.get(str(_get(event, "event.dataset")))
        sid = _get(event, path) if path else None
        if sid is not None:
            found[sid].append(event)
    return found


_ENDS = {"logout", "session.end", "session.upload", "user.session.end", "user-logout-successful", "LOGOUT"}
_AUTH = {
    "login",
    "reauth",
    "user.session.start",
    "user.authentication.verify",
    "session.start",
    "successful-login",
    "Sign-in activity",
}


def test_clean_traffic_stays_inside_the_strictest_policy(clean: Scenario) -> None:
    assert not clean.labels
    sessions = _sessions(clean.events)
    assert len(sessions) > 100
    for sid, events in sessions.items():
        events.sort(key=lambda e: _epoch(e["@timestamp"]))
        start = _epoch(events[0]["@timestamp"])
        previous = start
        for event in events:
            now = _epoch(event["@timestamp"])
            action = _get(event, "event.action")
            assert now - start < LIMITS.lifetime, sid
            if action in _ENDS:
                continue
            interactive = _get(event, "azure.signinlogs.properties.is_interactive")
            if action not in _AUTH or interactive is False:
                assert now - previous < LIMITS.idle, (sid, event["event"])
            previous = now
        addresses = {str(_get(e, "source.ip") or _get(e, "client.ip")).rsplit(".", 1)[0] for e in events}
        assert len(addresses - {"None"}) <= 1, sid  # moves stay inside the /24


def test_every_vendor_is_in_the_mix(scenario: Scenario) -> None:
    datasets = {_get(e, "event.dataset") for e in scenario.events}
    for vendor in all_vendors().values():
        assert vendor.dataset in datasets, vendor.name


def test_files_round_trip(scenario: Scenario, tmp_path: Path) -> None:
    write(scenario, tmp_path)
    lines = (tmp_path / "events.ndjson").read_text().splitlines()
    assert [json.loads(line) for line in lines] == scenario.events
    assert [label.to_json() for label in read_labels(tmp_path / "truth.json")] == [
        label.to_json() for label in scenario.labels
    ]
    site = json.loads((tmp_path / "site.json").read_text())
    assert site["allowed_cidrs"]
    assert site["allowed_clients"]
    assert site["sensitive_paths"]
    toml = tomllib.loads((tmp_path / "sessionwatch.toml").read_text())
    assert toml["site"] == site
    assert toml["policies"] == ["baseline", "organisation"]


def test_violations_say_what_configuration_their_rule_needs(scenario: Scenario) -> None:
    needs: dict[str, set[str]] = defaultdict(set)
    for label in scenario.labels:
        assert isinstance(label, Label)
        for need in label.needs:
            needs[need].add(label.kind)
        if label.truth == "near_miss":
            assert not label.needs
    assert needs["site"] == {
        "token_renewal_outside_workflow",
        "session_ip_binding",
        "session_request_pattern",
    }
    assert needs["set:organisation"] == {"token_lifetime_policy", "session_max_lifetime"}
    in_default = {label.kind for label in scenario.labels if label.truth == "violation" and not label.needs}
    assert in_default == {kind.value for kind in Kind} - {
        "token_lifetime_policy",
        "token_renewal_outside_workflow",
    }


def test_some_okta_events_arrive_late_but_within_a_minute(clean: Scenario) -> None:
    newest = 0.0
    lateness = []
    for event in clean.events:
        now = _epoch(event["@timestamp"])
        if now < newest and _get(event, "event.dataset") == "okta.system":
            lateness.append(newest - now)
        newest = max(newest, now)
    assert lateness
    assert max(lateness) < 60  # inside the default reorder window of enrich
