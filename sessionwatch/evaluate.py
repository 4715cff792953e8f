"""Evaluate rules against an index of enriched events, in Elasticsearch."""

from __future__ import annotations

import copy
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from sessionwatch.alerts import GROUPS_AGG, alerts_from_response
from sessionwatch.enrichers.events import get_path
from sessionwatch.renderer import Window, render_query
from sessionwatch.renderer.render import DEFAULT_MAX_HITS
from sessionwatch.rules.errors import ElasticsearchUnavailable
from sessionwatch.rules.model import Rule

MAX_PAGES = 1000


def _search(client: Elasticsearch, rule: Rule, index: str, body: dict[str, Any]) -> dict[str, Any]:
    try:
        response: dict[str, Any] = client.search(
            index=index, body=body, allow_partial_search_results=False
        ).body
    except (ApiError, TransportError) as exc:
        raise ElasticsearchUnavailable(f"search for rule {rule.name} failed: {exc}") from None
    return response


def evaluate(
    client: Elasticsearch, rule: Rule, index: str, window: Window, *, page_size: int = DEFAULT_MAX_HITS
) -> list[dict[str, Any]]:
    """The alerts ``rule`` raises on ``index`` over ``window`` (composite results paged through)."""
    body = render_query(rule, window, max_hits=page_size)
    bounds = (window.start, window.end)
    alerts: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        response = _search(client, rule, index, body)
        alerts += alerts_from_response(rule, response, bounds)
        after = get_path(response, f"aggregations.{GROUPS_AGG}.after_key")
        if after is None or not get_path(response, f"aggregations.{GROUPS_AGG}.buckets"):
            return alerts
        body = copy.deepcopy(body)
        body["aggs"][GROUPS_AGG]["composite"]["after"] = after
    raise ElasticsearchUnavailable(f"rule {rule.name}: more than {MAX_PAGES} pages of results")
