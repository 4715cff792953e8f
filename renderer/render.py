"""Render rules to targets. ``render()`` parses its own output and returns a dict."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import TemplateError, TemplateNotFound

from sessionwatch.renderer.environment import environment
from sessionwatch.rules.durations import format_duration
from sessionwatch.rules.errors import RenderError
from sessionwatch.rules.model import Rule

DEFAULT_MAX_HITS = 1000
# Query DSL and aggregation keys that would need a scripting engine; rules must stay scriptless.
SCRIPT_KEYS = frozenset(
    {
        "script",
        "script_score",
        "scripted_metric",
        "bucket_script",
        "bucket_selector",
        "runtime_mappings",
        "script_fields",
    }
)


@dataclass(frozen=True)
class Window:
    """The time window a search covers: ISO-8601 instants or Elasticsearch date math."""

    start: str
    end: str

    @classmethod
    def trailing(cls, rule: Rule) -> Window:
        return cls(f"now-{format_duration(rule.schedule.lookback_seconds)}", "now")


def _script_keys(node: Any, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in SCRIPT_KEYS:
                yield f"{path}/{key}"
            yield from _script_keys(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _script_keys(value, f"{path}/{i}")


def render_query(
    rule: Rule, window: Window | None = None, max_hits: int = DEFAULT_MAX_HITS
) -> dict[str, Any]:
    """The scriptless Query DSL search body for ``rule`` over ``window``."""
    window = window or Window.trailing(rule)
    name = rule.spec.template
    try:
        template = environment().get_template(name)
        text = template.render(
            rule=rule.as_template_context(),
            window={"start": window.start, "end": window.end},
            max_hits=max_hits,
        )
    except TemplateNotFound:
        raise RenderError(f"no query template for kind {rule.kind.value!r}", rule.locate("/kind")) from None
    except (TemplateError, ValueError, TypeError, ArithmeticError) as exc:  # filters raise plain errors
        raise RenderError(f"template {name} failed: {exc}", rule.location) from None
    try:
        body: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RenderError(f"template {name} produced invalid JSON: {exc}", rule.location) from None
    scripted = list(_script_keys(body))
    if scripted:
        raise RenderError(f"rendered query uses scripts at {', '.join(scripted)}", rule.location)
    return body


Target = Callable[[Rule], dict[str, Any]]


def _watcher(rule: Rule) -> dict[str, Any]:
    from sessionwatch.renderer.watcher import render_watch  # imports this module

    return render_watch(rule)


def _kibana(rule: Rule) -> dict[str, Any]:
    from sessionwatch.renderer.kibana import render_kibana_rule  # imports this module

    return render_kibana_rule(rule)


TARGETS: dict[str, tuple[str, Target]] = {
    "query": ("Scriptless Query DSL search body over the rule's trailing window", render_query),
    "watcher": ("Watcher watch (PUT _watcher/watch), ${NAME} placeholders filled by deploy", _watcher),
    "kibana": ("Elastic Security detection rule (Kibana import format)", _kibana),
}


def render(rule: Rule, target: str = "query") -> dict[str, Any]:
    """Render ``rule`` to ``target`` (see ``TARGETS``)."""
    if target not in TARGETS:
        raise RenderError(f"unknown target {target!r}; known: {', '.join(sorted(TARGETS))}")
    return TARGETS[target][1](rule)
