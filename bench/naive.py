"""The naive alternative a user might write instead of rules that run in Elasticsearch.

Pull every raw event of the window to the client (point in time + ``search_after``), compute the
session facts there (``sessionwatch enrich`` in a child process, fed through a pipe), and apply
each rule in Python. To give *the same verdicts*, the rule is applied by interpreting its own
rendered search body: the query is compiled once into a Python predicate, hits are sorted and
cut like ``size`` does, and composite groups get the same metrics (``top_hits``, ``cardinality``,
``terms``, ``min``, ``max``); the resulting response goes through ``alerts_from_response`` like a
real one. Only the constructs the rendered pack uses are supported; anything else raises.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from elasticsearch import Elasticsearch

from bench.common import REPO, sessionwatch_cli
from sessionwatch.alerts import alerts_from_response
from sessionwatch.enrichers import events_mapping
from sessionwatch.enrichers.events import get_path
from sessionwatch.renderer import Window, render_query
from sessionwatch.rules.model import Rule

Predicate = Callable[[Mapping[str, Any]], bool]
PAGE = 10_000


class Unsupported(ValueError):
    """A construct of a rendered query that this client-side interpreter does not implement."""


def field_types() -> dict[str, str]:
    out: dict[str, str] = {}

    def walk(props: Mapping[str, Any], prefix: str) -> None:
        for name, spec in props.items():
            if "properties" in spec:
                walk(spec["properties"], f"{prefix}{name}.")
            else:
                out[f"{prefix}{name}"] = spec.get("type", "object")

    walk(events_mapping()["properties"], "")
    return out


TYPES = field_types()


def _values(doc: Mapping[str, Any], path: str) -> list[Any]:
    node: Any = doc
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            node = get_path(doc, path)
            break
    if node is None:
        return []
    return node if isinstance(node, list) else [node]


_UNIT_MS = {"ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0, "d": 86_400_000.0, "w": 604_800_000.0}
_MATH = re.compile(r"([+-])(\d+)(ms|s|m|h|d|w)")


def _epoch_ms(value: Any) -> float:
    """Epoch milliseconds of a date value or bound (ISO-8601, optionally ``||±N<unit>`` math)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text, _, math = str(value).partition("||")
    if text.startswith("now"):
        raise Unsupported(f"relative date {value!r}")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000.0
    consumed = 0
    for match in _MATH.finditer(math):
        if match.start() != consumed:
            break
        sign, amount, unit = match.groups()
        moment += (1 if sign == "+" else -1) * int(amount) * _UNIT_MS[unit]
        consumed = match.end()
    if consumed != len(math):
        raise Unsupported(f"date math {value!r}")
    return moment


def _normalizer(path: str) -> Callable[[Any], Any]:
    kind = TYPES.get(path)
    if kind is None:
        return lambda v: None  # unmapped (dynamic: false): never matches, like Elasticsearch
    if kind == "date":
        return _epoch_ms
    if kind in ("long", "double"):
        return lambda v: float(v)
    if kind == "boolean":
        return lambda v: v if isinstance(v, bool) else str(v).lower() == "true"
    if kind == "ip":
        return lambda v: ipaddress.ip_address(str(v))
    return lambda v: str(v)


def _term_test(path: str, wanted: list[Any]) -> Predicate:
    norm = _normalizer(path)
    if TYPES.get(path) == "ip":
        networks = [ipaddress.ip_network(str(w), strict=False) for w in wanted]
        return lambda doc: any(norm(v) in net for v in _values(doc, path) for net in networks)
    targets = {norm(w) for w in wanted}
    return lambda doc: any(norm(v) in targets for v in _values(doc, path))


def compile_query(query: Mapping[str, Any]) -> Predicate:
    """A predicate equivalent to ``query`` on enriched documents (the subset the pack uses)."""
    if len(query) != 1:
        raise Unsupported(f"query with keys {sorted(query)}")
    ((kind, spec),) = query.items()
    if kind == "match_all":
        return lambda doc: True
    if kind == "bool":
        return _compile_bool(spec)
    if kind == "exists":
        path = spec["field"]
        if path not in TYPES:
            return lambda doc: False
        return lambda doc: bool(_values(doc, path))
    if kind in ("term", "terms"):
        ((path, value),) = ((k, v) for k, v in spec.items() if k != "boost")
        if kind == "term":
            value = value["value"] if isinstance(value, dict) else value
            return _term_test(path, [value])
        if not isinstance(value, list):
            raise Unsupported("terms lookup")
        return _term_test(path, value)
    if kind == "range":
        ((path, bounds),) = spec.items()
        norm = _normalizer(path)
        tests: list[Callable[[Any], bool]] = []
        for op, bound in bounds.items():
            if op in ("format", "boost"):
                continue
            b = norm(bound)
            tests.append(
                {
                    "gt": lambda v, b=b: v > b,
                    "gte": lambda v, b=b: v >= b,
                    "lt": lambda v, b=b: v < b,
                    "lte": lambda v, b=b: v <= b,
                }[op]
            )
        return lambda doc: any(all(t(norm(v)) for t in tests) for v in _values(doc, path))
    raise Unsupported(f"query type {kind!r}")


