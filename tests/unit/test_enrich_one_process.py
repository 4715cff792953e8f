"""The one-process fast paths (issue 15, round 2) give exactly what the general code gives:
nested facts written by the enrichers against flat names nested afterwards, the dotted-key check
on the line's text, the generated admission check, the positional canonical values, the
remembered timestamp texts and the reorder window's in-order queue."""

from __future__ import annotations

import copy
import heapq
import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sessionwatch.enrichers import EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.admission import admit, plain_names
from sessionwatch.enrichers.base import CanonicalEvent, Enricher, fact_writer
from sessionwatch.enrichers.canonical import BadEvent, canonicalize, parse_timestamp
from sessionwatch.enrichers.events import has_dotted_keys
from sessionwatch.enrichers.mapper import _DOTTED_KEY
from sessionwatch.enrichers.parallel import run as run_stream
from sessionwatch.enrichers.reorder import ReorderBuffer
from sessionwatch.enrichers.timefmt import isoformat, remember
from sessionwatch.rules.instants import iso
from tests.unit.test_enrich_reference import corpus


class FlatOnly:
    """A built-in enricher seen through its flat ``facts`` only, as a third-party one is."""

    def __init__(self, inner: Enricher) -> None:
        self.inner = inner
        self.name = inner.name
        self.scope = getattr(inner, "scope", "session")

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        return self.inner.facts(event, state)

    def configure(self, options: Any) -> None:
        hook = getattr(self.inner, "configure", None)
        if hook is not None:
            hook(options)

    def sweep(self, state: dict[str, Any], now: float) -> None:
        hook = getattr(self.inner, "sweep", None)
        if hook is not None:
            hook(state, now)


def _enrich(lines: list[bytes], enrichers: list[Any], window: float) -> tuple[list[str], list[str]]:
    written: list[str] = []
    dead: list[str] = []
    run_stream(
        lines,
        written.append,
        lambda letter: dead.append(letter.to_json()),
        profiles=ProfileRegistry.discover(),
        enrichers=enrichers,
        options=EngineOptions(reorder_window=window),
    )
    return written, dead


@pytest.mark.parametrize("window", [0.0, 60.0])
def test_nested_facts_write_the_same_bytes_as_flat_names_nested_afterwards(window: float) -> None:
    lines = corpus()
    builtin = discover_enrichers()
    assert all(fact_writer(e) is not None for e in builtin if getattr(e, "scope", "session") == "session")
    flat = [FlatOnly(e) for e in discover_enrichers()]
    assert all(fact_writer(e) is None for e in flat)
    nested_out, nested_dead = _enrich(lines, builtin, window)
    flat_out, flat_dead = _enrich(lines, flat, window)
    assert len(nested_out) > 3900
    assert nested_out == flat_out
    assert nested_dead == flat_dead


def test_an_overridden_facts_is_what_runs() -> None:
    enrichers = discover_enrichers()
    clock = next(e for e in enrichers if e.name == "session_clock")
    assert fact_writer(clock) is not None
    clock.facts = lambda event, state: {"sessionwatch.session.mine": True}  # type: ignore[method-assign]
    assert fact_writer(clock) is None
    written, _ = _enrich(corpus()[:50], enrichers, 0.0)
    first = json.loads(written[0])["sessionwatch"]["session"]
    assert first["mine"] is True
    assert "sequence" not in first


def _docs_and_texts() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for raw in corpus():
        try:
            text = raw.decode("utf-8")
            doc = json.loads(text)
        except ValueError:
            continue
        if isinstance(doc, dict):
            out.append((text, doc))
    return out


DOTTED = [
    {"a.b": 1},
    {"x": {"event.action": "logout"}},
    {"x": [{"y": {"z.w": 1}}]},
    {"x": "a.b", "y": {"k.": 2}},
    {"n": 1.5, "": {"a.b": None}},
    {"x": {"y": {"z": {".": 1}}}},
]


