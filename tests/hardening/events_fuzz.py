"""Hostile event values for the one-event-never-stops-a-stream tests (holds no tests itself).

``seed_events()`` is one event of every profile (the vendor fixtures, plus a generic one);
``hostile_line()`` draws one of them and overwrites some of its fields, or the ECS fields
Elasticsearch maps, with values that broke the engine or the index before: IPv6 zone ids,
integers of thousands of digits, ``NaN``/``Infinity``, ``-`` for an address, timestamps with a
space, objects where keywords are mapped, metadata field names, repeated keys.
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from tests.hardening.hostile import hostile_text

PROFILE_DATA = Path(__file__).resolve().parents[1] / "unit" / "data" / "profiles"
GENERIC = {
    "@timestamp": "2026-03-02T09:00:00Z",
    "session": {"id": "s-1"},
    "user": {"name": "alice"},
    "event": {"action": "login", "outcome": "success"},
    "source": {"ip": "192.0.2.10"},
    "client": {"ip": "192.0.2.11"},
    "url": {"path": "/api"},
}
MAPPED_PATHS = (
    "@timestamp",
    "source.ip",
    "client.ip",
    "user.name",
    "event.action",
    "event.outcome",
    "session.id",
    "event",
    "client",
    "url.path",
    "sessionwatch.source.ip",
    "sessionwatch.session.start",
)
HUGE_INT = "9" * 4500  # more digits than Python converts by default (4,300)


@cache
def seed_events() -> tuple[dict[str, Any], ...]:
    seeds = [GENERIC]
    for fixture in sorted(PROFILE_DATA.glob("*/events.ndjson")):
        first = fixture.read_text(encoding="utf-8").splitlines()[0]
        seeds.append(json.loads(first))
    return tuple(seeds)


def leaf_paths(doc: Any, prefix: str = "") -> list[str]:
    if not isinstance(doc, dict):
        return [prefix[:-1]] if prefix else []
    out: list[str] = []
    for key, value in doc.items():
        out += leaf_paths(value, f"{prefix}{key}.") if isinstance(value, dict) else [prefix + key]
    return out


def put(doc: dict[str, Any], dotted: str, value: Any) -> None:
    node = doc
    *parents, leaf = dotted.split(".")
    for part in parents:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[leaf] = value


TIMESTAMPS = (
    st.sampled_from(
        [
            "2026-03-02 09:00:00Z",
            "2026-03-02T09:00:00",
            "2026-03-02T09:00:00+0100",
            "20260302T090000Z",
            "2026-13-45T09:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2026-03-02T09:00:00.1234567891Z",
            "",
        ]
    )
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
)
ADDRESSES = st.sampled_from(
    ["fe80::1%eth0", "fe80::1%", "-", "", " 192.0.2.1", "01.2.3.4", "::ffff:1.2.3.4", "999.1.1.1", "::1"]
) | st.ip_addresses().map(str)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and ±Infinity included: json.dumps writes them as bare words
    hostile_text(max_size=30),
    TIMESTAMPS,
    ADDRESSES,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
KEYS = st.sampled_from(["_id", "_source", "", " ", ".a", "a..b", "client.ip", "x.y"]) | hostile_text(10)


@st.composite
def hostile_line(draw: st.DrawFn) -> str:
    """One NDJSON line: a profile's event with some fields made hostile."""
    seeds = seed_events()
    doc: dict[str, Any] = json.loads(json.dumps(draw(st.sampled_from(seeds))))
    paths = leaf_paths(doc) + list(MAPPED_PATHS)
    for path in draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4)):
        put(doc, path, draw(VALUES))
    for key in draw(st.lists(KEYS, max_size=2)):
        doc[key] = draw(VALUES)
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))  # NaN/Infinity written as is
    trick = draw(st.sampled_from(["none", "huge", "duplicate"]))
    if trick == "huge" and text.endswith("}"):
        text = f'{text[:-1]},"n":{HUGE_INT}}}'
    elif trick == "duplicate" and text.endswith("}") and len(doc) > 0:
        key = json.dumps(next(iter(doc)))
        text = f"{text[:-1]},{key}:1}}"
    return text


def strict_json(text: str) -> Any:
    """Parse ``text`` as strict JSON (no NaN/Infinity) or raise ValueError."""

    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    value = json.loads(text, parse_constant=refuse)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not finite")
    return value
