"""One rule over one window, in Elasticsearch: the alerts, and how much was looked at."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from sessionwatch.alerts import alerts_from_response
from sessionwatch.renderer import Window, render_query
from sessionwatch.rules.model import Rule


@dataclass(frozen=True)
class Evaluation:
    alerts: list[dict[str, Any]]
    matches: int  # hits.total of the rule's search
    examined: int  # documents in the rule's index inside the window
    truncated: bool = False  # more matches than could be paged through


def rule_hash(rule: Rule) -> str:
    """``sha256:<hex>`` of the rule file's bytes: which exact policy text was enforced."""
    try:
        data = Path(rule.source).read_bytes()
    except OSError:
        data = repr(rule).encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _total(response: dict[str, Any]) -> int:
    total = response.get("hits", {}).get("total", 0)
    return int(total["value"] if isinstance(total, dict) else total)


def evaluate_window(
    client: Elasticsearch, rule: Rule, index: str, window: Window, *, max_pages: int = 100
) -> Evaluation:
    """Run the rule's rendered search over ``window``, paging with ``search_after`` through
    every match when the search is sorted; raises the client's errors unchanged."""
    body = render_query(rule, window)
    examined = client.count(
        index=index,
        query={"range": {"@timestamp": {"gte": window.start, "lt": window.end}}},
        ignore_unavailable=True,
        allow_no_indices=True,
    )["count"]
    response = client.search(index=index, body=body).body
    matches = _total(response)
    alerts: dict[str, dict[str, Any]] = {}
    truncated = False
    for _ in range(max_pages):
        for alert in alerts_from_response(rule, response):
            alerts.setdefault(alert["event"]["id"], alert)
        hits = response.get("hits", {}).get("hits", [])
        size = int(body.get("size", 10))
        seen = sum(1 for _ in hits)
        if not hits or seen < size or "sort" not in body or "sort" not in hits[-1]:
            break
        response = client.search(index=index, body={**body, "search_after": hits[-1]["sort"]}).body
    else:
        truncated = True
    return Evaluation(list(alerts.values()), matches, int(examined), truncated)
