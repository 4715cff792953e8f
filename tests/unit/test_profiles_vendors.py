"""Facts on fixtures written in each source's real layout (as the Elastic integrations write it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.test_enrich_helpers import PROFILE_DATA, get, profile_facts, run

PROFILES = sorted(p.name for p in PROFILE_DATA.iterdir() if p.is_dir())


def test_every_vendor_profile_has_a_fixture() -> None:
    expected = {
        "auth0",
        "entra",
        "google_workspace",
        "hashicorp_vault",
        "okta",
        "salesforce",
        "system_auth",
        "teleport",
    }
    assert set(PROFILES) == expected


@pytest.mark.parametrize("profile", PROFILES)
def test_fixture_is_claimed_by_its_profile(profile: str) -> None:
    facts = profile_facts(profile)
    assert {get(f, "event.profile") for f in facts.values()} == {profile}


def test_okta_session_lifecycle_ip_and_device() -> None:
    f = profile_facts("okta", reorder_window=60.0)
    assert get(f["okta-1"], "session.id") == "102Xk3qVfTgR0mOSessA1"
    assert get(f["okta-1"], "event.action") == "login"
    assert get(f["okta-1"], "session.start_observed") is True
    # okta-3 arrived after okta-2 but happened before it: the window puts it back in order
    assert get(f["okta-3"], "session.sequence") == 2
    assert get(f["okta-3"], "event.action") == "reauth"
    assert get(f["okta-2"], "session.idle_seconds") == 20.1
    assert get(f["okta-2"], "session.since_auth_seconds") == 20.1
    assert get(f["okta-4"], "ip.changed") is True
    assert get(f["okta-4"], "ip.prefix_changed") is True
    assert get(f["okta-4"], "device.changed") is True
    assert get(f["okta-4"], "device.first") == "541daf91d15bef64a7e08c946fd9a9d0"
    assert get(f["okta-5"], "event.action") == "logout"
    assert get(f["okta-5"], "session.ended") is False
    assert get(f["okta-6"], "session.ended") is True
    assert get(f["okta-6"], "session.end_action") == "logout"
    assert get(f["okta-6"], "session.since_end_seconds") == 1200.0
    assert get(f["okta-6"], "url.path") == "/api/v1/authn/factors"


def test_okta_without_reorder_window_flags_the_late_event() -> None:
    f = profile_facts("okta")
    assert get(f["okta-3"], "quality.out_of_order") is True
    assert get(f["okta-3"], "session.sequence") is None
    assert get(f["okta-3"], "session.id") == "102Xk3qVfTgR0mOSessA1"


def test_entra_sign_ins_refresh_and_mfa() -> None:
    f = profile_facts("entra")
    assert get(f["e-1"], "event.action") == "login"
    assert get(f["e-1"], "device.id") == "5b1c2f4a-0d63-4f3e-9a41-0c3f77e0b0aa"
    assert get(f["e-1"], "token.client_id") == "c44b4083-3bb0-49c1-b47d-974e53cbdf3c"
    assert get(f["e-2"], "event.action") == "token_refresh"
    assert get(f["e-2"], "token.id") == "OTNhYWMwOTctZmZjYi00NzJj"
    assert get(f["e-2"], "session.idle_seconds") == 3603.483
    assert get(f["e-3"], "event.accepted") is False
    assert get(f["e-3"], "ip.prefix_changed") is True
    assert get(f["e-4"], "event.action") == "login"
    assert get(f["e-4"], "session.reauth") is True
    # the failed sign-in does not count as activity: idle is measured from e-2
    assert get(f["e-4"], "session.idle_seconds") == 1845.813


def test_auth0_logout_then_silent_authentication() -> None:
    f = profile_facts("auth0")
    first = "90020211103032530111223343147286033102509916061341581378"
    exchange = "90020211103032531111223343147286033102509916061341581379"
    mfa = "90020211103034002111223343147286033102509916061341581380"
    silent = "90020211103043000111223343147286033102509916061341581382"
    assert get(f[first], "session.id") == "1TAd-7tsPYzxWudzqfHYXN0e6q1D0GSc"
    assert get(f[first], "device.fingerprint").startswith("ua:")
    assert get(f[exchange], "event.action") == "token_issue"
    assert get(f[exchange], "session") is None  # a token exchange carries no session id
    assert get(f[exchange], "token.client_id") == "aI61p8I8aFjmYRliLWgvM9ev97kCCNDB"
    assert get(f[mfa], "session.reauth") is True
    assert get(f[silent], "event.action") == "token_refresh"
    assert get(f[silent], "session.ended") is True
    assert get(f[silent], "session.since_end_seconds") == 1669.0
    assert get(f[silent], "ip.changed") is True
    assert get(f[silent], "ip.prefix_changed") is False


def test_vault_accessor_is_token_and_session_with_ttl_and_revocation() -> None:
    f = profile_facts("hashicorp_vault")
    accessor = "hmac-sha256:8bfe54d69390a4adc95d16a826f3792753ddd31cfe36ded64625ae4b0a765b3d"
    assert get(f["v-1"], "event.action") == "login"
    assert get(f["v-1"], "session.id") == accessor
    assert get(f["v-1"], "token.id") == accessor
    assert get(f["v-1"], "token.issued_at") == "2026-09-25T11:19:25.000Z"
    assert get(f["v-1"], "token.expires_at") == "2026-09-26T11:19:25.000Z"
    assert get(f["v-1"], "token.lifetime_seconds") == 86400.0
    assert get(f["v-2"], "token.past_expiry_seconds") == -83965.0
    assert get(f["v-3"], "token.past_expiry_seconds") == 2435.0
    assert get(f["v-3"], "event.accepted") is False
    assert get(f["v-4"], "event.action") == "token_revoke"
    assert get(f["v-4"], "token.expires_at") is None  # TTL 0: a root token never expires
    assert get(f["v-4"], "token.revoked") is False
    assert get(f["v-5"], "token.revoked") is True
    assert get(f["v-5"], "token.since_revocation_seconds") == 60.0
    assert get(f["v-5"], "url.path") == "secret/data/training"
    assert get(f["v-5"], "session.path_first_use") is False


def test_teleport_session_start_join_leave_end_and_user_delete() -> None:
    f = profile_facts("teleport")
    assert get(f["t-1"], "event.action") == "login"
    assert get(f["t-1"], "device.id") == "d2a9b5f0-6e0e-4a57-9c2c-3f0b0c9d7e11"
    assert get(f["t-2"], "event.action") == "token_issue"
    assert get(f["t-2"], "actor.name") == "teleport-admin"
    assert get(f["t-2"], "token.past_expiry_seconds") == -43200.0
    assert get(f["t-3"], "session.start_observed") is True
    assert get(f["t-4"], "actor.name") == "alice"
    assert get(f["t-4"], "ip.changed") is True
    assert get(f["t-5"], "session.ended") is False  # a participant leaving ends nothing
    assert get(f["t-6"], "event.action") == "logout"
    assert get(f["t-7"], "session.ended") is True
    assert get(f["t-7"], "session.since_end_seconds") == 2.947
    assert get(f["t-8"], "event.action") == "account_disable"
    assert get(f["t-8"], "account.target") == "teleport-admin"
    assert get(f["t-9"], "account.status") == "disabled"
    assert get(f["t-9"], "event.accepted") is False  # outcome is a list in this layout


def test_system_auth_host_and_pid_make_the_session_key() -> None:
    f = profile_facts("system_auth")
    ids = list(f)
    login, opened, closed, other, reused, reopened = (f[i] for i in ids)
    assert get(login, "session.id") == "webserver:12345"
    assert get(login, "event.action") == "login"
    assert get(opened, "session.sequence") == 2
    assert get(closed, "event.action") == "logout"
    assert get(other, "session.id") == "webserver:12346"
    # the pid comes back with a new accepted login: a new session, not activity after logout
    assert get(reused, "session.id") == "webserver:12345"
    assert get(reused, "session.sequence") == 1
    assert get(reused, "session.ended") is False
    assert get(reopened, "session.ended") is False
    assert get(reopened, "account.target") is None


def test_google_workspace_account_disabled_then_used() -> None:
    f = profile_facts("google_workspace", reorder_window=60.0)
    assert get(f["g-1"], "session") is None  # the login audit has no session id
    assert get(f["g-2"], "event.action") == "account_disable"
    assert get(f["g-2"], "account.target") == "foo@bar.com"
    assert get(f["g-2"], "account.status") == "unknown"
    # same timestamp: the file order decides, and the disable came first
    assert get(f["g-4"], "account.status") == "disabled"
    assert get(f["g-4"], "event.accepted") is True
    assert get(f["g-4"], "account.dormant_days") == 1.25


def test_google_workspace_with_an_inventory() -> None:
    inventory = str(PROFILE_DATA / "google_workspace" / "inventory.csv")
    f = profile_facts("google_workspace", enricher_options={"inventory": inventory})
    assert get(f["g-1"], "account.status") == "active"
    assert get(f["g-1"], "account.dormant_days") == 1.0
    assert get(f["g-6"], "account.last_seen") == "2026-06-01T09:00:00.000Z"
    assert get(f["g-6"], "account.dormant_days") == 123.25
    assert get(f["g-4"], "account.status") == "disabled"


def test_salesforce_login_key_links_login_and_logout() -> None:
    f = profile_facts("salesforce")
    login, failed, logout = (f[i] for i in f)
    assert get(login, "session.id") == "QfNecrLXSII6fsBq"
    assert get(login, "url.path") == "/index.jsp"
    assert get(failed, "event.accepted") is False
    assert get(failed, "session.start_observed") is False
    assert get(logout, "session.id") == "QfNecrLXSII6fsBq"
    assert get(logout, "event.action") == "logout"
    assert get(logout, "token.id") == "WvtsJ1235oW24EbH"
    assert get(logout, "session.age_seconds") == 10270.188
    assert get(logout, "device.fingerprint").startswith("ua:")


def _flatten(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


@pytest.mark.parametrize("profile", PROFILES)
def test_flat_dotted_documents_give_the_same_facts(profile: str) -> None:
    lines = (PROFILE_DATA / profile / "events.ndjson").read_text().splitlines()
    flat = [json.dumps(_flatten(json.loads(line))) for line in lines]
    _, nested_out = run(lines, reorder_window=60.0)
    _, flat_out = run(flat, reorder_window=60.0)

    def facts(outs: list[Any]) -> list[dict[str, Any]]:
        found = []
        for out in outs:
            assert out.doc is not None, out.dead
            sw = json.loads(json.dumps(out.doc["sessionwatch"]))
            sw["event"].pop("id")  # a hash of the raw line when the source has no event id
            found.append(sw)
        return found

    assert facts(flat_out) == facts(nested_out)


def test_okta_session_expiry_is_a_termination() -> None:
    line = (PROFILE_DATA / "okta" / "events.ndjson").read_text().splitlines()[4]
    doc = json.loads(line)
    doc["okta"]["debug_context"]["debug_data"]["url"] = (
        "/login/signout?message=login_page_messages.session_has_expired"
    )
    _, outs = run([json.dumps(doc)])
    assert outs[0].doc is not None
    assert outs[0].doc["sessionwatch"]["event"]["action"] == "termination"
