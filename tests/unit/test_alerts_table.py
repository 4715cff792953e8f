"""The human output of ``detect``: format choice, actual-vs-limit per kind, colour, summary."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from sessionwatch.reports import alerts_table
from sessionwatch.reports.alerts_table import (
    ACTUAL_VS_LIMIT,
    actual_vs_limit,
    choose_format,
    format_table,
    human_duration,
    write_alerts,
)
from sessionwatch.reports.human import use_colour, with_progress
from sessionwatch.rules.kinds import Kind


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def alert(
    kind: str,
    facts: dict[str, Any],
    counts: dict[str, Any] | None = None,
    *,
    rule: str = "r",
    session: str | None = "sess-a",
    user: str = "alice",
    severity: int = 73,
    at: str = "2026-03-02T09:25:00Z",
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": at,
        "event": {"kind": "alert", "severity": severity, "id": f"id-{rule}-{session}"},
        "rule": {"name": rule, "category": kind, "description": f"title of {rule}"},
        "sessionwatch": {
            "evidence": {
                "event_ids": ["e-1"],
                "facts": {f"sessionwatch.{k}": v for k, v in facts.items()},
                **({"counts": counts} if counts else {}),
            }
        },
        "user": {"name": user},
    }
    if session:
        doc["sessionwatch"]["session"] = {"id": session}
    return doc


# One realistic alert per kind (evidence as the alert builder writes it), the rule's parameters,
# and what the table must say.
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "session_idle_timeout": (
        alert("session_idle_timeout", {"session.idle_seconds": 1620.0, "session.age_seconds": 2000.0}),
        {"idle_timeout": "15m"},
        "idle 27m > 15m",
    ),
    "session_max_lifetime": (
        alert("session_max_lifetime", {"session.age_seconds": 30600, "session.since_auth_seconds": 30600}),
        {"max_lifetime": "8h", "anchor": "session_start"},
        "age 8h 30m > 8h",
    ),
    "session_post_logout": (
        alert("session_post_logout", {"session.end_action": "logout", "session.since_end_seconds": 660}),
        {"grace": "30s"},
        "used 11m after logout",
    ),
    "token_revoked_use": (
        alert("token_revoked_use", {"token.id": "t-1", "token.since_revocation_seconds": 120}),
        {"grace": "30s"},
        "used 2m after revocation",
    ),
    "token_expired_use": (
        alert("token_expired_use", {"token.id": "t-1", "token.past_expiry_seconds": 300}),
        {"clock_skew": "60s"},
        "used 5m past expiry > 60s skew",
    ),
    "token_lifetime_policy": (
        alert("token_lifetime_policy", {"token.id": "t-1", "token.lifetime_seconds": 28800}),
        {"max_token_lifetime": "1h"},
        "lifetime 8h > 1h",
    ),
    "token_renewal_outside_workflow": (
        alert(
            "token_renewal_outside_workflow",
            {"token.grant_type": "refresh_token", "token.client_id": "legacy-cli"},
        ),
        {"allowed_grant_types": ["refresh_token"], "allowed_clients": ["portal-web"]},
        "client legacy-cli not in portal-web",
    ),
    "account_inactive_use": (
        alert("account_inactive_use", {"account.status": "active", "account.dormant_days": 120.5}),
        {"inactive_statuses": ["disabled"], "max_dormancy": "90d"},
        "dormant 120d 12h > 90d",
    ),
    "session_ip_binding": (
        alert("session_ip_binding", {"source.ip": "203.0.113.9", "ip.first": "10.1.2.3"}),
        {"allowed_cidrs": ["10.0.0.0/8"]},
        "203.0.113.9 outside 10.0.0.0/8",
    ),
    "session_device_binding": (
        alert(
            "session_device_binding",
            {"device.distinct": 2, "device.fingerprint": "dev-2", "device.first": "dev-1"},
            {"devices": 1, "events": 1},
        ),
        {"max_devices": 1},
        "2 devices > 1: dev-2, bound to dev-1",
    ),
    "session_request_pattern": (
        alert("session_request_pattern", {"session.requests_last_minute": 121, "url.path": "/app"}),
        {"max_requests_per_minute": 120},
        "121 requests/min > 120",
    ),
    "session_concurrency": (
        alert("session_concurrency", {}, {"sessions": 7, "events": 9}, session=None),
        {"max_sessions": 3, "within": "15m"},
        "7 sessions > 3",
    ),
}


def test_every_kind_has_its_wording() -> None:
    assert set(ACTUAL_VS_LIMIT) == {k.value for k in Kind}
    assert set(CASES) == {k.value for k in Kind}


@pytest.mark.parametrize("kind", [k.value for k in Kind])
def test_actual_vs_limit_per_kind(kind: str) -> None:
    doc, params, expected = CASES[kind]
    assert actual_vs_limit(doc, params) == expected


@pytest.mark.parametrize(
    ("params", "facts", "expected"),
    [
        (
            {"max_lifetime": "12h", "anchor": "authentication"},
            {"session.since_auth_seconds": 45000},
            "since login 12h 30m > 12h",
        ),
        (
            {"bind_to_first_network": True},
            {"source.ip": "203.0.113.7", "ip.first": "198.51.100.10"},
            "network changed: 203.0.113.7, started on 198.51.100.10",
        ),
    ],
)
def test_variants_of_a_kind_name_their_own_limit(
    params: dict[str, Any], facts: dict[str, Any], expected: str
) -> None:
    kind = "session_max_lifetime" if "max_lifetime" in params else "session_ip_binding"
    assert actual_vs_limit(alert(kind, facts), params) == expected


def test_renewal_and_request_pattern_say_which_limit_was_broken() -> None:
    renewal = {"allowed_grant_types": ["refresh_token"], "allowed_clients": ["web"], "max_lifetime": "8h"}
    grant = alert(
        "token_renewal_outside_workflow", {"token.grant_type": "password", "token.client_id": "web"}
    )
    assert actual_vs_limit(grant, renewal) == "grant password not in refresh_token"
    late = alert(
        "token_renewal_outside_workflow",
        {"token.grant_type": "refresh_token", "token.client_id": "web", "session.age_seconds": 30000},
    )
    assert actual_vs_limit(late, renewal) == "renewed at session age 8h 20m > 8h"
    stale = alert("session_request_pattern", {"url.path": "/payments", "session.since_auth_seconds": 2400})
    assert actual_vs_limit(stale, {"sensitive_paths": ["/payments"], "max_auth_age": "15m"}) == (
        "/payments with login 40m > 15m old"
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (901, "15m 1s"), (1200, "20m"), (97200, "1d 3h"), (None, "?")],
)
def test_human_duration(seconds: Any, text: str) -> None:
    assert human_duration(seconds) == text


def test_table_on_a_terminal_ndjson_when_piped_and_format_overrides() -> None:
    assert choose_format(None, Tty()) == "table"
    assert choose_format(None, io.StringIO()) == "ndjson"
    assert choose_format("ndjson", Tty()) == "ndjson"
    assert choose_format("table", io.StringIO()) == "table"


def test_colour_only_on_a_terminal_and_never_with_no_color() -> None:
    assert use_colour(Tty(), {})
    assert not use_colour(io.StringIO(), {})
    assert not use_colour(Tty(), {"NO_COLOR": "1"})
    assert use_colour(Tty(), {"NO_COLOR": ""})  # no-color.org: set *and non-empty*


def test_write_alerts_ndjson_and_json_are_the_documents_unchanged() -> None:
    docs = [CASES["session_idle_timeout"][0], CASES["session_concurrency"][0]]
    called: list[bool] = []

    def rules() -> list[Any]:
        called.append(True)
        return []

    piped = io.StringIO()
    write_alerts(docs, None, rules, piped)
    assert [json.loads(line) for line in piped.getvalue().splitlines()] == docs
    as_json = io.StringIO()
    write_alerts(docs, "json", rules, as_json)
    assert json.loads(as_json.getvalue()) == docs
    assert not called  # machine formats never load rules


def test_table_groups_by_rule_with_session_user_time_and_a_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = [
        alert("session_idle_timeout", {"session.idle_seconds": 1620}, rule="pci-idle", session="s-1"),
        alert("session_concurrency", {}, {"sessions": 7}, rule="conc", session=None, user="bob", severity=47),
        alert(
            "session_idle_timeout",
            {"session.idle_seconds": 1000},
            rule="pci-idle",
            session="s-2",
            user="carol",
        ),
    ]
    text = format_table(docs, {"pci-idle": {"idle_timeout": "15m"}, "conc": {"max_sessions": 3}})
    lines = text.splitlines()
    assert lines[0].split() == ["pci-idle", "high", "session_idle_timeout", "2", "alerts"]
    assert lines[2].split() == ["TIME", "SESSION", "USER", "ACTUAL", "vs", "LIMIT"]
    assert lines[3].split() == ["2026-03-02", "09:25:00Z", "s-1", "alice", "idle", "27m", ">", "15m"]
    assert lines[4].split() == ["2026-03-02", "09:25:00Z", "s-2", "carol", "idle", "16m", "40s", ">", "15m"]
    conc = lines.index(next(line for line in lines if line.startswith("conc")))
    assert lines[conc + 3].split()[2:] == ["—", "bob", "7", "sessions", ">", "3"]
    assert lines[-1] == "3 alerts from 2 rules: 2 high, 1 medium · 2 sessions · 3 users"
    assert "\x1b[" not in text


def test_table_colour_follows_the_stream() -> None:
    docs = [alert("session_idle_timeout", {"session.idle_seconds": 1620}, rule="pci-idle")]
    terminal = Tty()
    write_alerts(docs, None, list, terminal)
    assert "\x1b[31mhigh\x1b[0m" in terminal.getvalue()
    assert format_table(docs, {}, colour=False).count("\x1b[") == 0


def test_no_color_turns_colour_off_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Tty()
    write_alerts([alert("session_idle_timeout", {"session.idle_seconds": 1620})], None, list, terminal)
    assert "\x1b[" not in terminal.getvalue()
    assert "idle 27m" in terminal.getvalue()


def test_no_alerts_says_so() -> None:
    assert format_table([], {}) == "no alerts\n"


def test_formats_are_the_documented_ones() -> None:
    assert alerts_table.FORMATS == ("table", "ndjson", "json")


def test_progress_only_on_a_terminal_and_cleared_at_the_end() -> None:
    terminal = Tty()
    assert list(with_progress(iter(range(5)), "test", 5, terminal)) == [0, 1, 2, 3, 4]
    shown = terminal.getvalue()
    assert "test: 5/5" in shown  # the last count is always shown
    assert shown.endswith("\r\x1b[K")  # and the line cleared for the summary
    piped = io.StringIO()
    assert list(with_progress(iter(range(5)), "test", 5, piped)) == [0, 1, 2, 3, 4]
    assert piped.getvalue() == ""
