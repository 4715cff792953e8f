"""``sessionwatch detect``: evaluate every rule, print alerts as NDJSON on stdout."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from sessionwatch.bulk import index_documents
from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.engine import parse_timestamp
from sessionwatch.enrichers.events import get_path
from sessionwatch.es import connect
from sessionwatch.evaluate import evaluate
from sessionwatch.harness import create_events_index
from sessionwatch.renderer import Window
from sessionwatch.rule_sources import load_selected
from sessionwatch.rules.errors import SessionwatchError
from sessionwatch.rules.instants import iso
from sessionwatch.rules.model import Rule, parse_time


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("detect", help="evaluate rules and print alerts as NDJSON")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--events",
        nargs="+",
        metavar="FILE",
        help="raw NDJSON events: enriched, loaded into a temporary index, evaluated",
    )
    source.add_argument("--index", metavar="PATTERN", help="an index of enriched events")
    parser.add_argument("--es-url", help="cluster URL (default: $SESSIONWATCH_ES_URL)")
    parser.add_argument("--ca-certs", help="CA bundle for a TLS cluster")
    parser.add_argument(
        "--rules",
        nargs="+",
        default=[],
        metavar="PATH",
        help="rule files or directories (default: installed packs)",
    )
    parser.add_argument("--profile", help="force one input profile (with --events)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--at", help="evaluation time: each rule looks back its lookback from here")
    when.add_argument("--from", dest="start", help="window start (ISO-8601); needs --to")
    parser.add_argument("--to", dest="end", help="window end (ISO-8601)")
    parser.set_defaults(run=run)


def _load_events(client: Elasticsearch, files: list[str], profile: str | None) -> tuple[str, float, float]:
    profiles = ProfileRegistry.discover()
    engine = Engine(profiles, discover_enrichers(), forced_profile=profiles.get(profile) if profile else None)
    docs: list[dict[str, Any]] = []
    for name in files:
        with Path(name).open("rb") as handle:
            for out in engine.process(handle):
                if out.dead is not None:
                    print(f"{name}:{out.dead.line}: skipped: {out.dead.reason}", file=sys.stderr)
                elif out.enriched and out.doc is not None:
                    docs.append(out.doc)
    print(f"detect: {engine.counts.line()}", file=sys.stderr)
    if not docs:
        raise SessionwatchError("no event could be enriched: nothing to evaluate")
    index = f"sessionwatch-detect-{uuid.uuid4().hex[:12]}"
    create_events_index(client, index)
    report = index_documents(client, index, ((d["sessionwatch"]["event"]["id"], d) for d in docs))
    if not report.ok:
        client.indices.delete(index=index, ignore_unavailable=True)
        raise SessionwatchError(
            f"{len(report.failed)} events were rejected by Elasticsearch: {report.failed[0]}"
        )
    stamps = [parse_timestamp(get_path(d, "@timestamp")) for d in docs]
    return index, min(stamps), max(stamps)


def _window(rule: Rule, args: argparse.Namespace, span: tuple[float, float] | None) -> Window:
    if args.start:
        return Window(iso(parse_time(args.start)), iso(parse_time(args.end)))
    if args.at:
        end = parse_time(args.at)
        return Window(iso(end - timedelta(seconds=rule.schedule.lookback_seconds)), iso(end))
    if span is not None:  # the whole file
        first, last = span
        return Window(
            iso(datetime.fromtimestamp(first, UTC)),
            iso(datetime.fromtimestamp(last, UTC) + timedelta(milliseconds=1)),
        )
    return Window.trailing(rule)


def run(args: argparse.Namespace) -> int:
    if bool(args.start) != bool(args.end):
        raise SessionwatchError("--from and --to go together")
    rules = load_selected(args.rules, include_deprecated=False)
    client = connect(args.es_url, ca_certs=args.ca_certs)
    span: tuple[float, float] | None = None
    if args.events:
        index, first, last = _load_events(client, args.events, args.profile)
        span = (first, last)
    else:
        index = args.index
    try:
        alerts = [
            alert for rule in rules for alert in evaluate(client, rule, index, _window(rule, args, span))
        ]
    finally:
        if args.events:
            client.indices.delete(index=index, ignore_unavailable=True)
    alerts.sort(key=lambda a: (str(a["@timestamp"]), a["rule"]["name"], a["event"]["id"]))
    for alert in alerts:
        print(json.dumps(alert, sort_keys=True, ensure_ascii=False))
    print(f"detect: {len(alerts)} alerts from {len(rules)} rules", file=sys.stderr)
    return 1 if alerts else 0
