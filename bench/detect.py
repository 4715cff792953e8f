"""Measurement 3: detection latency in Elasticsearch at 1 M and 5 M enriched events.

For each size: every rule of the installed pack is evaluated with ``evaluate_window``
(the runner's path, which ``detect`` and ``test`` use too)
(render, search, page through composite groups, build alerts) ``reps`` times over the whole
dataset (the worst case: every event is inside the window), median and p95; then all rules
together in one ``_msearch``; then the same multi-search with each rule's own scheduled
lookback ending at the newest event (what a runner does every few minutes). The shard request
cache is switched off on the benchmark indices, so repeated runs measure the search, not a cache.

The naive alternative (``bench.naive``) runs in the same process right after, over the same
window, and must reach the same alerts; the ratio of the two is reported.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import Elasticsearch

from bench.common import Section, banner, median, p95, workload_file
from bench.load import detection_index
from bench.naive import Unsupported, run_naive
from bench.workload import Spec
from sessionwatch.renderer import Window
from sessionwatch.rule_sources import load_selected
from sessionwatch.rules.instants import iso
from sessionwatch.rules.model import Rule
from sessionwatch.runner.evaluation import evaluate_window, search_body

TARGET_ALL_RULES_S = 1.0


def full_window(client: Elasticsearch, index: str) -> tuple[Window, datetime]:
    aggs = {"first": {"min": {"field": "@timestamp"}}, "last": {"max": {"field": "@timestamp"}}}
    response = client.search(index=index, size=0, aggs=aggs).body["aggregations"]
    first = datetime.fromtimestamp(response["first"]["value"] / 1000, UTC)
    last = datetime.fromtimestamp(response["last"]["value"] / 1000, UTC) + timedelta(milliseconds=1)
    return Window(iso(first), iso(last)), last


def _msearch(
    client: Elasticsearch, index: str, bodies: list[dict[str, Any]], tooks: list[list[int]] | None = None
) -> tuple[float, int, int]:
    """Wall seconds, the slowest ``took``, failures; each search's ``took`` appended to ``tooks``."""
    searches: list[dict[str, Any]] = []
    for body in bodies:
        searches += [{"index": index}, body]
    started = time.perf_counter()
    response = client.options(request_timeout=600).msearch(searches=searches).body
    wall = time.perf_counter() - started
    failed = sum(1 for r in response["responses"] if "error" in r)
    if tooks is not None:
        for slot, item in zip(tooks, response["responses"], strict=True):
            slot.append(int(item.get("took", 0)))
    return wall, max(r.get("took", 0) for r in response["responses"]), failed


def _scheduled_flags(
    client: Elasticsearch, index: str, rules: list[Rule], manifest: dict[str, Any], kind: str
) -> set[str]:
    """Accounts flagged by ``kind`` rules run as scheduled shortly after each injected violation.

    Concurrency is judged at the end of a window (sessions active in its last minutes), so a
    whole-dataset window only sees the final minutes; a runner sees every moment.
    """
    flagged: set[str] = set()
    chosen = [r for r in rules if r.kind.value == kind]
    for item in manifest["violations"]:
        if item["kind"] != kind:
            continue
        hit = client.search(index=index, size=1, query={"term": {"event.id": item["event_id"]}}).body
        if not hit["hits"]["hits"]:
            continue
        stamp = datetime.fromisoformat(hit["hits"]["hits"][0]["_source"]["@timestamp"].replace("Z", "+00:00"))
        end = stamp + timedelta(minutes=5)
        for rule in chosen:
            window = Window(iso(end - timedelta(seconds=rule.schedule.lookback_seconds)), iso(end))
            for alert in evaluate_window(client, rule, index, window, max_pages=None).alerts:
                flagged.add(str(alert.get("user", {}).get("name")))
    return flagged


def _recall(
    alerts: dict[str, list[dict[str, Any]]],
    rules: list[Rule],
    manifest: dict[str, Any],
    extra: dict[str, set[str]],
) -> dict[str, Any]:
    """Per kind: injected violations and how many a rule of that kind flagged."""
    flagged: dict[str, set[str]] = defaultdict(set, {k: set(v) for k, v in extra.items()})
    for rule in rules:
        for alert in alerts.get(rule.name, []):
            sw = alert.get("sessionwatch", {})
            flagged[rule.kind.value].add(str(sw.get("session", {}).get("id")))
            flagged[rule.kind.value].add(str(alert.get("user", {}).get("name")))
    out: dict[str, Any] = {}
    for item in manifest["violations"]:
        row = out.setdefault(item["kind"], {"injected": 0, "detected": 0})
        row["injected"] += 1
        key = item["user"] if item["kind"] == "session_concurrency" else item["session"]
        row["detected"] += key in flagged[item["kind"]]
    return out


