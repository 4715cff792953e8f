"""The alert side of a watch: which shape the search response has, and the mustache that turns
each hit (or session bucket) into the ECS alert document ``sessionwatch.alerts`` builds."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sessionwatch.rules.alert_shapes import THRESHOLDS
from sessionwatch.rules.errors import RenderError, UnsupportedByTarget
from sessionwatch.rules.model import Rule

_UNQUOTED_TYPES = frozenset({"long", "double", "boolean"})
HITS = "ctx.payload.hits.hits"
BUCKETS = "ctx.payload.aggregations.groups.buckets"
SESSION_KEY = "sessionwatch.session.id"


@dataclass(frozen=True)
class Shape:
    """How alerts come out of the search response: one per hit, or one per session bucket
    (composite ``groups`` with its first offending event in ``first``) with bucket metrics."""

    items: str
    hit_prefix: str
    metrics: tuple[str, ...] = ()

    @property
    def per_session(self) -> bool:
        return self.items == BUCKETS


def response_shape(rule: Rule, query: Mapping[str, Any]) -> Shape:
    """The shape of ``query``'s response; ``RenderError`` when Watcher cannot express it."""
    aggs = query.get("aggs") or query.get("aggregations")
    if not aggs:
        return Shape(items=HITS, hit_prefix="")
    groups = aggs.get("groups", {})
    sources = groups.get("composite", {}).get("sources", [])
    field = sources[0]["entity"]["terms"]["field"] if sources else None
    if rule.kind in THRESHOLDS:
        raise UnsupportedByTarget(
            f"kind {rule.kind.value!r} keeps only entities over a per-entity threshold, which a watch "
            "cannot filter without a script: use the runner (sessionwatch run) for it",
            rule.locate("/kind"),
        )
    if set(aggs) != {"groups"} or field != SESSION_KEY or "first" not in groups.get("aggs", {}):
        raise UnsupportedByTarget(
            f"kind {rule.kind.value!r} groups its alerts by {field}; watches exist for per-event and "
            "per-session rules only: use the runner (sessionwatch run) for it",
            rule.locate("/kind"),
        )
    metrics = []
    for name, agg in sorted(groups["aggs"].items()):
        if name == "first":
            continue
        if set(agg) != {"cardinality"}:
            raise RenderError(f"kind {rule.kind.value!r}: bucket metric {name!r} has no watcher form")
        metrics.append(name)
    return Shape(items=BUCKETS, hit_prefix="first.hits.hits.0.", metrics=tuple(metrics))


class Mustache:
    """Writes the mustache tags of the alert template (Watcher's mustache.java semantics:
    ``{{#x}}`` skips null, false, "" and empty lists; in JSON mode values are JSON-escaped)."""

    def __init__(self, shape: Shape, fact_types: Mapping[str, str]) -> None:
        self.shape = shape
        self.items = shape.items
        self._types = fact_types

    def hit(self, path: str) -> str:
        return self.shape.hit_prefix + path

    def src(self, field: str) -> str:
        return self.shape.hit_prefix + "_source." + field

    @staticmethod
    def section_open(path: str) -> str:
        return "{{#" + path + "}}"

    @staticmethod
    def section_close(path: str) -> str:
        return "{{/" + path + "}}"

    @staticmethod
    def _first(paths: Sequence[str], render: Any, missing: str) -> str:
        """``render(path)`` for the first present path, else ``missing``."""
        text = missing
        for path in reversed(paths):
            text = "{{#" + path + "}}" + render(path) + "{{/" + path + "}}{{^" + path + "}}" + text
            text += "{{/" + path + "}}"
        return text

    def string_or_null(self, paths: Sequence[str]) -> str:
        return self._first(paths, lambda p: '"{{' + p + '}}"', "null")

    def text(self, paths: Sequence[str], missing: str) -> str:
        return self._first(paths, lambda p: "{{" + p + "}}", missing)

    def member(self, key: str, sub: str, paths: Sequence[str]) -> str:
        """``,"key":{"sub":"value"}`` when one of ``paths`` is present, else nothing."""
        return self._first(paths, lambda p: f',"{key}":{{"{sub}":"{{{{{p}}}}}"}}', "")

    def user_paths(self) -> list[str]:
        return [self.src("user.name"), self.src("sessionwatch.actor.name")]

    def _session(self) -> str:
        return "key.entity" if self.shape.per_session else self.src(SESSION_KEY)

    def subject(self) -> str:
        """``session <id>[ of <user>]``, or ``account <user>`` when the event has no session."""
        session = self._session()
        named = (
            "session {{" + session + "}}" + self._first(self.user_paths(), lambda p: " of {{" + p + "}}", "")
        )
        account = "account " + self.text(self.user_paths(), "None")
        return self._first([session], lambda _: named, account)

    def session_member(self) -> str:
        session = self._session()
        return "{{#" + session + '}},"session":{"id":"{{' + session + '}}"}{{/' + session + "}}"

    def alert_id(self, rule_id: str) -> str:
        """``<rule id>:<event id>`` (``<rule id>:session:<session>:<event id>`` per session):
        deterministic, so what two overlapping runs both see is created once."""
        event = self.text([self.src("sessionwatch.event.id"), self.hit("_id")], "")
        if self.shape.per_session:
            return f"{rule_id}:session:{{{{key.entity}}}}:{event}"
        return f"{rule_id}:{event}"

    def counts(self) -> str:
        """Per-session buckets: ``,"counts":{"events":doc_count, <metric>: value}``."""
        if not self.shape.per_session:
            return ""
        items = ['"events":{{doc_count}}']
        items += [json.dumps(name) + ":{{" + name + ".value}}" for name in self.shape.metrics]
        return ',"counts":{ ' + ",".join(items) + " }"

    def facts(self, names: Sequence[str]) -> str:
        """The evidence facts object, only the present ones, with correct commas. A boolean fact
        is always written (``false`` when absent): mustache cannot tell false from missing."""

        def boolean(name: str) -> bool:
            return self._types.get(name) == "boolean"

        def entry(name: str) -> str:
            path = self.src(name)
            if boolean(name):
                value = "{{#" + path + "}}true{{/" + path + "}}{{^" + path + "}}false{{/" + path + "}}"
            elif self._types.get(name) in _UNQUOTED_TYPES:
                value = "{{" + path + "}}"
            else:
                value = '"{{' + path + '}}"'
            return json.dumps(name) + ":" + value

        def optional(name: str, text: str) -> str:
            if boolean(name):
                return text
            return "{{#" + self.src(name) + "}}" + text + "{{/" + self.src(name) + "}}"

        def from_index(i: int) -> str:
            if i == len(names):
                return ""
            rest = "".join(optional(n, "," + entry(n)) for n in names[i + 1 :])
            present = optional(names[i], entry(names[i]) + rest)
            if boolean(names[i]):
                return present
            path = self.src(names[i])
            return present + "{{^" + path + "}}" + from_index(i + 1) + "{{/" + path + "}}"

        # spaces keep literal braces apart from tags: "{{{" would open a triple mustache
        return "{ " + from_index(0) + " }"
