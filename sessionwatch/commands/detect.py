"""``sessionwatch detect``: evaluate every rule, print alerts as NDJSON on stdout.

Evaluation is the runner's (``sessionwatch.runner.evaluation``): every page of matches, the same
alert identities, searches retried through a node restart. With ``--events`` the files are
enriched (lateness absorbed like ``enrich``), every enriched event is indexed into a temporary
index under its own id (indexed = enriched, checked), and what the engine or Elasticsearch
rejects goes to the dead letter with its reason and ``file:line``; the rest is still evaluated.
An event with a field Elasticsearch would refuse is indexed without it (the engine records the
original) and named on stderr as ``file:line: repaired: …``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from elasticsearch import Elasticsearch

from sessionwatch.bulk import document_id, index_documents
from sessionwatch.commands.skipped import SkippedRules
from sessionwatch.enrichers import Engine, EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.admission import ORIGINAL_VALUES
from sessionwatch.enrichers.engine import parse_timestamp
from sessionwatch.enrichers.events import get_path
from sessionwatch.es import COMMAND_RETRY, connect
from sessionwatch.indices import temporary_events_index
from sessionwatch.renderer import Window
from sessionwatch.repairs import refused_fields, repaired_fields
from sessionwatch.reports import alerts_table, human
from sessionwatch.reports.human import plural
from sessionwatch.rule_sources import load_selected
from sessionwatch.rules.durations import parse_duration
from sessionwatch.rules.errors import SessionwatchError
from sessionwatch.rules.instants import iso
from sessionwatch.rules.model import Rule, parse_time
from sessionwatch.runner.clock import utc_now
from sessionwatch.runner.evaluation import evaluate_window

DEFAULT_REORDER_WINDOW = 60.0  # the same default as ``enrich``
DEFAULT_DEAD_LETTER = "dead-letter.ndjson"
TEMP_PREFIX = "sessionwatch-detect-"


def _seconds(text: str) -> float:
    try:
        return float(parse_duration(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    parser.add_argument(
        "--reorder-window",
        type=_seconds,
        default=DEFAULT_REORDER_WINDOW,
        metavar="DURATION",
        help="lateness absorbed by reordering (with --events), e.g. 60s, 5m; 0 = input order (default: 60s)",
    )
    parser.add_argument(
        "--dead-letter",
        default=DEFAULT_DEAD_LETTER,
        metavar="FILE",
        help=f"where rejected events go, with reason and file:line (default: {DEFAULT_DEAD_LETTER})",
    )
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--at", help="evaluation time: each rule looks back its lookback from here")
    when.add_argument("--from", dest="start", help="window start (ISO-8601); needs --to")
    parser.add_argument("--to", dest="end", help="window end (ISO-8601)")
    parser.add_argument(
        "--format",
        choices=alerts_table.FORMATS,
        help="table (default on a terminal), ndjson (default when piped) or json",
    )
    parser.set_defaults(run=run)


@dataclass
class Loaded:
    """What ``--events`` put into the temporary index."""

    stamps: list[float] = field(default_factory=list)  # @timestamp of every indexed event
    enriched: int = 0
    rejected: int = 0  # by the engine or by Elasticsearch

    @property
    def span(self) -> tuple[float, float] | None:
        return (min(self.stamps), max(self.stamps)) if self.stamps else None


class DeadLetters:
    """The dead-letter file, opened on the first reject; every reject also named on stderr."""

    def __init__(self, path: Path, stack: ExitStack) -> None:
        self.path, self.stack = path, stack
        self.count = 0
        self._file: IO[str] | None = None

    def add(self, origin: str, reason: str, raw: str) -> None:
        if self._file is None:
            self._file = self.stack.enter_context(self.path.open("w", encoding="utf-8"))
        self.count += 1
        self._file.write(
            json.dumps({"origin": origin, "reason": reason, "raw": raw}, ensure_ascii=False) + "\n"
        )
        print(f"{origin}: rejected: {reason}", file=sys.stderr)


class Repairs:
    """Events indexed with a field dropped or rewritten (Elasticsearch would refuse it as
    written): each named on stderr with its ``file:line`` and fields, up to ``SHOWN``."""

    SHOWN = 20

    def __init__(self) -> None:
        self.count = 0

    def add(self, origin: str, doc: dict[str, Any]) -> None:
        if not repaired_fields(doc):
            return
        self.count += 1
        if self.count <= self.SHOWN:
            print(f"{origin}: repaired: {refused_fields(doc)}", file=sys.stderr)

    def report(self) -> None:
        if self.count > self.SHOWN:
            print(f"detect: … and {self.count - self.SHOWN} more repaired events", file=sys.stderr)
        if self.count:
            print(
                f"detect: {plural(self.count, 'event')} indexed and evaluated without the fields "
                f"Elasticsearch would refuse; each keeps them in {ORIGINAL_VALUES}",
                file=sys.stderr,
            )


def _load_events(client: Elasticsearch, index: str, args: argparse.Namespace, dead: DeadLetters) -> Loaded:
    profiles = ProfileRegistry.discover()
    engine = Engine(
        profiles,
        discover_enrichers(),
        forced_profile=profiles.get(args.profile) if args.profile else None,
        options=EngineOptions(reorder_window=args.reorder_window),
    )
    docs: dict[str, tuple[dict[str, Any], str, str]] = {}  # id -> (document, file:line, raw)
    repairs = Repairs()
    for name in args.events:
        with Path(name).open("rb") as handle:
            for out in human.with_progress(
                engine.process(handle), f"detect: reading {name}", None, sys.stderr
            ):
                if out.dead is not None:
                    dead.add(f"{name}:{out.dead.line}", out.dead.reason, out.dead.raw)
                elif out.enriched and out.doc is not None:
                    docs.setdefault(document_id(out.doc), (out.doc, f"{name}:{out.line}", out.raw or ""))
                    repairs.add(f"{name}:{out.line}", out.doc)
    print(f"detect: {engine.counts.line()}", file=sys.stderr)
    repairs.report()
    for hint in engine.counts.profiles.hints(profiles.names):  # the same hints as enrich
        print(f"detect: {hint}", file=sys.stderr)
    loaded = Loaded(enriched=engine.counts.enriched)
    report = index_documents(client, index, ((key, doc) for key, (doc, _, _) in docs.items()))
    rejected = {str(item["id"]): item for item in report.failed}
    for key, item in rejected.items():
        _, origin, raw = docs[key]
        dead.add(origin, f"Elasticsearch rejected it: HTTP {item['status']} {item['error']}", raw)
    loaded.rejected = len(rejected)
    loaded.stamps = [
        parse_timestamp(get_path(doc, "@timestamp"))
        for key, (doc, _, _) in docs.items()
        if key not in rejected
    ]
    duplicates = loaded.enriched - len(docs)
    print(
        f"detect: indexed {report.indexed} of {loaded.enriched} enriched events"
        + (f" ({duplicates} exact duplicates kept once)" if duplicates else "")
        + (f", {len(rejected)} rejected by Elasticsearch" if rejected else ""),
        file=sys.stderr,
    )
    if report.indexed + len(rejected) != len(docs):  # a bug, never a user mistake: say so loudly
        raise SessionwatchError(
            f"indexed {report.indexed} + rejected {len(rejected)} != {len(docs)} events sent"
        )
    return loaded


def _window(rule: Rule, args: argparse.Namespace, span: tuple[float, float] | None, now: datetime) -> Window:
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
    return Window(iso(now - timedelta(seconds=rule.schedule.lookback_seconds)), iso(now))


def _warn_if_outside(loaded: Loaded, windows: list[Window], args: argparse.Namespace) -> None:
    """``--at`` on a file whose events mostly lie outside every rule's lookback: say so."""
    if not args.at or not loaded.stamps:
        return
    bounds = [(parse_time(w.start).timestamp(), parse_time(w.end).timestamp()) for w in windows]
    looked_at = sum(any(start <= stamp < end for start, end in bounds) for stamp in loaded.stamps)
    if looked_at * 2 < len(loaded.stamps):
        longest = max((end - start for start, end in bounds), default=0.0)
        print(
            f"detect: warning: only {looked_at} of the {len(loaded.stamps)} events in the input lie "
            f"inside a rule's window (--at {args.at} looks back at most {longest / 3600:g} h); "
            "use --from/--to, or leave out --at to evaluate the whole file",
            file=sys.stderr,
        )