def detection(client: Elasticsearch, events: int, reps: int, *, naive: bool) -> Section:
    section = Section(f"detect_{events}")
    banner(f"3. detection on {events:,} enriched events")
    index, meta = detection_index(client, events)
    _, manifest = workload_file(Spec(events=events))
    client.indices.put_settings(index=index, settings={"index.requests.cache.enable": False})
    section.put("index_loaded_at", meta.get("loaded_at"))
    section.put("index_enriched_by_commit", meta.get("commit"))
    section.put("index_load_seconds", meta.get("load_seconds"))
    segments = client.indices.segments(index=index).body["indices"][index]["shards"]["0"][0][
        "num_committed_segments"
    ]
    section.put("segments", segments)
    rules = load_selected([], include_deprecated=False)
    window, last = full_window(client, index)
    section.put("rules", len(rules))
    section.put("window", f"{window.start} .. {window.end}")

    bodies = [search_body(rule, window) for rule in rules]
    _msearch(client, index, bodies)  # warm-up: first touch of every field
    per_rule: dict[str, dict[str, float]] = {}
    alerts: dict[str, list[dict[str, Any]]] = {}
    for rule in rules:
        times = []
        for _ in range(reps):
            started = time.perf_counter()
            alerts[rule.name] = evaluate_window(client, rule, index, window, max_pages=None).alerts
            times.append(time.perf_counter() - started)
        per_rule[rule.name] = {
            "median_ms": round(median(times) * 1000, 1),
            "p95_ms": round(p95(times) * 1000, 1),
            "alerts": len(alerts[rule.name]),
        }
        row = per_rule[rule.name]
        print(
            f"    {rule.name:<44} median {row['median_ms']:8.1f} ms  p95 {row['p95_ms']:8.1f} ms  "
            f"alerts {row['alerts']}",
            flush=True,
        )
    section.figures["per_rule"] = per_rule
    section.put("sum_of_rule_medians_ms", round(sum(r["median_ms"] for r in per_rule.values()), 1))

    walls, tooks = [], []
    per_search: list[list[int]] = [[] for _ in bodies]
    for _ in range(reps):
        wall, took, failed = _msearch(client, index, bodies, per_search)
        if failed:
            raise RuntimeError(f"{failed} searches of the multi-search failed")
        walls.append(wall)
        tooks.append(took)
    section.put("msearch_all_median_ms", round(median(walls) * 1000, 1), "all rules, one _msearch, median ms")
    section.put("msearch_all_p95_ms", round(p95(walls) * 1000, 1), "all rules, one _msearch, p95 ms")
    section.put("msearch_slowest_took_median_ms", median(tooks), "slowest search inside it (took), median ms")
    section.put("target_all_rules_ms", TARGET_ALL_RULES_S * 1000)
    for rule, took_list in zip(rules, per_search, strict=True):
        per_rule[rule.name]["took_in_msearch_median_ms"] = median(took_list)

    scheduled = [
        search_body(r, Window(iso(last - timedelta(seconds=r.schedule.lookback_seconds)), iso(last)))
        for r in rules
    ]
    walls = [_msearch(client, index, scheduled)[0] for _ in range(reps)]
    section.put(
        "msearch_scheduled_median_ms",
        round(median(walls) * 1000, 1),
        "all rules, own lookback windows, _msearch median ms",
    )
    section.put("msearch_scheduled_p95_ms", round(p95(walls) * 1000, 1))
    section.put("total_alerts", sum(len(a) for a in alerts.values()))
    concurrency = _scheduled_flags(client, index, rules, manifest, "session_concurrency")
    section.put("recall_by_kind", _recall(alerts, rules, manifest, {"session_concurrency": concurrency}))
    section.note("session_concurrency recall is measured with scheduled windows at each violation")

    if naive:
        try:
            result = run_naive(client, index, rules, window)
        except Unsupported as exc:
            section.note(f"naive alternative not run: the interpreter lacks {exc}")
            return section
        same = {
            name: sorted(a["event"]["id"] for a in alerts[name])
            == sorted(a["event"]["id"] for a in result.alerts.get(name, []))
            for name in alerts
        }
        section.put("naive_events_pulled", result.events)
        section.put("naive_seconds", round(result.seconds, 1), "naive (pull + enrich + evaluate) s")
        es_all = section.figures["msearch_all_median_ms"] / 1000
        section.put("naive_over_msearch", round(result.seconds / es_all, 1), "naive / one _msearch")
        evaluate_all = section.figures["sum_of_rule_medians_ms"] / 1000
        section.put(
            "naive_over_evaluate_all",
            round(result.seconds / evaluate_all, 1),
            "naive / evaluate() of every rule",
        )
        section.put("naive_same_verdicts", all(same.values()), "same alerts as Elasticsearch")
        differing = [name for name, ok in same.items() if not ok]
        if differing:
            section.note(f"verdicts differ for: {', '.join(differing)}")
    return section
