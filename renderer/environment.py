"""The one Jinja2 environment: sandboxed, immutable, strict; templates shape JSON only."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import PackageLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from sessionwatch.rules.durations import parse_duration


def scope_clause(item: dict[str, Any]) -> dict[str, Any]:
    """A rule scope filter as a Query DSL clause (values stay values: never spliced as text)."""
    field = item["field"]
    if "exists" in item:
        clause: dict[str, Any] = {"exists": {"field": field}}
        return clause if item["exists"] else {"bool": {"must_not": [clause]}}
    return {"terms": {field: list(item["any_of"])}}


@cache
def environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        loader=PackageLoader("sessionwatch.renderer", "templates"),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["seconds"] = lambda text: parse_duration(str(text))
    env.filters["scope_clause"] = scope_clause
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env
