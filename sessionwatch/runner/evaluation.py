"""One rule over one window, in Elasticsearch: the alerts, and how much was looked at."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import Elasticsearch

from sessionwatch.alerts import GROUPS_AGG, alerts_from_response
from sessionwatch.enrichers.events import get_path
from sessionwatch.renderer import Window, render_query
from sessionwatch.rules.identity import rule_hash as rule_hash  # re-exported: the runner's import
from sessionwatch.rules.model import Rule
from sessionwatch.runner.clock import iso, parse_iso


@dataclass(frozen=True)
class Evaluation:
    alerts: list[dict[str, Any]]
    matches: int  # hits.total of the rule's search
    examined: int  # documents in the rule's index inside the window
    truncated: bool = False  # more matches than could be paged through


def _total(response: dict[str, Any]) -> int:
    total = response.get("hits", {}).get("total", 0)
    return int(total["value"] if isinstance(total, dict) else total)


def alert_period(rule: Rule, window: Window) -> tuple[str, str]:
    """What per-entity (aggregation) alerts are de-duplicated over: the lookback-aligned period
    holding the window's end. Overlapping windows ending in the same period raise the same
    alert; an entity still in breach in the next period is raised again, once."""
    size = rule.schedule.lookback_seconds * 1000
    end = int(parse_iso(window.end).timestamp() * 1000)
    start = (end - 1) // size * size
    return iso(datetime.fromtimestamp(start / 1000, UTC)), iso(
        datetime.fromtimestamp((start + size) / 1000, UTC)
    )


def next_page(body: dict[str, Any], response: dict[str, Any]) -> dict[str, Any] | None:
    """The request for the next page: composite ``after`` for per-entity rules, ``search_after``
    for sorted hits; None when this was the last."""
    after = get_path(response, f"aggregations.{GROUPS_AGG}.after_key")
    if after is not None and get_path(response, f"aggregations.{GROUPS_AGG}.buckets"):
        following = copy.deepcopy(body)
        following["aggs"][GROUPS_AGG]["composite"]["after"] = after
        return following
    hits = response.get("hits", {}).get("hits", [])
    if hits and len(hits) >= int(body.get("size", 10)) and "sort" in body and "sort" in hits[-1]:
        return {**body, "search_after": hits[-1]["sort"]}
    return None


def evaluate_window(
    client: Elasticsearch, rule: Rule, index: str, window: Window, *, max_pages: int = 100
) -> Evaluation:
    """Run the rule's rendered search over ``window``, paging through every match (composite
    buckets or sorted hits); raises the client's errors unchanged."""
    body = render_query(rule, window)
    examined = client.count(
        index=index,
        query={"range": {"@timestamp": {"gte": window.start, "lt": window.end}}},
        ignore_unavailable=True,
        allow_no_indices=True,
    )["count"]
    period = alert_period(rule, window)
    alerts: dict[str, dict[str, Any]] = {}
    matches = 0
    for page in range(max_pages):
        response = client.search(index=index, body=body).body
        if page == 0:
            matches = _total(response)
        for alert in alerts_from_response(rule, response, period):
            alerts.setdefault(alert["event"]["id"], alert)
        following = next_page(body, response)
        if following is None:
            return Evaluation(list(alerts.values()), matches, int(examined))
        body = following
    return Evaluation(list(alerts.values()), matches, int(examined), truncated=True)
