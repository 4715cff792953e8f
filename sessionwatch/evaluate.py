"""Evaluate rules against an index of enriched events, in Elasticsearch."""

from __future__ import annotations

from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from sessionwatch.alerts import alerts_from_response
from sessionwatch.renderer import Window, render_query
from sessionwatch.rules.errors import ElasticsearchUnavailable
from sessionwatch.rules.model import Rule


def evaluate(client: Elasticsearch, rule: Rule, index: str, window: Window) -> list[dict[str, Any]]:
    """The alerts ``rule`` raises on ``index`` over ``window``."""
    body = render_query(rule, window)
    try:
        response = client.search(index=index, body=body)
    except (ApiError, TransportError) as exc:
        raise ElasticsearchUnavailable(f"search for rule {rule.name} failed: {exc}") from None
    return alerts_from_response(rule, response.body)
