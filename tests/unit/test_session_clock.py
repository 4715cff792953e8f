from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers


def enrich_lines(lines: list[str]) -> tuple[Engine, list[Any]]:
    engine = Engine(ProfileRegistry.discover(), discover_enrichers())
    return engine, list(engine.process(lines))


def event(ts: str, eid: str, action: str = "view", outcome: str = "success", session: str = "s1") -> str:
    return json.dumps(
        {
            "@timestamp": ts,
            "event": {"id": eid, "action": action, "outcome": outcome},
            "session": {"id": session},
            "user": {"name": "alice"},
            "source": {"ip": "198.51.100.1"},
        }
    )


def session_facts(out: Any) -> dict[str, Any]:
    facts: dict[str, Any] = out.doc["sessionwatch"]["session"]
    return facts


def test_idle_gap_age_and_reauth() -> None:
    _, outs = enrich_lines(
        [
            event("2026-03-02T09:00:00Z", "1", "login"),
            event("2026-03-02T09:05:00Z", "2"),
            event("2026-03-02T09:25:00.5Z", "3"),
            event("2026-03-02T09:40:00Z", "4", "reauth"),
        ]
    )
    first, second, third, fourth = (session_facts(o) for o in outs)
    assert first["start_observed"] is True
    assert first["reauth"] is True
    assert "idle_seconds" not in first
    assert second["idle_seconds"] == 300.0
    assert second["age_seconds"] == 300.0
    assert third["idle_seconds"] == 1200.5
    assert third["reauth"] is False
    assert third["sequence"] == 3
    assert fourth["reauth"] is True


def test_rejected_requests_do_not_keep_a_session_alive() -> None:
    _, outs = enrich_lines(
        [
            event("2026-03-02T09:00:00Z", "1", "login"),
            event("2026-03-02T09:10:00Z", "2", outcome="failure"),
            event("2026-03-02T09:20:00Z", "3"),
        ]
    )
    assert session_facts(outs[1])["idle_seconds"] == 600.0
    assert session_facts(outs[2])["idle_seconds"] == 1200.0


def test_first_seen_start_is_marked_unobserved() -> None:
    _, outs = enrich_lines([event("2026-03-02T09:00:00+01:00", "1")])
    facts = session_facts(outs[0])
    assert facts["start_observed"] is False
    assert facts["start"] == "2026-03-02T08:00:00.000Z"


def test_out_of_order_event_is_flagged_not_computed() -> None:
    _, outs = enrich_lines([event("2026-03-02T09:10:00Z", "1"), event("2026-03-02T09:00:00Z", "2")])
    assert outs[1].doc["sessionwatch"]["quality"] == {"out_of_order": True}
    assert "idle_seconds" not in outs[1].doc["sessionwatch"]["session"]


def test_original_fields_are_not_overwritten(repo: Path) -> None:
    raw = event("2026-03-02T09:00:00Z", "1", "login")
    _, outs = enrich_lines([raw])
    original = json.loads(raw)
    assert {k: v for k, v in outs[0].doc.items() if k != "sessionwatch"} == original


def test_bad_lines_go_to_dead_letter_and_counts_are_conserved() -> None:
    lines = [
        event("2026-03-02T09:00:00Z", "1"),
        "{not json",
        json.dumps({"event": {"id": "x"}, "session": {"id": "s"}}),
        json.dumps({"@timestamp": "2026-03-02T09:00:00", "session": {"id": "s"}}),
        json.dumps({"@timestamp": "2026-03-02T09:00:00Z", "source": {"ip": "999.1.1.1"}}),
        json.dumps([1, 2]),
        json.dumps({"@timestamp": "2026-03-02T09:00:00Z", "event": {"dataset": "unknown.source"}}),
        "",
    ]
    engine, outs = enrich_lines(lines)
    reasons = [o.dead.reason for o in outs if o.dead is not None]
    assert reasons == [
        "malformed JSON: Expecting property name enclosed in double quotes at column 2",
        "missing @timestamp",
        "@timestamp has no UTC offset: '2026-03-02T09:00:00'",
        "expected a JSON object, got list",
    ]
    assert [o.dead.line for o in outs if o.dead is not None] == [2, 3, 4, 6]
    # an address Elasticsearch would refuse is dropped and recorded, not the whole event
    (repaired,) = [o.doc for o in outs if o.line == 5 and o.doc is not None]
    assert "ip" not in repaired.get("source", {})
    assert repaired["sessionwatch"]["quality"]["repaired_fields"] == ["source.ip"]
    counts = engine.counts
    assert (counts.read, counts.enriched, counts.passed_through, counts.dead_letter) == (7, 2, 1, 4)
    assert counts.conserved


def test_invalid_utf8_is_dead_lettered() -> None:
    engine = Engine(ProfileRegistry.discover(), discover_enrichers())
    outs = list(engine.process([b'{"a": "\xff"}\n']))
    assert outs[0].dead is not None
    assert outs[0].dead.reason == "invalid UTF-8 at byte 7"
