"""``render --target watcher``: one Watcher watch per rule.

* trigger: ``schedule.interval`` from the rule;
* input: a ``search`` whose body is :func:`render_query`'s output for the window
  ``[{{ctx.trigger.scheduled_time}}||-<lookback>, {{ctx.trigger.scheduled_time}})`` — the same
  template as ``--target query``, called, never copied;
* condition: ``compare`` on ``ctx.payload.hits.total``, or ``array_compare`` on the session
  buckets (no script);
* actions: ``index_alerts`` writes one ECS alert document per hit through a ``webhook`` to the
  cluster's own ``_bulk`` API (Watcher's ``index`` action can only store the payload as it is,
  and shaping it would need a script transform), with ``create`` and a deterministic ``_id`` so
  overlapping windows never duplicate; optionally ``terminate_sessions``, a ``foreach`` webhook
  to an identity provider (renderer/webhooks.py);
* ``metadata`` carries the rule id, name, version and kind; ``throttle_period`` is set.

``${NAME}`` placeholders (cluster URL and credentials for the alert writer, webhook secrets) are
filled at deploy time from the environment (:func:`sessionwatch.renderer.webhooks.inject`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import TemplateError
from jsonschema import Draft202012Validator

from sessionwatch.enrichers.facts import FACTS
from sessionwatch.renderer.environment import environment
from sessionwatch.renderer.render import SCRIPT_KEYS, Window, render_query
from sessionwatch.renderer.webhooks import load_provider, watcher_action
from sessionwatch.rules.durations import format_duration
from sessionwatch.rules.errors import RenderError
from sessionwatch.rules.kinds import Kind
from sessionwatch.rules.model import Rule

TRIGGER_TIME = "{{ctx.trigger.scheduled_time}}"
ALERTS_INDEX = (
    "sessionwatch-alerts-default"  # = sessionwatch.indices.ALERTS_INDEX (core; not importable here)
)
MUSTACHE_DELIMITERS = ("{{", "}}")

# The facts copied into an alert as evidence, per kind: mirrors sessionwatch.alerts.EVIDENCE_FACTS
# (core, which the renderer may not import); tests/unit/test_watcher.py keeps the two equal.
_SESSION = ("sessionwatch.session.start", "sessionwatch.session.age_seconds")
EVIDENCE_FACTS: Mapping[Kind, tuple[str, ...]] = {
    Kind.SESSION_IDLE_TIMEOUT: ("sessionwatch.session.idle_seconds", *_SESSION),
    Kind.SESSION_MAX_LIFETIME: (*_SESSION, "sessionwatch.session.since_auth_seconds"),
    Kind.SESSION_POST_LOGOUT: (
        "sessionwatch.session.end_action",
        "sessionwatch.session.since_end_seconds",
        *_SESSION,
    ),
    Kind.TOKEN_REVOKED_USE: ("sessionwatch.token.id", "sessionwatch.token.since_revocation_seconds"),
    Kind.TOKEN_EXPIRED_USE: (
        "sessionwatch.token.id",
        "sessionwatch.token.expires_at",
        "sessionwatch.token.past_expiry_seconds",
    ),
    Kind.TOKEN_LIFETIME_POLICY: (
        "sessionwatch.token.id",
        "sessionwatch.token.issued_at",
        "sessionwatch.token.expires_at",
        "sessionwatch.token.lifetime_seconds",
    ),
    Kind.TOKEN_RENEWAL_OUTSIDE_WORKFLOW: (
        "sessionwatch.token.id",
        "sessionwatch.token.grant_type",
        "sessionwatch.token.client_id",
        "sessionwatch.url.path",
        "sessionwatch.session.age_seconds",
    ),
    Kind.ACCOUNT_INACTIVE_USE: (
        "sessionwatch.account.status",
        "sessionwatch.account.dormant_days",
        "sessionwatch.account.last_seen",
        "sessionwatch.session.id",
    ),
    Kind.SESSION_IP_BINDING: (
        "sessionwatch.source.ip",
        "sessionwatch.ip.first",
        "sessionwatch.ip.prefix_changed",
        "sessionwatch.ip.distinct",
    ),
    Kind.SESSION_DEVICE_BINDING: (
        "sessionwatch.device.fingerprint",
        "sessionwatch.device.first",
        "sessionwatch.device.distinct",
    ),
    Kind.SESSION_REQUEST_PATTERN: (
        "sessionwatch.url.path",
        "sessionwatch.session.requests_last_minute",
        "sessionwatch.session.since_auth_seconds",
    ),
    Kind.SESSION_CONCURRENCY: ("sessionwatch.session.id",),
}
# Kinds whose buckets must pass a threshold (mirrors sessionwatch.alerts.THRESHOLDS).
PER_ENTITY_THRESHOLD = frozenset({Kind.SESSION_CONCURRENCY})
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
    if rule.kind in PER_ENTITY_THRESHOLD:
        raise RenderError(
            f"kind {rule.kind.value!r} keeps only entities over a per-entity threshold, which a watch "
            "cannot filter without a script: use the runner (sessionwatch run) for it",
            rule.locate("/kind"),
        )
    if set(aggs) != {"groups"} or field != SESSION_KEY or "first" not in groups.get("aggs", {}):
        raise RenderError(
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


@dataclass(frozen=True)
class WatchOptions:
    """Where and as whom the watch writes alerts, and whether it terminates sessions."""

    alerts_index: str = ALERTS_INDEX
    es_url: str = "${SESSIONWATCH_WATCHER_ES_URL}"
    username: str = "${SESSIONWATCH_WATCHER_ES_USERNAME}"
    password: str = "${SESSIONWATCH_WATCHER_ES_PASSWORD}"  # noqa: S105 - a placeholder, filled at deploy
    terminate: str | None = None
    max_iterations: int = 100
    max_hits: int = 1000


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


def _template_context(rule: Rule) -> dict[str, Any]:
    context = rule.as_template_context()
    context.update(attack=list(rule.attack), references=list(rule.references), description=rule.description)
    return context


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in (key, *_strings(value))]
    if isinstance(node, list):
        return [s for value in node for s in _strings(value)]
    return []


_TRIGGER_MATH = re.compile(r"^\{\{ctx\.trigger\.scheduled_time\}\}(\|\|[-+/0-9a-zA-Z]+)?$")


def _refuse_mustache(rule: Rule, node: Any, *, trigger_math: bool = False) -> None:
    """Watcher evaluates mustache in the search body and the action bodies: a rule value holding
    ``{{`` or ``}}`` would be evaluated, so it is refused (only the trigger time is allowed, with
    date math, where the window was bound to it)."""
    for text in _strings(node):
        if trigger_math and _TRIGGER_MATH.match(text):
            continue
        if any(d in text for d in MUSTACHE_DELIMITERS):
            raise RenderError(
                f"rule value {text!r} contains a mustache delimiter ({{{{ or }}}})", rule.location
            )


def condition(shape: Shape) -> dict[str, Any]:
    """Scriptless: any hit, or some session bucket with at least one event."""
    if shape.per_session:
        return {"array_compare": {BUCKETS: {"path": "doc_count", "gte": {"value": 1, "quantifier": "some"}}}}
    return {"compare": {"ctx.payload.hits.total": {"gt": 0}}}


def watch_window(rule: Rule) -> Window:
    lookback = format_duration(rule.schedule.lookback_seconds)
    return Window(f"{TRIGGER_TIME}||-{lookback}", TRIGGER_TIME)


def render_watch(rule: Rule, options: WatchOptions | None = None) -> dict[str, Any]:
    """The watch body for ``rule`` (placeholders unfilled)."""
    options = options or WatchOptions()
    window = watch_window(rule)
    query = render_query(rule, window, max_hits=options.max_hits)
    shape = response_shape(rule, query)
    _refuse_mustache(rule, query, trigger_math=True)
    context = _template_context(rule)
    _refuse_mustache(rule, context)
    lookback, interval = rule.schedule.lookback_seconds, rule.schedule.interval_seconds
    terminate = None
    if options.terminate:
        spec = load_provider(options.terminate, rule)
        # every hit is revoked at least once: an execution at e covers hits up to e, and the next
        # unthrottled one (≤ e + lookback) still has every later hit inside its window
        throttle = format_duration(lookback - interval) if lookback > interval else "0s"
        terminate = watcher_action(
            spec,
            foreach=shape.items,
            hit_prefix=shape.hit_prefix,
            max_iterations=options.max_iterations,
            throttle_period=throttle,
        )
    try:
        text = (
            environment()
            .get_template("watcher/watch.json.j2")
            .render(
                rule=context,
                query=query,
                evidence=list(EVIDENCE_FACTS.get(rule.kind, ())),
                options=options,
                interval=format_duration(interval),
                lookback=format_duration(lookback),
                throttle_period=format_duration(interval),
                terminate=terminate,
                condition=condition(shape),
                m=Mustache(shape, {f.name: f.type for f in FACTS}),
            )
        )
    except TemplateError as exc:
        raise RenderError(f"template watcher/watch.json.j2 failed: {exc}", rule.location) from None
    try:
        watch: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RenderError(f"watcher template produced invalid JSON: {exc}", rule.location) from None
    body = watch["actions"]["index_alerts"]["webhook"]["body"]
    if "{{{" in body or "}}}" in body:  # would open a triple mustache in Watcher
        raise RenderError("watcher template bug: '{{{' or '}}}' in the alert body", rule.location)
    return watch


@cache
def _validator(name: str) -> Draft202012Validator:
    text = resources.files("sessionwatch.renderer").joinpath(f"schemas/{name}").read_text(encoding="utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(document: Any, schema: str) -> list[str]:
    """Every violation of ``schemas/<schema>`` in ``document``, as ``/json/pointer: message``."""
    errors = _validator(schema).iter_errors(document)
    return sorted(f"/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in errors)


def validate_watch(watch: Mapping[str, Any]) -> list[str]:
    """Schema violations of a watch body, plus sessionwatch's own rule: no script anywhere."""
    problems = schema_errors(watch, "watch.schema.json")
    problems += [f"{path}: scripts are not allowed" for path in _script_paths(watch)]
    return problems


def _script_paths(node: Any, path: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SCRIPT_KEYS:
                found.append(f"{path}/{key}")
            found += _script_paths(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _script_paths(value, f"{path}/{i}")
    return found


def watch_id(rule: Rule) -> str:
    """The watch's id: stable across versions of the rule."""
    return f"sessionwatch-{rule.name}"
