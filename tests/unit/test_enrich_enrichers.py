"""Each enricher on small generic-profile streams: the facts and their edge cases."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.enrichers.device_binding import fingerprint
from sessionwatch.enrichers.inventory import load_inventory
from sessionwatch.enrichers.ip_binding import network_prefix
from sessionwatch.rules.errors import EnrichError
from tests.unit.test_enrich_helpers import facts_by_id, get, run, write_geoip_databases


def ev(ts: str, eid: str, action: str = "view", session: str | None = "s1", **extra: Any) -> str:
    doc: dict[str, Any] = {"@timestamp": ts, "event": {"id": eid, "action": action}}
    if session is not None:
        doc["session"] = {"id": session}
    outcome = extra.pop("outcome", None)
    if outcome:
        doc["event"]["outcome"] = outcome
    doc.update(extra)
    return json.dumps(doc)


def facts(*lines: str, **options: Any) -> dict[str, dict[str, Any]]:
    return facts_by_id(run(list(lines), **options)[1])


def test_token_times_are_remembered_per_token_across_sessions() -> None:
    f = facts(
        ev(
            "2026-05-01T10:00:00Z",
            "1",
            "token_issued",
            token={"id": "T", "iat": 1777629600, "exp": 1777633200},
        ),
        ev("2026-05-01T10:30:00Z", "2", session="s1", token={"id": "T"}),
        ev("2026-05-01T11:10:00Z", "3", session="s2", token={"id": "T"}),
    )
    assert get(f["1"], "token.lifetime_seconds") == 3600.0
    assert get(f["1"], "token.issued_at") == "2026-05-01T10:00:00.000Z"
    assert get(f["2"], "token.expires_at") == "2026-05-01T11:00:00.000Z"
    assert get(f["2"], "token.past_expiry_seconds") == -1800.0
    assert get(f["3"], "token.past_expiry_seconds") == 600.0
    assert get(f["3"], "token.lifetime_seconds") == 3600.0


def test_token_ttl_gives_the_expiry() -> None:
    f = facts(
        ev(
            "2026-05-01T10:00:00Z",
            "1",
            token={"id": "T", "issued_at": "2026-05-01T09:00:00+02:00", "ttl": 90},
        )
    )
    assert get(f["1"], "token.expires_at") == "2026-05-01T07:01:30.000Z"


def test_revocation_by_token_reaches_other_sessions_and_by_session_only_that_session() -> None:
    f = facts(
        ev("2026-05-01T10:00:00Z", "1", session="a", token={"id": "T"}),
        ev(
            "2026-05-01T10:01:00Z",
            "2",
            "token_revoked",
            session="admin",
            token={"revoked_id": "T", "id": "ADM"},
        ),
        ev("2026-05-01T10:02:00Z", "3", session="b", token={"id": "T"}),
        ev("2026-05-01T10:03:00Z", "4", session="admin", token={"id": "ADM"}),
        ev("2026-05-01T10:04:00Z", "5", "token_revoked", session="c"),
        ev("2026-05-01T10:05:00Z", "6", session="c"),
        ev("2026-05-01T10:06:00Z", "7", session="d"),
        ev("2026-05-01T10:07:00Z", "8", "token_revoked", session="e", token={"id": "E"}, outcome="failure"),
        ev("2026-05-01T10:08:00Z", "9", session="e", token={"id": "E"}),
    )
    assert get(f["1"], "token.revoked") is False
    assert get(f["2"], "token.revoked") is False  # the revoking event reports the state before it
    assert get(f["3"], "token.revoked") is True
    assert get(f["3"], "token.since_revocation_seconds") == 60.0
    assert get(f["4"], "token.revoked") is False  # the admin's own token is untouched
    assert get(f["6"], "token.revoked") is True
    assert get(f["6"], "token.since_revocation_seconds") == 60.0
    assert get(f["7"], "token.revoked") is False
    assert get(f["9"], "token.revoked") is False  # a failed revocation revokes nothing


def test_lifecycle_failed_logout_ends_nothing_and_termination_counts() -> None:
    f = facts(
        ev("2026-05-01T10:00:00Z", "1", "login"),
        ev("2026-05-01T10:01:00Z", "2", "logout", outcome="failure"),
        ev("2026-05-01T10:02:00Z", "3"),
        ev("2026-05-01T10:03:00Z", "4", "session_terminated"),
        ev("2026-05-01T10:04:30Z", "5", "logout"),
        ev("2026-05-01T10:05:00Z", "6"),
    )
    assert get(f["3"], "session.ended") is False
    assert get(f["5"], "session.end_action") == "termination"
    assert get(f["6"], "session.end_action") == "termination"  # the first end counts
    assert get(f["6"], "session.since_end_seconds") == 120.0


def test_since_auth_follows_the_latest_successful_authentication() -> None:
    f = facts(
        ev("2026-05-01T10:00:00Z", "1"),
        ev("2026-05-01T10:10:00Z", "2", "reauth", outcome="failure"),
        ev("2026-05-01T10:20:00Z", "3", "step_up"),
        ev("2026-05-01T10:50:00Z", "4"),
    )
    assert get(f["1"], "session.since_auth_seconds") is None
    assert get(f["1"], "session.start_observed") is False
    assert get(f["2"], "session.reauth") is False
    assert get(f["3"], "session.reauth") is True
    assert get(f["4"], "session.since_auth_seconds") == 1800.0
    assert get(f["4"], "session.idle_seconds") == 1800.0


@pytest.mark.parametrize(
    ("ip", "prefix"),
    [
        ("192.0.2.77", "192.0.2"),
        ("2001:db8::1", "2001:0db8:0000:0000"),
        ("2001:db8:0:0:ffff::1", "2001:0db8:0000:0000"),
    ],
)
def test_network_prefix(ip: str, prefix: str) -> None:
    assert network_prefix(ip) == prefix


def test_ip_binding_previous_changed_prefix_and_distinct() -> None:
    f = facts(
        ev("2026-05-01T10:00:00Z", "1", source={"ip": "192.0.2.1"}),
        ev("2026-05-01T10:01:00Z", "2"),
        ev("2026-05-01T10:02:00Z", "3", source={"ip": "192.0.2.200"}),
        ev("2026-05-01T10:03:00Z", "4", client={"ip": "203.0.113.9"}),
        ev("2026-05-01T10:04:00Z", "5", source={"ip": "192.0.2.1"}),
    )
    assert get(f["2"], "ip") is None  # no address: no IP facts, previous does not move
    assert get(f["3"], "ip.previous") == "192.0.2.1"
    assert get(f["3"], "ip.changed") is True
    assert get(f["3"], "ip.prefix_changed") is False
    assert get(f["4"], "ip.prefix_changed") is True
    assert get(f["5"], "ip.distinct") == 3
    assert get(f["5"], "ip.prefix_changed") is False


def test_device_fingerprint_is_documented_and_compared_within_its_kind() -> None:
    ua = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/120.0"
    assert fingerprint("dev-1", ua) == "dev-1"
    assert fingerprint(None, ua) == "ua:" + hashlib.sha256(ua.encode()).hexdigest()[:16]
    assert fingerprint(None, None) is None
    f = facts(
        ev("2026-05-01T10:00:00Z", "1", device={"id": "laptop"}, user_agent={"original": ua}),
        ev("2026-05-01T10:01:00Z", "2", user_agent={"original": ua}),
        ev("2026-05-01T10:02:00Z", "3", user_agent={"original": ua + " evil"}),
        ev("2026-05-01T10:03:00Z", "4", device={"id": "phone"}),
    )
    assert get(f["1"], "device.fingerprint") == "laptop"
    assert get(f["2"], "device.changed") is False  # first user-agent fingerprint of the session
    assert get(f["3"], "device.changed") is True
    assert get(f["4"], "device.changed") is True
    assert get(f["4"], "device.first") == "laptop"
    assert get(f["4"], "device.distinct") == 4


def test_requests_in_the_last_minute_and_first_use_of_a_path() -> None:
    f = facts(
        ev("2026-05-01T10:00:00Z", "1", url={"path": "/a"}),
        ev("2026-05-01T10:00:30Z", "2", url={"path": "/b"}),
        ev("2026-05-01T10:00:59Z", "3", url={"path": "/a"}),
        ev("2026-05-01T10:01:00Z", "4"),
    )
    assert get(f["3"], "session.requests_last_minute") == 3
    assert get(f["4"], "session.requests_last_minute") == 3  # 10:00:00 is exactly 60 s ago: out
    assert get(f["2"], "session.path_first_use") is True
    assert get(f["3"], "session.path_first_use") is False
    assert get(f["4"], "session.path_first_use") is None


@pytest.mark.parametrize("kind", ["json", "ndjson", "csv"])
def test_inventory_formats(kind: str, tmp_path: Path) -> None:
    records = [
        {"user": "Alice@Example.com", "status": "active", "last_seen": "2026-04-01T10:00:00Z"},
        {"user": "bob", "status": "disabled", "disabled_at": "2026-05-01T12:00:00Z"},
        {"user": "carol", "status": "deprovisioned"},
    ]
    path = tmp_path / f"inventory.{kind}"
    if kind == "json":
        path.write_text(json.dumps(records))
    elif kind == "ndjson":
        path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    else:
        rows = ["user,status,last_seen,disabled_at"]
        rows += [
            f"{r['user']},{r['status']},{r.get('last_seen', '')},{r.get('disabled_at', '')}" for r in records
        ]
        path.write_text("\n".join(rows) + "\n")
    f = facts(
        ev("2026-05-01T10:00:00Z", "1", user={"name": "alice@example.com"}),
        ev("2026-05-01T11:00:00Z", "2", user={"name": "bob"}),
        ev("2026-05-01T13:00:00Z", "3", user={"name": "bob"}),
        ev("2026-05-01T13:00:00Z", "4", user={"name": "carol"}),
        ev("2026-05-01T13:00:00Z", "5", user={"name": "dave"}),
        enricher_options={"inventory": str(path)},
    )
    assert get(f["1"], "account.status") == "active"
    assert get(f["1"], "account.dormant_days") == 30.0
    assert get(f["2"], "account.status") == "active"  # before disabled_at
    assert get(f["3"], "account.status") == "disabled"
    assert get(f["3"], "account.dormant_days") == pytest.approx(2 / 24, abs=1e-4)
    assert get(f["4"], "account.status") == "deprovisioned"
    assert get(f["5"], "account.status") == "unknown"
    assert get(f["5"], "account.dormant_days") is None


def test_account_disable_event_in_the_stream() -> None:
    f = facts(
        ev("2026-05-01T10:00:00Z", "1", session="x", user={"name": "eve"}),
        ev(
            "2026-05-01T10:05:00Z",
            "2",
            "deprovisioned",
            session="adm",
            user={"name": "admin", "target": {"name": "EVE"}},
        ),
        ev("2026-05-01T10:06:00Z", "3", session="x", user={"name": "eve"}),
        ev("2026-05-01T10:07:00Z", "4", session="adm", user={"name": "admin"}),
    )
    assert get(f["2"], "account.target") == "EVE"
    assert get(f["3"], "account.status") == "disabled"
    assert get(f["4"], "account.status") == "unknown"


@pytest.mark.parametrize(
    ("content", "suffix", "message"),
    [
        (
            '{"user": "a"}\n{"status": "active"}\n',
            "ndjson",
            "inventory.ndjson:2:1: inventory record has no 'user'",
        ),
        (
            "user,status,last_seen\na,active,yesterday\n",
            "csv",
            "inventory.csv:2:1: last_seen is not ISO-8601",
        ),
        ('[{"user": "a", "role": "x"}]', "json", "inventory.json: unknown inventory field(s) role"),
        ('{"user": \n', "ndjson", "inventory.ndjson:1:"),
    ],
)
def test_bad_inventory_is_a_located_error(content: str, suffix: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / f"inventory.{suffix}"
    path.write_text(content)
    with pytest.raises(EnrichError) as caught:
        load_inventory(path)
    assert str(caught.value).startswith(f"{tmp_path}/{message}")


def test_geoip_country_and_asn_and_their_changes(tmp_path: Path) -> None:
    options = write_geoip_databases(tmp_path)
    f = facts(
        ev("2026-05-01T10:00:00Z", "1", source={"ip": "198.51.100.7"}),
        ev("2026-05-01T10:01:00Z", "2", source={"ip": "192.0.2.7"}),
        ev("2026-05-01T10:02:00Z", "3", source={"ip": "203.0.113.7"}),
        ev("2026-05-01T10:03:00Z", "4", source={"ip": "2001:db8::7"}),
        ev("2026-05-01T10:04:00Z", "5", source={"ip": "10.0.0.1"}),
        enricher_options=options,
    )
    assert get(f["1"], "geo") == {
        "country_iso_code": "NL",
        "country_changed": False,
        "asn": 64500,
        "asn_changed": False,
        "as_org": "Example Transit",
    }
    assert get(f["2"], "geo.country_changed") is False
    assert get(f["2"], "geo.asn_changed") is True
    assert get(f["3"], "geo.country_changed") is True
    assert get(f["4"], "geo.country_iso_code") == "DE"
    assert get(f["4"], "geo.asn") is None
    assert get(f["5"], "geo") is None


def test_geoip_without_a_database_adds_nothing_and_a_bad_file_is_an_error(tmp_path: Path) -> None:
    f = facts(ev("2026-05-01T10:00:00Z", "1", source={"ip": "198.51.100.7"}))
    assert get(f["1"], "geo") is None
    broken = tmp_path / "broken.mmdb"
    broken.write_bytes(b"not a database")
    with pytest.raises(EnrichError, match="cannot open MaxMind database"):
        run([], enricher_options={"geoip_asn": str(broken)})