def _clauses(spec: Any) -> list[Predicate]:
    items = spec if isinstance(spec, list) else [spec]
    return [compile_query(item) for item in items]


def _compile_bool(spec: Mapping[str, Any]) -> Predicate:
    required = _clauses(spec.get("filter", [])) + _clauses(spec.get("must", []))
    excluded = _clauses(spec.get("must_not", []))
    optional = _clauses(spec.get("should", []))
    minimum = int(spec.get("minimum_should_match", 0 if required else 1)) if optional else 0

    def test(doc: Mapping[str, Any]) -> bool:
        if not all(p(doc) for p in required) or any(p(doc) for p in excluded):
            return False
        return minimum == 0 or sum(p(doc) for p in optional) >= minimum

    return test


def _sort_key(sort: list[Any]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    fields: list[str] = []
    for item in sort:
        ((path, how),) = item.items() if isinstance(item, dict) else ((item, "asc"),)
        order = how.get("order", "asc") if isinstance(how, dict) else how
        if order != "asc":
            raise Unsupported("descending sort")
        fields.append(path)
    norms = [_normalizer(p) for p in fields]

    def key(doc: Mapping[str, Any]) -> tuple[Any, ...]:
        out = []
        for path, norm in zip(fields, norms, strict=True):
            values = _values(doc, path)
            out.append((0, min(norm(v) for v in values)) if values else (1, 0))
        return tuple(out)

    return key


@dataclass
class _Group:
    count: int = 0
    first: tuple[tuple[Any, ...], Mapping[str, Any]] | None = None
    distinct: dict[str, set[Any]] = field(default_factory=dict)
    terms: dict[str, Counter[Any]] = field(default_factory=dict)
    extreme: dict[str, float] = field(default_factory=dict)


@dataclass
class RuleState:
    """One rule's running verdict while documents stream past."""

    rule: Rule
    body: dict[str, Any]
    predicate: Predicate = field(init=False)
    hits: list[tuple[tuple[Any, ...], Mapping[str, Any]]] = field(default_factory=list)
    groups: dict[tuple[Any, ...], _Group] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.predicate = compile_query(self.body.get("query", {"match_all": {}}))
        aggs = self.body.get("aggs", {})
        self.composite = aggs.get("groups")
        if aggs and self.composite is None:
            raise Unsupported(f"aggregations {sorted(aggs)}")
        if self.composite:
            self.sources = [
                (name, spec["terms"]["field"])
                for source in self.composite["composite"]["sources"]
                for name, spec in source.items()
            ]
            self.metrics = self.composite.get("aggs", {})
            top = self.metrics["first"]["top_hits"]
            self.first_key = _sort_key(top.get("sort", []))
        else:
            self.hit_key = _sort_key(self.body.get("sort", []))

    def feed(self, doc: Mapping[str, Any]) -> None:
        if not self.predicate(doc):
            return
        if not self.composite:
            self.hits.append((self.hit_key(doc), doc))
            return
        keys = []
        for _, path in self.sources:
            values = _values(doc, path)
            if not values:
                return
            keys.append(values)
        for combo in _product(keys):
            group = self.groups.setdefault(combo, _Group())
            group.count += 1
            k = self.first_key(doc)
            if group.first is None or k < group.first[0]:
                group.first = (k, doc)
            for name, spec in self.metrics.items():
                if "cardinality" in spec:
                    group.distinct.setdefault(name, set()).update(_values(doc, spec["cardinality"]["field"]))
                elif "terms" in spec:
                    group.terms.setdefault(name, Counter()).update(_values(doc, spec["terms"]["field"]))
                elif "min" in spec or "max" in spec:
                    op = "min" if "min" in spec else "max"
                    norm = _normalizer(spec[op]["field"])
                    for v in _values(doc, spec[op]["field"]):
                        value = norm(v)
                        old = group.extreme.get(name)
                        if old is None or (value < old if op == "min" else value > old):
                            group.extreme[name] = value
                elif "top_hits" not in spec:
                    raise Unsupported(f"sub-aggregation {sorted(spec)}")

    def response(self) -> dict[str, Any]:
        if not self.composite:
            self.hits.sort(key=lambda item: item[0])
            size = int(self.body.get("size", 10))
            shown = [{"_id": get_path(d, "sessionwatch.event.id"), "_source": d} for _, d in self.hits[:size]]
            return {"hits": {"total": {"value": len(self.hits)}, "hits": shown}}
        buckets = []
        for combo in sorted(self.groups):
            group = self.groups[combo]
            assert group.first is not None
            first = group.first[1]
            bucket: dict[str, Any] = {
                "key": {name: value for (name, _), value in zip(self.sources, combo, strict=True)},
                "doc_count": group.count,
                "first": {
                    "hits": {"hits": [{"_id": get_path(first, "sessionwatch.event.id"), "_source": first}]}
                },
            }
            for name, spec in self.metrics.items():
                if "cardinality" in spec:
                    bucket[name] = {"value": len(group.distinct.get(name, ()))}
                elif "terms" in spec:
                    counts = group.terms.get(name, Counter())
                    size = int(spec["terms"].get("size", 10))
                    keys = sorted(counts)[:size]
                    bucket[name] = {"buckets": [{"key": k, "doc_count": counts[k]} for k in keys]}
                elif "min" in spec or "max" in spec:
                    bucket[name] = {"value": group.extreme.get(name)}
            buckets.append(bucket)
        return {"aggregations": {"groups": {"buckets": buckets}}}


def _product(lists: list[list[Any]]) -> Iterator[tuple[Any, ...]]:
    if not lists:
        yield ()
        return
    for head in lists[0]:
        for tail in _product(lists[1:]):
            yield (head, *tail)


def _pull(client: Elasticsearch, index: str, window: Window, sink: IO[bytes], counter: list[int]) -> None:
    """Every raw event of the window, in time order, written to ``sink`` as NDJSON."""
    pit = client.open_point_in_time(index=index, keep_alive="5m").body["id"]
    try:
        after: list[Any] | None = None
        while True:
            body: dict[str, Any] = {
                "size": PAGE,
                "query": {"range": {"@timestamp": {"gte": window.start, "lt": window.end}}},
                "sort": [{"@timestamp": "asc"}, {"_shard_doc": "asc"}],
                "_source": {"excludes": ["sessionwatch"]},  # the raw event as it was ingested
                "pit": {"id": pit, "keep_alive": "5m"},
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            page = client.options(request_timeout=300).search(body=body).body
            hits = page["hits"]["hits"]
            if not hits:
                return
            pit = page.get("pit_id", pit)
            sink.write(
                b"".join(json.dumps(h["_source"], separators=(",", ":")).encode() + b"\n" for h in hits)
            )
            counter[0] += len(hits)
            after = hits[-1]["sort"]
    finally:
        sink.close()
        client.close_point_in_time(id=pit)


@dataclass
class NaiveResult:
    alerts: dict[str, list[dict[str, Any]]]
    events: int
    seconds: float
    pull_and_enrich_s: float


def run_naive(client: Elasticsearch, index: str, rules: list[Rule], window: Window) -> NaiveResult:
    """Pull, enrich and evaluate ``rules`` client-side; the verdicts per rule name."""
    states = [RuleState(rule, render_query(rule, window)) for rule in rules]
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own CLI
        [*sessionwatch_cli(), "enrich", "-", "--dead-letter", "/dev/null"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    pulled = [0]
    errors: list[BaseException] = []

    def pull() -> None:
        try:
            _pull(client, index, window, child.stdin, pulled)  # type: ignore[arg-type]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    puller = threading.Thread(target=pull, daemon=True)
    puller.start()
    for line in child.stdout:
        doc = json.loads(line)
        for state in states:
            state.feed(doc)
    child.wait()
    puller.join()
    if errors:
        raise errors[0]
    streamed = time.perf_counter() - started
    alerts = {s.rule.name: alerts_from_response(s.rule, s.response()) for s in states}
    return NaiveResult(alerts, pulled[0], time.perf_counter() - started, streamed)