@pytest.mark.parametrize("doc", [*DOTTED, {"a": "b.c", "d": ["e.f", {"g": "h.i"}]}, {"v": 1.25, "w": "x.\\"}])
def test_the_text_check_for_dotted_keys_agrees_with_the_walk(doc: dict[str, Any]) -> None:
    text = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    if "\\" not in text and has_dotted_keys(doc):  # never a false "no" (a "yes" only costs time)
        assert _DOTTED_KEY(text) is not None


def test_the_text_check_for_dotted_keys_never_misses_on_the_corpus() -> None:
    seen = 0
    for _text, doc in _docs_and_texts():
        rewritten = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
        if "\\" in rewritten or not all(isinstance(k, str) for k in doc):
            continue
        for extra in ({}, {"late.key": 1}, {"deep": {"er": {"x.y": [1]}}}):
            both = {**doc, **extra}
            line = json.dumps(both, separators=(",", ":"), ensure_ascii=False)
            if has_dotted_keys(both):
                assert _DOTTED_KEY(line) is not None, line[:200]
            else:  # the workload's lines have no dotted key: the check clears them
                assert extra or _DOTTED_KEY(line) is None, line[:200]
            seen += 1
    assert seen > 10_000


BAD_VALUES: list[tuple[tuple[str, ...], Any]] = [
    (("source", "ip"), "-"),
    (("source", "ip"), ["10.0.0.1", "nope"]),
    (("client", "ip"), 7),
    (("event", "id"), {"a": 1}),
    (("event", "category"), ["authentication", {"x": 1}]),
    (("event",), "flat"),
    (("user",), [{"name": "x"}]),
    (("user", "name"), float("inf")),
    (("@timestamp",), "2026-03-02 09:00:00Z"),
    (("@timestamp",), "yesterday"),
    (("@timestamp",), 1.7e12),
    (("http", "request"), {"method": {"x": 1}}),
    (("sessionwatch",), {"session": {"age_seconds": "x"}}),
    (("device", "id"), True),
]


