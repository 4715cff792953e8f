"""Bad log input: the stream continues, counts are conserved, reasons are recorded.

Families: truncated lines, invalid UTF-8, 10 MB lines, wrong types, missing and far-future
timestamps, clock skew between sources, duplicate events, non-objects, garbage. Checked through
the ``Engine`` API (Hypothesis draws whole streams) and through ``sessionwatch enrich`` in a
subprocess, where every line read must come out enriched, passed through or dead-lettered.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.engine import Output
from tests.cli_runner import run_sessionwatch
from tests.hardening.hostile import hostile_text

CLI = Path(sys.executable).with_name("sessionwatch")
EXAMPLES_STREAMS = 80
LINES_SUBPROCESS = 3000
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SESSIONS = ("s-1", "s-2", "s-3", "s-4")
ACTIONS = ("login", "activity", "activity", "activity", "reauth", "logout", "token_refreshed")
TEN_MB = 10 * 1024 * 1024


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def make_engine() -> Engine:
    return Engine(ProfileRegistry.discover(), discover_enrichers())


def good_event(
    seconds: float, session: str, action: str, user: str = "alice", **extra: Any
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": iso(BASE + timedelta(seconds=seconds)),
        "session": {"id": session},
        "user": {"name": user},
        "event": {"action": action, "outcome": "success"},
        "source": {"ip": "192.0.2.10"},
        "url": {"path": "/api/orders"},
    }
    doc.update(extra)
    return doc


def line(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


# Wrong types where strings, objects or timestamps are expected.
WRONG_VALUES: tuple[Any, ...] = (None, 7, -1.5, True, [], ["x"], {}, {"a": 1}, "", "x" * 2000)
WRONG_PLACES = ("@timestamp", "session", "session.id", "user.name", "source.ip", "event.action", "event")


def put(doc: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(doc))
    node = copy
    *parents, leaf = dotted.split(".")
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[leaf] = value
    return copy


FAMILIES = (
    "good",
    "truncated",
    "invalid-utf8",
    "wrong-type",
    "missing-timestamp",
    "future-timestamp",
    "naive-timestamp",
    "epoch-millis",
    "skewed-source",
    "duplicate",
    "not-an-object",
    "garbage",
    "blank",
    "hostile-values",
)


@st.composite
def stream_lines(draw: st.DrawFn) -> list[tuple[str, bytes]]:
    """A stream of (family, line) in mostly increasing time, with every kind of damage."""
    lines: list[tuple[str, bytes]] = []
    clock = 0.0
    for _ in range(draw(st.integers(min_value=1, max_value=40))):
        clock += draw(st.floats(min_value=0, max_value=1800, allow_nan=False))
        family = draw(st.sampled_from(FAMILIES))
        doc = good_event(clock, draw(st.sampled_from(SESSIONS)), draw(st.sampled_from(ACTIONS)))
        if family == "truncated":
            text = line(doc)
            raw = text[: draw(st.integers(min_value=1, max_value=len(text) - 1))]
        elif family == "invalid-utf8":
            text = line(doc)
            cut = draw(st.integers(min_value=0, max_value=len(text)))
            raw = text[:cut] + draw(st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80"]))
            raw += text[cut:]
        elif family == "wrong-type":
            raw = line(put(doc, draw(st.sampled_from(WRONG_PLACES)), draw(st.sampled_from(WRONG_VALUES))))
        elif family == "missing-timestamp":
            raw = line({k: v for k, v in doc.items() if k != "@timestamp"})
        elif family == "future-timestamp":
            year = draw(st.sampled_from([2030, 2999, 9999]))
            raw = line(put(doc, "@timestamp", f"{year}-01-01T00:00:00Z"))
        elif family == "naive-timestamp":
            raw = line(put(doc, "@timestamp", doc["@timestamp"].rstrip("Z")))
        elif family == "epoch-millis":
            raw = line(put(doc, "@timestamp", int((BASE.timestamp() + clock) * 1000)))
        elif family == "skewed-source":  # another source whose clock is off by up to 10 minutes
            skew = draw(st.floats(min_value=-600, max_value=600, allow_nan=False))
            raw = line(good_event(clock + skew, doc["session"]["id"], "activity", observer={"name": "b"}))
        elif family == "duplicate" and lines:
            raw = draw(st.sampled_from([raw for _, raw in lines]))
        elif family == "not-an-object":
            raw = draw(st.sampled_from([b"[]", b"1", b'"text"', b"null", b"true", b"[{}]"]))
        elif family == "garbage":
            raw = draw(st.binary(min_size=1, max_size=40)).replace(b"\n", b" ").replace(b"\r", b" ")
        elif family == "blank":
            raw = draw(st.sampled_from([b"", b"   ", b"\t"]))
        elif family == "hostile-values":
            value = draw(hostile_text())
            raw = line(put(put(doc, "user.name", value), "url.path", value))
        else:
            raw = line(doc)
        lines.append((family, raw))
    return lines


def check_stream(raw_lines: list[bytes]) -> list[Output]:
    """Run ``raw_lines`` through a fresh engine and check the conservation properties."""
    engine = make_engine()
    outputs = list(engine.process(raw + b"\n" for raw in raw_lines))
    counted = [n for n, raw in enumerate(raw_lines, start=1) if raw.strip()]
    assert sorted(o.line for o in outputs) == counted, "every non-blank line exactly once"
    counts = engine.counts
    assert counts.read == len(counted)
    assert counts.conserved, counts.line()
    assert counts.dead_letter == sum(o.dead is not None for o in outputs)
    assert counts.enriched == sum(o.enriched for o in outputs)
    for out in outputs:
        if out.dead is not None:
            assert out.dead.reason.strip(), out
            assert out.dead.line == out.line
            json.loads(out.dead.to_json())
            continue
        assert out.doc is not None
        json.dumps(out.doc, ensure_ascii=False).encode("utf-8")  # writable as UTF-8 NDJSON
        original = json.loads(raw_lines[out.line - 1])
        # fields Elasticsearch would refuse are repaired and named; every other field is kept
        repaired = out.doc.get("sessionwatch", {}).get("quality", {}).get("repaired_fields", [])
        touched = {path.split(".")[0] for path in repaired} | {"sessionwatch"}
        if "(duplicate keys)" in repaired:
            touched |= set(original)
        kept = {k: v for k, v in out.doc.items() if k not in touched}
        assert kept == {k: v for k, v in original.items() if k not in touched}, "input fields kept"
        if out.enriched:
            session = out.doc["sessionwatch"].get("session", {})
            for fact in ("idle_seconds", "age_seconds"):
                assert session.get(fact) is None or session[fact] >= 0, (fact, out.doc)
    return outputs


@settings(
    max_examples=EXAMPLES_STREAMS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(stream=stream_lines())
def test_damaged_streams_are_conserved(stream: list[tuple[str, bytes]]) -> None:
    for family, _ in stream:
        event(f"family {family}")
    outputs = check_stream([raw for _, raw in stream])
    # Identical lines are the same event: the same id, so indexing them twice stores one document.
    ids: dict[bytes, set[str]] = {}
    for out in outputs:
        if out.enriched and out.doc is not None:
            ids.setdefault(_raw_of(stream, out.line), set()).add(out.doc["sessionwatch"]["event"]["id"])
    assert all(len(found) == 1 for found in ids.values()), ids


def _raw_of(stream: list[tuple[str, bytes]], number: int) -> bytes:
    return stream[number - 1][1]


# --- named cases -------------------------------------------------------------------------------


def reason_of(raw: bytes) -> str:
    (out,) = check_stream([raw])
    assert out.dead is not None, out
    return out.dead.reason


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"@timestamp":"2026-03-02T10:00:00Z","session":{"id":"s', "malformed JSON"),
        (b'{"@timestamp":"2026-03-02T10:00:00Z","session":{"id":"s\xff"}}', "UTF-8"),
        (b'{"session":{"id":"s-1"}}', "@timestamp"),
        (b'{"@timestamp":"yesterday","session":{"id":"s-1"}}', "@timestamp"),
        (b'{"@timestamp":"2026-03-02T10:00:00","session":{"id":"s-1"}}', "UTC offset"),
        (b'{"@timestamp":"2026-03-02T10:00:00Z","session":{"id":{"a":1}}}', "session id"),
        (b"[1, 2]", "JSON object"),
        (b"[" * 100_000, "depth"),
    ],
    ids=[
        "truncated",
        "invalid-utf8",
        "missing-timestamp",
        "unparsable-timestamp",
        "naive-timestamp",
        "session-id-object",
        "not-an-object",
        "nested-100k",
    ],
)
def test_bad_line_is_dead_lettered_with_its_reason(raw: bytes, reason: str) -> None:
    assert reason.lower() in reason_of(raw).lower()


def test_ten_megabyte_lines_do_not_stop_the_stream() -> None:
    big_value = line(good_event(1, "s-1", "activity", note="x" * TEN_MB))
    big_garbage = b"{" + b"a" * TEN_MB
    raw_lines = [
        line(good_event(0, "s-1", "login")),
        big_value,
        big_garbage,
        line(good_event(2, "s-1", "activity")),
    ]
    started = time.perf_counter()
    outputs = check_stream(raw_lines)
    assert time.perf_counter() - started < 20
    assert [o.enriched for o in outputs] == [True, True, False, True]
    assert outputs[2].dead is not None


def test_duplicate_events_get_one_id() -> None:
    """The same line twice (a re-shipped batch) gives the same event id, with or without event.id."""
    with_id = line(good_event(5, "s-1", "activity", **{"event.id": "e-1"}))
    without_id = line(good_event(6, "s-1", "activity"))
    outputs = check_stream([line(good_event(0, "s-1", "login")), with_id, with_id, without_id, without_id])
    ids = [o.doc["sessionwatch"]["event"]["id"] for o in outputs if o.doc is not None]
    assert len(ids) == 5
    assert ids[1] == ids[2] == "e-1"
    assert ids[3] == ids[4] != ids[1]


def test_clock_skew_between_sources_never_gives_negative_gaps() -> None:
    """Source B's clock runs 5 minutes behind A's; both report the same session."""
    raw_lines = [line(good_event(0, "s-1", "login"))]
    for minute in range(1, 30):
        raw_lines.append(line(good_event(minute * 60, "s-1", "activity")))
        raw_lines.append(line(good_event(minute * 60 - 300, "s-1", "activity", observer={"name": "b"})))
    outputs = check_stream(raw_lines)
    assert all(o.dead is None for o in outputs)
    late = [o for o in outputs if o.doc and o.doc["sessionwatch"].get("quality", {}).get("out_of_order")]
    assert late, "events from the lagging source are flagged, not given made-up facts"


@pytest.mark.parametrize(
    "raw",
    [
        b'{"@timestamp":-1e18,"session":{"id":"s-1"}}',
        b'{"@timestamp":NaN,"session":{"id":"s-1"}}',
        b'{"@timestamp":Infinity,"session":{"id":"s-1"}}',
        b'{"@timestamp":1e30,"session":{"id":"s-1"}}',
    ],
    ids=["minus-1e18", "nan", "infinity", "1e30"],
)
def test_unrepresentable_timestamps_do_not_stop_the_stream(raw: bytes) -> None:
    outputs = check_stream([line(good_event(0, "s-1", "login")), raw, line(good_event(2, "s-1", "activity"))])
    assert outputs[1].dead is not None
    assert "@timestamp" in outputs[1].dead.reason or "is not a JSON value" in outputs[1].dead.reason


# Lone surrogates (JSON \ud800 escapes) are valid JSON but no valid UTF-8: the output must stay UTF-8.


@pytest.mark.parametrize(
    "raw",
    [
        b'{"@timestamp":"2026-03-02T10:00:00Z","session":{"id":"\\ud800"}}',
        b'{"@timestamp":"2026-03-02T10:00:00Z","session":{"id":"s-1"},"user":{"name":"\\udfff"}}',
    ],
    ids=["surrogate-session", "surrogate-user"],
)
def test_lone_surrogates_are_dead_lettered(raw: bytes) -> None:
    check_stream([line(good_event(0, "s-1", "login")), raw, line(good_event(2, "s-1", "activity"))])


# --- through the command line ---------------------------------------------------------------------


def mixed_file(path: Path, rng: random.Random, count: int) -> list[bytes]:
    """``count`` lines of every family (the known engine bugs left out), one of them 10 MB."""
    lines: list[bytes] = []
    clock = 0.0
    for n in range(count):
        clock += rng.uniform(0, 600)
        doc = good_event(clock, rng.choice(SESSIONS), rng.choice(ACTIONS))
        family = rng.choice(FAMILIES)
        if n == count // 2:
            raw = line(put(doc, "note", "y" * TEN_MB))
        elif family == "truncated":
            text = line(doc)
            raw = text[: rng.randrange(1, len(text))]
        elif family == "invalid-utf8":
            text = line(doc)
            cut = rng.randrange(len(text))
            raw = text[:cut] + b"\xff\xfe" + text[cut:]
        elif family == "wrong-type":
            raw = line(put(doc, rng.choice(WRONG_PLACES), rng.choice(WRONG_VALUES)))
        elif family == "missing-timestamp":
            raw = line({k: v for k, v in doc.items() if k != "@timestamp"})
        elif family == "future-timestamp":
            raw = line(put(doc, "@timestamp", "9999-01-01T00:00:00Z"))
        elif family == "skewed-source":
            raw = line(good_event(clock - rng.uniform(0, 900), doc["session"]["id"], "activity"))
        elif family == "duplicate" and lines:
            raw = rng.choice(lines)
        elif family == "not-an-object":
            raw = b"[1]"
        elif family == "garbage":
            raw = bytes(rng.randrange(256) for _ in range(30)).replace(b"\n", b"_").replace(b"\r", b"_")
        elif family == "blank":
            raw = b""
        else:
            raw = line(doc)
        lines.append(raw)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return lines


def _summary(stderr: str) -> dict[str, int]:
    found = re.search(r"read=(\d+) enriched=(\d+) passed_through=(\d+) dead_letter=(\d+)", stderr)
    assert found, stderr
    read, enriched, passed, dead = (int(x) for x in found.groups())
    return {"read": read, "enriched": enriched, "passed_through": passed, "dead_letter": dead}


def _ndjson(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:  # strict UTF-8: a bad byte fails the test
        for text in handle:
            yield json.loads(text)


def test_enrich_command_conserves_every_line(tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    written = mixed_file(source, random.Random(8), LINES_SUBPROCESS)
    out, dead = tmp_path / "out.ndjson", tmp_path / "dead.ndjson"
    result = run_sessionwatch(
        ["enrich", str(source), "-o", str(out), "--dead-letter", str(dead)], cwd=tmp_path
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == 1, result.stderr  # dead letters exist: exit 1, not a crash
    counts = _summary(result.stderr)
    non_blank = sum(1 for raw in written if raw.strip())
    assert counts["read"] == non_blank
    assert counts["read"] == counts["enriched"] + counts["passed_through"] + counts["dead_letter"]
    docs = list(_ndjson(out))
    letters = list(_ndjson(dead))
    assert len(docs) == counts["enriched"] + counts["passed_through"]
    assert len(letters) == counts["dead_letter"]
    assert all(letter["reason"] and letter["line"] >= 1 for letter in letters)
    reasons = Counter(re.sub(r"[:(].*", "", letter["reason"]) for letter in letters)
    assert len(reasons) >= 4, reasons  # several distinct, recorded reasons
    numbers = sorted([letter["line"] for letter in letters])
    assert len(set(numbers)) == len(numbers)


def test_enrich_command_survives_lone_surrogates(tmp_path: Path) -> None:
    source = tmp_path / "events.ndjson"
    source.write_bytes(
        line(good_event(0, "s-1", "login"))
        + b"\n"
        + b'{"@timestamp":"2026-03-02T10:00:01Z","session":{"id":"\\ud800"}}\n'
        + line(good_event(2, "s-1", "activity"))
        + b"\n"
    )
    result = subprocess.run(
        [str(CLI), "enrich", str(source), "-o", str(tmp_path / "out.ndjson")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in result.stderr
    counts = _summary(result.stderr)
    assert counts["read"] == 3
    assert counts["read"] == counts["enriched"] + counts["passed_through"] + counts["dead_letter"]
    # dead-lettered or written escaped: either way the output file is strict UTF-8 JSON
    assert len(list(_ndjson(tmp_path / "out.ndjson"))) == counts["enriched"] + counts["passed_through"]
