"""One event never stops a stream: hostile values in one process, with two workers, and fuzzed.

Each named case is an event that killed ``sessionwatch enrich`` (a traceback, no summary, every
later line lost) or made it write something Elasticsearch refuses or that is not JSON. After
it, the stream goes on; ``read == enriched + passed_through + dead_letter``; every output line is
strict JSON that the facts mapping accepts (``admit`` finds nothing left to repair; the
integration test ``test_faults_admission`` checks a sample against a real node).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.admission import admit
from tests.cli_runner import run_sessionwatch
from tests.hardening.events_fuzz import GENERIC, HUGE_INT, hostile_line, strict_json

FUZZ_EXAMPLES = 120  # a fixed budget: well under a minute on one shared core


@cache
def profiles() -> ProfileRegistry:
    return ProfileRegistry.discover()


def event(second: int, **fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(GENERIC))
    doc["@timestamp"] = f"2026-03-02T09:00:{second:02d}Z"
    doc["event"]["action"] = "activity"
    doc.update(fields)
    return doc


def line(doc: dict[str, Any]) -> str:
    return json.dumps(doc)


HOSTILE: dict[str, str] = {
    "ipv6 zone id": line(event(2, source={"ip": "fe80::1%eth0"})),
    "4,500-digit integer": line(event(3))[:-1] + f',"n":{HUGE_INT}}}',
    "client.ip is -": line(event(4, client={"ip": "-"})),
    "timestamp with a space": line(event(5)).replace("2026-03-02T09:00:05Z", "2026-03-02 09:00:05Z"),
    "NaN and Infinity": line(event(6))[:-1] + ',"x":NaN,"y":-Infinity}',
    "object where a keyword is mapped": line(event(7, user={"name": {"first": "a"}})),
    "metadata field": line(event(8, _id="x")),
    "repeated key": line(event(9))[:-1] + ',"url":{"path":"/again"}}',
}


def stream() -> str:
    middle = "\n".join(HOSTILE.values())
    return f"{line(event(1))}\n{middle}\n{line(event(30))}\n"


def check_output(lines: list[str]) -> list[dict[str, Any]]:
    docs = []
    for text in lines:
        doc = strict_json(text)  # raises on NaN/Infinity or broken JSON
        assert admit(json.loads(text)) == {}, f"Elasticsearch would refuse: {text[:300]}"
        docs.append(doc)
    return docs


def test_each_hostile_event_alone_is_handled_and_the_stream_goes_on() -> None:
    engine = Engine(ProfileRegistry.discover(), discover_enrichers())
    outputs = list(engine.process(stream().splitlines()))
    counts = engine.counts
    assert counts.read == len(HOSTILE) + 2
    assert counts.conserved, counts.line()
    written = [o.text() for o in outputs if o.dead is None]
    docs = check_output(written)
    assert docs[0]["@timestamp"] == "2026-03-02T09:00:01Z"
    assert docs[-1]["@timestamp"] == "2026-03-02T09:00:30Z"  # the last line was not lost
    dead = {o.dead.line: o.dead.reason for o in outputs if o.dead is not None}
    assert dead == {3: "a number has more than 4,300 digits", 6: "NaN is not a JSON value"}
    by_second = {d["@timestamp"][17:19]: d for d in docs}
    assert by_second["02"]["sessionwatch"]["source"]["ip"] == "fe80::1%eth0"
    assert by_second["04"]["sessionwatch"]["quality"]["repaired_fields"] == ["client.ip"]
    assert "client" not in by_second["04"] or "ip" not in by_second["04"]["client"]
    assert json.loads(by_second["04"]["sessionwatch"]["quality"]["original_values"]) == {"client.ip": "-"}
    assert by_second["05"]["@timestamp"] == "2026-03-02T09:00:05.000Z"
    assert by_second["05"]["sessionwatch"]["quality"]["repaired_fields"] == ["@timestamp"]
    assert by_second["07"]["sessionwatch"]["quality"]["repaired_fields"] == ["user.name"]
    assert "_id" not in by_second["08"]
    assert by_second["09"]["sessionwatch"]["quality"]["repaired_fields"] == ["(duplicate keys)"]
    assert counts.repaired == 5


@pytest.mark.parametrize("workers", [1, 2])
def test_the_cli_survives_every_hostile_event(tmp_path: Path, workers: int) -> None:
    source = tmp_path / "in.ndjson"
    source.write_text(stream(), encoding="utf-8")
    out, dead = tmp_path / "out.ndjson", tmp_path / "dead.ndjson"
    done = run_sessionwatch(
        [
            "enrich",
            str(source),
            "-o",
            str(out),
            "--dead-letter",
            str(dead),
            "--workers",
            str(workers),
        ],
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr
    written = out.read_text(encoding="utf-8").splitlines()
    letters = dead.read_text(encoding="utf-8").splitlines()
    assert len(written) + len(letters) == len(HOSTILE) + 2
    check_output(written)
    assert f"read={len(HOSTILE) + 2} enriched={len(written)} passed_through=0 dead_letter=2" in done.stderr


def test_an_enricher_error_dead_letters_that_event_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a future enricher gets wrong for one value stays with that event."""
    enrichers = discover_enrichers()
    target = next(e for e in enrichers if e.name == "ip_binding")
    original = target.facts

    def fragile(ev: Any, state: dict[str, Any]) -> dict[str, Any]:
        if ev.source_ip == "192.0.2.99":
            raise ZeroDivisionError("boom")
        return original(ev, state)

    monkeypatch.setattr(target, "facts", fragile)
    engine = Engine(ProfileRegistry.discover(), enrichers)
    lines = [line(event(1)), line(event(2, source={"ip": "192.0.2.99"})), line(event(3))]
    outputs = list(engine.process(lines))
    assert [o.dead.reason for o in outputs if o.dead] == ["enricher failed: ZeroDivisionError: boom"]
    assert engine.counts.conserved
    assert engine.counts.enriched == 2
    later = [o.doc for o in outputs if o.doc is not None][-1]
    # the session's state was kept (not restarted): session_clock runs after ip_binding, so
    # the failed event never reached it and the third event is the session's second
    assert later["sessionwatch"]["session"]["sequence"] == 2
    assert later["sessionwatch"]["session"]["start"] == "2026-03-02T09:00:01.000Z"


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(hostile_line(), min_size=1, max_size=6))
def test_fuzz_no_event_kills_the_stream_or_breaks_conservation(lines: list[str]) -> None:
    engine = Engine(profiles(), discover_enrichers())
    outputs = list(engine.process([*lines, line(event(59))]))
    assert engine.counts.conserved, engine.counts.line()
    assert engine.counts.read == len(lines) + 1
    assert len(outputs) == engine.counts.read
    check_output([o.text() for o in outputs if o.dead is None])
    assert all(o.dead.reason for o in outputs if o.dead is not None)
