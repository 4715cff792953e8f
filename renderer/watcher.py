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
  to an identity provider (renderer/webhooks.py) over the hits whose path values are usable
  segments (a ``filter`` aggregation, :func:`terminable`);
* ``metadata`` carries the rule id, name, version and kind; ``throttle_period`` is set.

``${NAME}`` placeholders (cluster URL and credentials for the alert writer, webhook secrets) are
filled at deploy time from the environment (:func:`sessionwatch.renderer.webhooks.inject`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import TemplateError
from jsonschema import Draft202012Validator

from sessionwatch.enrichers.facts import FACTS
from sessionwatch.renderer.environment import environment
from sessionwatch.renderer.render import SCRIPT_KEYS, Window, render_query
from sessionwatch.renderer.watch_alert import (
    BUCKETS,
    Mustache,
    Shape,
    response_shape,
)
from sessionwatch.renderer.webhooks import load_provider, path_slot_guard, watcher_action
from sessionwatch.rules.alert_shapes import EVIDENCE_FACTS
from sessionwatch.rules.durations import format_duration
from sessionwatch.rules.errors import RenderError
from sessionwatch.rules.model import Rule

TRIGGER_TIME = "{{ctx.trigger.scheduled_time}}"
# = sessionwatch.indices.ALERTS_INDEX (core, which the renderer may not import)
ALERTS_INDEX = "sessionwatch-alerts-default"
MUSTACHE_DELIMITERS = ("{{", "}}")
MAX_TEMPLATE_BYTES = 65535  # Elasticsearch's default script.max_size_in_bytes, which mustache obeys


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


TERMINABLE = "terminable"
MAX_TOP_HITS = 100  # index.max_inner_result_window's default


def terminable(
    query: dict[str, Any], shape: Shape, guard: dict[str, Any] | None, max_iterations: int
) -> tuple[dict[str, Any], str]:
    """The search body and the ``foreach`` path of the termination action: every hit (or session
    bucket), or, when a path segment comes from the event, only those whose values pass
    ``guard`` — a ``filter`` aggregation beside the alerts' own results (no script), so every
    alert is still written and only the call is left out."""
    if guard is None:
        return query, shape.items
    aggs = dict(query.get("aggs") or {})
    if shape.per_session:
        inner = {"groups": aggs["groups"]}
        foreach = f"ctx.payload.aggregations.{TERMINABLE}.groups.buckets"
    else:
        size = min(max_iterations, MAX_TOP_HITS)
        inner = {"hits": {"top_hits": {"size": size, "sort": query.get("sort", [])}}}
        foreach = f"ctx.payload.aggregations.{TERMINABLE}.hits.hits.hits"
    aggs[TERMINABLE] = {"filter": guard, "aggs": inner}
    return {**query, "aggs": aggs}, foreach


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
        query, foreach = terminable(query, shape, path_slot_guard(spec), options.max_iterations)
        terminate = watcher_action(
            spec,
            foreach=foreach,
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
    if len(body.encode("utf-8")) > MAX_TEMPLATE_BYTES:
        raise RenderError(
            f"the alert body exceeds script.max_size_in_bytes ({MAX_TEMPLATE_BYTES})",
            rule.location,
        )
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
