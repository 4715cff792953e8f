"""One rule over one window, in Elasticsearch: the alerts, and how much was looked at.

The one evaluation path of sessionwatch: ``run``, ``detect``, ``test`` (the fixture harness) and
the benchmarks all call ``evaluate_window``. It pages through every match (composite ``after``
for per-entity kinds, ``search_after`` for per-event kinds), so no alert is lost to a page size.

Alert identity is a property of the data, never of the window, so evaluating ``[A, B)`` at once
gives the same alerts (same ids) as the runner's windows walked over ``[A, B)`` (docs/runner.md,
"Alert identity"):

* per event (idle timeout, renewal outside the workflow): rule + session + event;
* per session or token (lifetime, post-logout, revoked/expired use, bindings, request pattern,
  token lifetime): rule + session/token; the first offending event is the evidence;
* inactive-account use: rule + account + session (each session of a disabled account is one
  finding; sign-ins without a session share one);
* concurrency: rule + account + the ``within``-long period (aligned to the epoch) in which more
  than ``max_sessions`` sessions were active. The search's start is widened to the start of its
  first period, so every evaluation of a period counts it from its first event.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from elasticsearch import Elasticsearch

from sessionwatch.alerts import GROUPS_AGG, alerts_from_response
from sessionwatch.enrichers.events import get_path
from sessionwatch.es import Backoff, retrying, shards_moving
from sessionwatch.renderer import Window, render_query
from sessionwatch.renderer.render import DEFAULT_MAX_HITS
from sessionwatch.rules.identity import rule_hash as rule_hash  # re-exported: the runner's import
from sessionwatch.rules.model import Rule
from sessionwatch.runner.clock import iso, parse_iso

T = TypeVar("T")


@dataclass(frozen=True)
class Evaluation:
    alerts: list[dict[str, Any]]
    matches: int  # hits.total of the rule's search
    examined: int  # documents in the rule's index inside the window
    truncated: bool = False  # more matches than could be paged through


def _total(response: dict[str, Any]) -> int:
    total = response.get("hits", {}).get("total", 0)
    return int(total["value"] if isinstance(total, dict) else total)


def period_seconds(rule: Rule) -> int | None:
    """The length of the periods a threshold kind counts in (None: the kind has none)."""
    return rule.spec.period_seconds(rule.params)


def search_window(rule: Rule, window: Window) -> Window:
    """The window actually searched: ``window``, its start widened to the start of its first
    period for kinds that count per period (so a period is never half counted)."""
    size = period_seconds(rule)
    if size is None:
        return window
    start_ms = int(parse_iso(window.start).timestamp() * 1000)
    floor = start_ms // (size * 1000) * size * 1000
    return Window(iso(datetime.fromtimestamp(floor / 1000, UTC)), window.end)


def search_body(rule: Rule, window: Window, page_size: int = DEFAULT_MAX_HITS) -> dict[str, Any]:
    """The rendered search for ``window`` (widened to its first period for period kinds); the
    grouping that gives alerts their identity is the kind template's own, the same every target
    renders."""
    return render_query(rule, search_window(rule, window), max_hits=page_size)


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


def _search(client: Elasticsearch, index: str, body: dict[str, Any]) -> dict[str, Any]:
    # a shard that fails mid-search (a node dying) must fail the window, not drop its hits
    response: dict[str, Any] = client.search(index=index, body=body, allow_partial_search_results=False).body
    return response


def _attempt(request: Callable[[], T], what: str, retry: Backoff | None) -> T:
    """``request()``: once without ``retry``, else retried with it through a node restart or
    pause (``retrying``)."""
    return request() if retry is None else retrying(request, what, retry)


def evaluate_window(
    client: Elasticsearch,
    rule: Rule,
    index: str,
    window: Window,
    *,
    max_pages: int | None = 100,
    page_size: int = DEFAULT_MAX_HITS,
    retry: Backoff | None = None,
) -> Evaluation:
    """Run the rule's search over ``window``, paging through every match (``max_pages`` None:
    no limit). Without ``retry`` the client's errors are raised unchanged (the runner retries
    the whole window); with it each request is retried through a node restart or pause."""

    def call(what: str, request: Callable[[], T]) -> T:
        return _attempt(request, f"{what} for rule {rule.name}", retry)

    body = search_body(rule, window, page_size)
    examined = call(
        "count",
        lambda: client.count(
            index=index,
            query={"range": {"@timestamp": {"gte": window.start, "lt": window.end}}},
            ignore_unavailable=True,
            allow_no_indices=True,
        )["count"],
    )
    alerts: dict[str, dict[str, Any]] = {}
    matches = 0
    page = 0
    while max_pages is None or page < max_pages:
        response = call("search", partial(_search, client, index, body))
        if page == 0:
            matches = _total(response)
        for alert in alerts_from_response(rule, response):
            alerts.setdefault(alert["event"]["id"], alert)
        following = next_page(body, response)
        if following is None:
            return Evaluation(list(alerts.values()), matches, int(examined))
        body = following
        page += 1
    return Evaluation(list(alerts.values()), matches, int(examined), truncated=True)


@dataclass(frozen=True)
class Request:
    """One rule over one window of one index (or filtered alias), for ``evaluate_many``."""

    rule: Rule
    index: str
    window: Window


def evaluate_many(
    client: Elasticsearch, requests: list[Request], *, retry: Backoff | None = None
) -> list[list[dict[str, Any]] | str]:
    """The alerts of each request (or the error text of its search): the first pages of all of
    them in one ``_msearch``, further pages one search each, the same way ``evaluate_window``
    pages (same bodies, same alert identities)."""
    bodies = [search_body(r.rule, r.window) for r in requests]
    lines: list[dict[str, Any]] = []
    for request, body in zip(requests, bodies, strict=True):
        lines += [{"index": request.index}, body]

    def msearch() -> list[dict[str, Any]]:
        responses: list[dict[str, Any]] = client.msearch(searches=lines).body["responses"]
        return responses

    def search(index: str, body: dict[str, Any]) -> dict[str, Any]:
        return _attempt(partial(_search, client, index, body), "search", retry)

    responses = _attempt(msearch, "multi-search", retry)
    results: list[list[dict[str, Any]] | str] = []
    for request, body, response in zip(requests, bodies, responses, strict=True):
        if "error" in response:
            error = response["error"]
            if retry is None or not shards_moving(error):
                results.append(str(error.get("type", error) if isinstance(error, dict) else error))
                continue
            # its shards failed for a restarting node, not for the search: once more on its own
            response = search(request.index, body)
        alerts: dict[str, dict[str, Any]] = {}
        page: dict[str, Any] | None = response
        while page is not None:
            for alert in alerts_from_response(request.rule, page):
                alerts.setdefault(alert["event"]["id"], alert)
            body_next = next_page(body, page)
            if body_next is None:
                break
            body = body_next
            page = search(request.index, body)
        results.append(list(alerts.values()))
    return results