def _set(doc: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[path[-1]] = value


def test_the_generated_admission_check_repairs_exactly_what_the_full_walk_repairs() -> None:
    pairs = _docs_and_texts()
    rng = random.Random(7)
    checked = 0
    for text, doc in pairs[:1500]:
        variants = [doc]
        for path, value in rng.sample(BAD_VALUES, 3):
            changed = copy.deepcopy(doc)
            _set(changed, path, value)
            variants.append(changed)
        for variant in variants:
            fast_doc, slow_doc = copy.deepcopy(variant), copy.deepcopy(variant)
            names = plain_names(text)
            fast = admit(fast_doc, True, names_checked=names, dotted=has_dotted_keys(variant))
            slow = admit(slow_doc, True)
            assert list(fast.items()) == list(slow.items()), json.dumps(variant)[:300]
            assert fast_doc == slow_doc
            checked += bool(slow)
    assert checked > 3000  # most variants needed a repair


ODD_VALUES: list[tuple[str, Any]] = [
    ("session", {"id": 12345}),
    ("session", {"id": ["s-1", "s-2"]}),
    ("session", {"id": "sé"}),
    ("session", {"id": "\ud800"}),
    ("session", {"id": {"x": 1}}),
    ("session", {"id": [1, 2]}),
    ("user", {"name": "Zoë"}),
    ("user", {"name": 3.5}),
    ("event", {"id": 9, "action": ["login", "x"], "outcome": ["failure"]}),
    ("event", {"id": "", "action": 1, "outcome": 2}),
    ("source", {"ip": "::ffff:10.0.0.1"}),
    ("source", {"ip": "bad"}),
    ("@timestamp", "2026-03-02T09:00:00+01:00"),
    ("@timestamp", None),
    ("@timestamp", 1772442000000),
    ("user_agent", {"original": ["Mozilla", "x"]}),
    ("url", {"path": "/ü"}),
    ("session", {"id": 0}),  # falsy, but not empty: taken
    ("session", {"id": False}),
    ("session", {"id": []}),  # empty: the next path is read
    ("user", {"name": {}, "id": 0.0}),
    ("user", "not an object"),  # a parent that is not an object
    ("source", ["10.0.0.1"]),
]


def _outcome(doc: dict[str, Any], profile: Any, raw: str, dotted: bool) -> Any:
    try:
        return canonicalize(doc, profile, raw, dotted)
    except BadEvent as exc:
        return str(exc)


def test_positional_canonical_values_give_what_the_path_readers_give() -> None:
    registry = ProfileRegistry.discover()
    rng = random.Random(3)
    compared = 0
    for text, doc in _docs_and_texts()[:2000]:
        if has_dotted_keys(doc):
            continue
        variants = [doc]
        for key, value in rng.sample(ODD_VALUES, 4):
            changed = copy.deepcopy(doc)
            base = changed.get(key)
            changed[key] = {**base, **value} if isinstance(base, dict) and isinstance(value, dict) else value
            variants.append(changed)
        for variant in variants:
            chosen = registry.for_event(variant, False)
            for profile in [*([chosen] if chosen is not None else []), *rng.sample(registry.all(), 2)]:
                plain = _outcome(variant, profile, text, False)
                general = _outcome(variant, profile, text, True)  # the path readers
                assert plain == general, (profile.name, json.dumps(variant, default=str)[:300])
                compared += 1
    assert compared > 10_000


def test_a_remembered_timestamp_text_is_what_the_formatter_writes() -> None:
    rng = random.Random(11)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for _ in range(20_000):
        millis = rng.randrange(0, 2**32 * 1000)
        moment = epoch + timedelta(milliseconds=millis)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{millis % 1000:03d}Z"
        seconds = parse_timestamp(text)
        remember(seconds, text)
        assert isoformat(seconds) == iso(seconds) == text
    for text in ("2026-03-02T09:00:00.5Z", "2026-03-02 09:00:00.500Z", "2026-03-02T09:00:00.500+00:00"):
        seconds = parse_timestamp(text)
        remember(seconds, text)
        assert isoformat(seconds) == iso(seconds) == "2026-03-02T09:00:00.500Z"
    far = "2200-01-01T00:00:00.001Z"  # beyond 2**32 seconds: never taken from the text
    seconds = parse_timestamp(far)
    remember(seconds, far)
    assert isoformat(seconds) == iso(seconds)


class HeapOnly:
    """The reorder window as it was: every item through the heap."""

    def __init__(self, window: float, max_items: int) -> None:
        self.window, self.max_items = window, max_items
        self.heap: list[tuple[float, int, int]] = []
        self.newest = float("-inf")

    def push(self, ts: float, line: int, item: int) -> list[int]:
        heapq.heappush(self.heap, (ts, line, item))
        self.newest = max(self.newest, ts)
        out = []
        while self.heap and (self.heap[0][0] <= self.newest - self.window or len(self.heap) > self.max_items):
            out.append(heapq.heappop(self.heap)[2])
        return out

    def flush(self) -> list[int]:
        return [entry[2] for entry in sorted(self.heap)]


@pytest.mark.parametrize("seed", range(6))
def test_the_in_order_queue_releases_what_the_heap_releases(seed: int) -> None:
    rng = random.Random(seed)
    window, cap = rng.choice([(5.0, 1000), (60.0, 7), (0.5, 3)])
    fast, slow = ReorderBuffer[int](window, cap), HeapOnly(window, cap)
    ts = 1000.0
    for line in range(3000):
        ts += rng.choice([0.0, 0.1, 1.0, 3.0])
        late = rng.random() < 0.05
        stamp = ts - rng.uniform(0, 2 * window) if late else ts
        assert fast.push(stamp, line, line) == slow.push(stamp, line, line)
        assert len(fast) == len(slow.heap)
    assert fast.flush() == slow.flush()
