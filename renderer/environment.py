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


def outside_of(values: list[Any], field: str) -> dict[str, Any]:
    """Events whose ``field`` is present and not among ``values`` (CIDRs work on ``ip`` fields)."""
    return {
        "bool": {"filter": [{"exists": {"field": field}}], "must_not": [{"terms": {field: list(values)}}]}
    }


def days(text: str) -> float:
    """A duration parameter in days (``90d`` → 90.0), for facts counted in days."""
    return parse_duration(str(text)) / 86400


def minus(instant: str, seconds: int) -> str:
    """Date math: ``seconds`` before ``instant`` (``now`` or an ISO-8601 instant)."""
    if instant.startswith("now"):
        return f"{instant}-{int(seconds)}s"
    return f"{instant}||-{int(seconds)}s"


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
    env.filters["outside_of"] = outside_of
    env.filters["days"] = days
    env.filters["minus"] = minus
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    return env
