"""Alert documents from search responses (no network): hits, per-entity buckets, thresholds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sessionwatch.alerts import alert_key, alerts_from_response, over_threshold
from sessionwatch.rules import Rule, load_rules

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
WINDOW = ("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z")


@pytest.fixture(scope="module")
def rules() -> dict[str, Rule]:
    return {r.name: r for r in load_rules([PACK])}


def _source(session: str | None, event: str, user: str, **facts: Any) -> dict[str, Any]:
    sw: dict[str, Any] = {"event": {"id": event}, "actor": {"name": user}, **facts}
    if session is not None:
        sw["session"] = {"id": session}
    return {"@timestamp": "2026-03-02T09:30:00Z", "user": {"name": user}, "sessionwatch": sw}


def _bucket(entity: str, source: dict[str, Any], count: int, **metrics: Any) -> dict[str, Any]:
    hit = {"_id": "x", "_source": source}
    bucket: dict[str, Any] = {
        "key": {"entity": entity},
        "doc_count": count,
        "first": {"hits": {"hits": [hit]}},
    }
    bucket.update(metrics)
    return bucket


def test_one_alert_per_hit(rules: dict[str, Rule]) -> None:
    rule = rules["pci-dss-idle-15m"]
    source = _source("sess-a", "a-3", "alice")
    source["sessionwatch"]["session"]["idle_seconds"] = 1500.0
    alerts = alerts_from_response(rule, {"hits": {"hits": [{"_id": "1", "_source": source}]}})
    assert [alert_key(a) for a in alerts] == [("sess-a", "a-3", "alice")]
    assert alerts[0]["sessionwatch"]["evidence"]["facts"] == {"sessionwatch.session.idle_seconds": 1500.0}
    assert alerts[0]["rule"]["category"] == "session_idle_timeout"
    assert alerts[0]["event"]["severity"] == 73


def test_an_event_without_a_session_alerts_on_the_account(rules: dict[str, Rule]) -> None:
    """A refresh logged with no session id (KindSpec.session_optional): the alert names the
    account, never "session None", and carries no session (the watch words it the same way)."""
    rule = rules["org-token-renewal-workflow"]
    source = _source(None, "y-3", "grace@example.com")
    (alert,) = alerts_from_response(rule, {"hits": {"hits": [{"_id": "1", "_source": source}]}})
    assert alert_key(alert) == (None, "y-3", "grace@example.com")
    assert alert["message"] == f"{rule.title}: account grace@example.com"
    assert "session" not in alert["sessionwatch"]


def test_one_alert_per_session_bucket_with_counts(rules: dict[str, Rule]) -> None:
    rule = rules["session-ip-network-change"]
    source = _source("sess-a", "a-3", "alice", ip={"prefix_changed": True, "distinct": 2})
    response = {
        "aggregations": {"groups": {"buckets": [_bucket("sess-a", source, 4, addresses={"value": 2})]}}
    }
    (alert,) = alerts_from_response(rule, response)
    assert alert_key(alert) == ("sess-a", "a-3", "alice")
    assert alert["sessionwatch"]["evidence"]["counts"] == {"addresses": 2, "events": 4}
    assert alert["message"] == f"{rule.title}: session sess-a of alice"


def test_bucket_alert_ids_depend_on_rule_and_the_whole_bucket_key(rules: dict[str, Rule]) -> None:
    """Never on the window searched: the same finding has the same id from any window."""
    rule = rules["session-ip-network-change"]
    response = {
        "aggregations": {"groups": {"buckets": [_bucket("sess-a", _source("sess-a", "a-3", "alice"), 1)]}}
    }
    first = alerts_from_response(rule, response)[0]["event"]["id"]
    again = alerts_from_response(rule, response)[0]["event"]["id"]
    other_rule = alerts_from_response(rules["session-ip-outside-ranges"], response)
    other_session = {
        "aggregations": {"groups": {"buckets": [_bucket("sess-b", _source("sess-b", "a-3", "alice"), 1)]}}
    }
    periods = [_bucket("alice", _source("s1", "a-1", "alice"), 4, sessions={"value": 4}) for _ in range(2)]
    periods[0]["key"]["period"], periods[1]["key"]["period"] = 0, 900_000
    concurrency = alerts_from_response(
        rules["org-concurrent-sessions"], {"aggregations": {"groups": {"buckets": periods}}}
    )
    assert first == again
    assert other_rule[0]["event"]["id"] != first
    assert alerts_from_response(rule, other_session)[0]["event"]["id"] != first
    assert concurrency[0]["event"]["id"] != concurrency[1]["event"]["id"]


def test_account_alerts_name_the_account_and_the_first_session(rules: dict[str, Rule]) -> None:
    rule = rules["pci-dss-dormant-account-90d"]
    source = _source("sess-c", "c-2", "carol", account={"status": "disabled"})
    source["user"] = {"name": "Carol Example"}
    no_session = _source(None, "g-4", "foo@bar.com", account={"status": "disabled"})
    buckets = [_bucket("carol@example.com", source, 2), _bucket("foo@bar.com", no_session, 1)]
    alerts = alerts_from_response(rule, {"aggregations": {"groups": {"buckets": buckets}}})
    assert [alert_key(a) for a in alerts] == [
        ("sess-c", "c-2", "carol@example.com"),
        (None, "g-4", "foo@bar.com"),
    ]
    assert "session" not in alerts[1]["sessionwatch"]
    assert alerts[0]["message"] == f"{rule.title}: account carol@example.com"


def test_concurrency_threshold_is_checked_on_the_bucket(rules: dict[str, Rule]) -> None:
    rule = rules["org-concurrent-sessions"]
    assert rule.params["max_sessions"] == 3
    at_limit = _bucket("bob", _source("s1", "b-1", "bob"), 3, sessions={"value": 3})
    over = _bucket("alice", _source("s1", "a-1", "alice"), 4, sessions={"value": 4})
    assert not over_threshold(rule, at_limit)
    assert over_threshold(rule, over)
    assert not over_threshold(rule, {"key": {"entity": "x"}})  # no metric: never alerts
    response = {"aggregations": {"groups": {"buckets": [at_limit, over]}}}
    assert [alert_key(a) for a in alerts_from_response(rule, response)] == [(None, "a-1", "alice")]


def test_empty_responses_give_no_alerts(rules: dict[str, Rule]) -> None:
    for rule in rules.values():
        assert (
            alerts_from_response(rule, {"hits": {"hits": []}, "aggregations": {"groups": {"buckets": []}}})
            == []
        )
