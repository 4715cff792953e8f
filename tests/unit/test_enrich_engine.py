"""The streaming engine: order, lateness, eviction, state, dead letters, counts, workers."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sessionwatch.enrichers import Limits, discover_enrichers
from sessionwatch.enrichers.engine import SWEEP_EVERY
from tests.unit.test_enrich_helpers import facts_by_id, get, run
from tests.unit.written_lines import enrich_lines


def ev(ts: str, eid: str, session: str = "s1", action: str = "view", **extra: Any) -> str:
    doc: dict[str, Any] = {
        "@timestamp": ts,
        "event": {"id": eid, "action": action, "outcome": extra.pop("outcome", "success")},
        "session": {"id": session},
        "user": {"name": extra.pop("user", "alice")},
        "source": {"ip": extra.pop("ip", "198.51.100.1")},
    }
    doc.update(extra)
    return json.dumps(doc)


def test_reorder_window_puts_late_events_back_in_order() -> None:
    lines = [
        ev("2026-03-02T09:00:00Z", "1", action="login"),
        ev("2026-03-02T09:00:30Z", "3"),
        ev("2026-03-02T09:00:10Z", "2"),
    ]
    _, outs = run(lines, reorder_window=60.0)
    assert [o.doc["sessionwatch"]["event"]["id"] for o in outs if o.doc] == ["1", "2", "3"]
    f = facts_by_id(outs)
    assert get(f["2"], "session.idle_seconds") == 10.0
    assert get(f["3"], "session.idle_seconds") == 20.0
    assert get(f["3"], "quality") is None


def test_event_later_than_the_window_is_flagged_and_not_computed() -> None:
    lines = [
        ev("2026-03-02T09:00:00Z", "1", action="login"),
        ev("2026-03-02T09:05:00Z", "2"),
        ev("2026-03-02T09:10:00Z", "3"),
        ev("2026-03-02T09:01:00Z", "late"),
    ]
    engine, outs = run(lines, reorder_window=60.0)
    f = facts_by_id(outs)
    assert get(f["late"], "quality.out_of_order") is True
    assert get(f["late"], "session.id") == "s1"
    assert set(f["late"]) <= {"event", "session", "actor", "source", "quality"}
    assert get(f["late"], "session.idle_seconds") is None
    assert engine.counts.out_of_order == 1
    assert get(f["3"], "session.sequence") == 3  # the late event did not move the session


def test_late_event_of_another_session_is_computed() -> None:
    lines = [ev("2026-03-02T09:10:00Z", "a", session="A"), ev("2026-03-02T09:00:00Z", "b", session="B")]
    _, outs = run(lines)
    f = facts_by_id(outs)
    assert get(f["b"], "quality") is None
    assert get(f["b"], "session.sequence") == 1


def _at(second: int) -> str:
    return (datetime(2026, 3, 2, tzinfo=UTC) + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")


def test_idle_session_is_evicted_and_a_return_is_marked() -> None:
    limits = Limits(idle_horizon=3600.0, ended_retention=600.0)
    lines = [
        ev("2026-03-02T09:00:00Z", "1", session="old", action="login"),
        ev("2026-03-02T09:00:00Z", "x", session="other"),
        *(ev(_at(10 * 3600 + i), f"f{i}", session="busy") for i in range(SWEEP_EVERY + 10)),
        ev("2026-03-03T09:00:00Z", "2", session="old"),
    ]
    engine, outs = run(lines, limits=limits)
    f = facts_by_id(outs)
    assert get(f["2"], "quality.state_evicted") is True
    assert get(f["2"], "session.start_observed") is False
    assert engine.counts.state_evicted == 1
    assert "other" not in engine.back.store.sessions  # swept: memory follows active sessions


def test_ended_session_is_kept_for_the_retention_then_dropped() -> None:
    limits = Limits(idle_horizon=86400.0, ended_retention=600.0)
    lines = [
        ev("2026-03-02T09:00:00Z", "1", action="login"),
        ev("2026-03-02T09:01:00Z", "2", action="logout"),
        ev("2026-03-02T09:05:00Z", "3"),
        ev("2026-03-02T10:00:00Z", "4"),
    ]
    _, outs = run(lines, limits=limits)
    f = facts_by_id(outs)
    assert get(f["3"], "session.ended") is True
    assert get(f["4"], "session.ended") is False
    assert get(f["4"], "quality.state_evicted") is True


def test_bad_input_goes_to_dead_letters_with_line_and_reason() -> None:
    lines: list[bytes | str] = [
        ev("2026-03-02T09:00:00Z", "1"),
        "{not json",
        json.dumps({"event": {"id": "2"}, "session": {"id": "s"}}),
        ev("2026-03-02T09:00:01Z", "3", ip="999.1.1.1"),
        json.dumps({"@timestamp": "2026-03-02T09:00:02Z", "session": {"id": ["a", 1]}, "event": {"id": "4"}}),
        b"\xff\xfe not utf-8",
        "[1, 2]",
        "",
        json.dumps({"@timestamp": "2026-03-02T09:00:03Z", "event": {"dataset": "nobody.claims"}}),
        json.dumps({"@timestamp": "2026-03-02T09:00:04", "event": {"id": "5"}}),
        json.dumps({"@timestamp": "2026-03-02T09:00:05Z", "event": {"id": "6"}, "token": {"exp": "soon"}}),
        '{"@timestamp": 1e20, "event": {"id": "7"}}',
        '{"@timestamp": NaN, "event": {"id": "8"}}',
        '{"@timestamp": "2026-03-02T09:00:06Z", "event": {"id": "9"}, "token": {"exp": 1' + "0" * 400 + "}}",
        '{"@timestamp": "2026-03-02T09:00:07Z", "event": {"id": "10"}, "token": {"iat": 1, "ttl": 1e300}}',
        '{"@timestamp": "0001-01-01T00:00:00+00:00", "event": {"id": "11"}}',
        '{"@timestamp": "2026-03-02T09:00:08Z", "event": {"id": "12"}, "session": {"id": "\\ud800"}}',
        '{"@timestamp": "2026-03-02T09:00:09Z", "event": {"id": "13"}, "user": {"name": "x\\udfff"}}',
    ]
    engine, outs = run(lines)
    dead = {o.dead.line: o.dead.reason for o in outs if o.dead is not None}
    assert dead == {
        2: "malformed JSON: Expecting property name enclosed in double quotes at column 2",
        3: "missing @timestamp",
        5: "session id has type list, expected a string",
        6: "invalid UTF-8 at byte 0",
        7: "expected a JSON object, got list",
        10: "@timestamp has no UTC offset: '2026-03-02T09:00:04'",
        11: "token expiry is not ISO-8601: 'soon'",
        12: "@timestamp is out of range (1970 to 9999): 1e+17",
        13: "NaN is not a JSON value",  # nowhere in an event: the output would not be JSON
        14: "token expiry is out of range (1970 to 9999): nan",
        15: "token TTL is not a number of seconds: '1e+300'",
        16: "@timestamp is out of range (1970 to 9999): -62135596800.0",
        17: "session id is not valid Unicode: '\\ud800'",
        18: "actor is not valid Unicode: 'x\\udfff'",
    }
    counts = engine.counts
    assert (counts.read, counts.enriched, counts.passed_through, counts.dead_letter) == (17, 2, 1, 14)
    assert counts.conserved
    passed = next(o for o in outs if o.line == 9)
    assert passed.raw == lines[8]  # passed through byte for byte
    # an address Elasticsearch would refuse is dropped and recorded; the event is still enriched
    repaired = next(o for o in outs if o.line == 4)
    assert repaired.doc is not None
    assert repaired.doc["source"] == {}
    assert repaired.doc["sessionwatch"]["quality"]["repaired_fields"] == ["source.ip"]


def test_same_input_same_output() -> None:
    lines = _mixed_stream(300, seed=7)
    first = [json.dumps(o.doc) for o in run(lines, reorder_window=30.0)[1] if o.doc is not None]
    second = [json.dumps(o.doc) for o in run(lines, reorder_window=30.0)[1] if o.doc is not None]
    assert first == second


def _mixed_stream(count: int, seed: int) -> list[str]:
    """Several sessions, actors and tokens, some lateness, logouts, revocations and bad lines."""
    rng = random.Random(seed)
    out: list[str] = []
    for i in range(count):
        second = i * 7 + rng.randint(-40, 5)
        ts = f"2026-03-02T{9 + second // 3600:02d}:{second % 3600 // 60:02d}:{second % 60:02d}Z"
        session = f"s{rng.randint(1, 12)}"
        action = rng.choice(["view", "view", "view", "login", "logout", "token_revoked", "reauth"])
        extra: dict[str, Any] = {"url": {"path": f"/p/{rng.randint(1, 5)}"}}
        if rng.random() < 0.5:
            extra["token"] = {
                "id": f"t{session}",
                "exp": 1772445600 + rng.randint(-3600, 3600),
                "iat": 1772438400,
            }
        if rng.random() < 0.03:
            out.append("{broken")
            continue
        if rng.random() < 0.03:
            out.append(json.dumps({"@timestamp": ts, "event": {"dataset": "unclaimed.source"}}))
            continue
        user = f"u{rng.randint(1, 4)}"
        ip = f"198.51.{rng.randint(100, 101)}.{rng.randint(1, 3)}"
        out.append(ev(ts, f"e{i}", session=session, action=action, user=user, ip=ip, **extra))
    return out


@pytest.mark.parametrize("workers", [2, 3])
def test_partitioned_workers_give_the_same_events_as_one(workers: int) -> None:
    lines = _mixed_stream(2000, seed=3)
    one, dead_one, result_one = enrich_lines(lines, 1)
    many, dead_many, result_many = enrich_lines(lines, workers)
    assert sorted(one) == sorted(many)  # the same set of enriched events ...
    assert one == many  # ... and, merged by sequence number, in the same order
    assert dead_one == dead_many
    assert result_one.counts == result_many.counts
    assert result_one.counts.conserved
    assert result_one.counts.dead_letter > 0
    assert result_one.counts.passed_through > 0
    assert result_one.counts.out_of_order > 0
    assert result_one.state["sessions"] == result_many.state["sessions"]


def _enriched_by_id(lines: list[str]) -> dict[str, Any]:
    docs = (json.loads(line) for line in lines)
    return {doc["sessionwatch"]["event"]["id"]: doc for doc in docs if "sessionwatch" in doc}


@pytest.mark.parametrize("workers", [1, 2])
def test_saved_state_resumes_open_sessions(workers: int) -> None:
    lines = _mixed_stream(1200, seed=11)
    whole, _, _ = enrich_lines(lines, 1, window=0.0)
    first, _, result = enrich_lines(lines[:600], workers, window=0.0)
    saved = json.loads(json.dumps(result.state))  # exactly what the state file holds
    assert saved["sessions"]
    second, _, _ = enrich_lines(lines[600:], workers, state=saved, window=0.0)
    resumed = _enriched_by_id(first + second)
    assert resumed == _enriched_by_id(whole)


def test_without_saved_state_a_restart_forgets_open_sessions() -> None:
    lines = _mixed_stream(1200, seed=11)
    whole, _, _ = enrich_lines(lines, 1, window=0.0)
    first, _, _ = enrich_lines(lines[:600], 1, window=0.0)
    second, _, _ = enrich_lines(lines[600:], 1, window=0.0)
    assert _enriched_by_id(first + second) != _enriched_by_id(whole)


def test_output_line_keeps_the_input_text_and_appends_the_facts() -> None:
    raw = '{"@timestamp":"2026-03-02T09:00:00Z", "event": {"id": "1", "n": 1.50}, "session": {"id": "s"}}  '
    _, outs = run([raw])
    text = outs[0].text()
    assert text.startswith('{"@timestamp":"2026-03-02T09:00:00Z", "event": {"id": "1", "n": 1.50},')
    assert json.loads(text) == outs[0].doc
    again = json.dumps({**json.loads(raw), "sessionwatch": {"old": True}})
    _, outs = run([again])
    replaced = json.loads(outs[0].text())
    assert "old" not in replaced["sessionwatch"]
    assert replaced == outs[0].doc


def test_lone_surrogates_outside_canonical_fields_stay_writable() -> None:
    raw = '{"@timestamp": "2026-03-02T09:00:00Z", "event": {"id": "1"}, "note": "\\ud800", "sessionwatch": 1}'
    _, outs = run([raw])
    text = outs[0].text()
    text.encode("utf-8")  # the fallback serialisation escapes what UTF-8 cannot hold
    assert json.loads(text)["note"] == "\ud800"


@pytest.mark.parametrize("failing", ["token_clock", "ip_binding"])  # stream-scoped, session-scoped
def test_an_enricher_error_with_workers_dead_letters_the_same_events_as_one_process(
    failing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With workers, a stream-scoped enricher runs in the parent, which may not hold the event's
    text (the worker that mapped it owns its session): the dead letter still carries it."""
    lines = _mixed_stream(600, seed=5)
    enrichers = discover_enrichers()
    target = next(e for e in enrichers if e.name == failing)
    original = target.facts

    def fragile(ev: Any, state: dict[str, Any]) -> dict[str, Any]:
        if ev.event_id.endswith("7"):
            raise ZeroDivisionError("boom")
        return original(ev, state)

    monkeypatch.setattr(target, "facts", fragile)
    outcomes = []
    for workers in (1, 2):
        written, dead, result = enrich_lines(lines, workers, enrichers=enrichers)
        outcomes.append((written, sorted(dead, key=lambda d: d.line), result.counts))
    (one, dead_one, counts_one), (two, dead_two, counts_two) = outcomes
    assert one == two
    assert dead_one == dead_two
    assert counts_one == counts_two
    assert counts_two.conserved
    failed = [d for d in dead_two if d.reason == "enricher failed: ZeroDivisionError: boom"]
    assert len(failed) > 20
    assert all(json.loads(d.raw)["event"]["id"].endswith("7") for d in failed)