@contextmanager
def _events_index(client: Elasticsearch, args: argparse.Namespace) -> Iterator[str]:
    if args.events:
        with temporary_events_index(client, TEMP_PREFIX) as index:
            yield index
    else:
        yield args.index


def _print_alerts(alerts: list[dict[str, Any]], args: argparse.Namespace) -> None:
    alerts_table.write_alerts(
        alerts, args.format, lambda: load_selected(args.rules, include_deprecated=False), sys.stdout
    )


def run(args: argparse.Namespace) -> int:
    if bool(args.start) != bool(args.end):
        raise SessionwatchError("--from and --to go together")
    skipped = SkippedRules("detect")
    rules = load_selected(args.rules, include_deprecated=False, on_error=skipped)
    client = connect(args.es_url, ca_certs=args.ca_certs)
    now = utc_now()
    with ExitStack() as stack:
        dead = DeadLetters(Path(args.dead_letter), stack)
        index = stack.enter_context(_events_index(client, args))
        loaded = _load_events(client, index, args, dead) if args.events else Loaded()
        if args.events and not loaded.stamps:
            raise SessionwatchError("no event could be enriched and indexed: nothing to evaluate")
        windows = [_window(rule, args, loaded.span, now) for rule in rules]
        _warn_if_outside(loaded, windows, args)
        alerts: list[dict[str, Any]] = []
        pairs = list(zip(rules, windows, strict=True))
        for rule, window in human.with_progress(pairs, "detect: rules evaluated", len(pairs), sys.stderr):
            result = evaluate_window(client, rule, index, window, max_pages=None, retry=COMMAND_RETRY)
            alerts += result.alerts
    alerts.sort(key=lambda a: (str(a["@timestamp"]), a["rule"]["name"], a["event"]["id"]))
    _print_alerts(alerts, args)
    print(f"detect: {len(alerts)} alerts from {len(rules)} rules", file=sys.stderr)
    if dead.count:
        print(f"detect: {plural(dead.count, 'event')} rejected, written to {dead.path}", file=sys.stderr)
    skipped.report()
    return 1 if alerts or dead.count or skipped.count else 0
