"""``sessionwatch enrich``: NDJSON in, enriched NDJSON out, bad lines to a dead-letter file."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

from sessionwatch.enrich_facts import facts_read_by
from sessionwatch.enrichers import EngineOptions, Limits, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.engine import Counts, DeadLetter, Engine
from sessionwatch.enrichers.parallel import run as run_engine
from sessionwatch.enrichers.profiles import Profile
from sessionwatch.follow_partitions import MAX_PARTITIONS
from sessionwatch.index_names import EVENTS_DEFAULT, STATE_INDEX
from sessionwatch.rule_sources import active_config, load_selected
from sessionwatch.rules.durations import parse_duration
from sessionwatch.rules.errors import EnrichError, Location, SessionwatchError, UsageError

if TYPE_CHECKING:  # follow mode's modules load the Elasticsearch client: only --follow imports them
    from sessionwatch.follow import DeadSink


def _seconds(text: str) -> float:
    if text in {"0", "0s"}:
        return 0.0
    try:
        return float(parse_duration(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("enrich", help="add session facts to NDJSON events")
    parser.add_argument("input", nargs="?", default="-", help="NDJSON file (default: stdin)")
    parser.add_argument("-o", "--output", default="-", help="enriched NDJSON (default: stdout)")
    parser.add_argument("--profile", help="force one input profile instead of choosing per event")
    parser.add_argument(
        "--dead-letter",
        help="where rejected lines go (default: OUTPUT.dead-letter.ndjson, or dead-letter.ndjson for stdout)",
    )
    parser.add_argument("--workers", type=_positive, default=1, help="processes for the session stage")
    parser.add_argument(
        "--reorder-window",
        type=_seconds,
        default=60.0,
        metavar="DURATION",
        help="lateness absorbed by reordering, e.g. 60s, 5m; 0 = input order (default: 60s)",
    )
    parser.add_argument(
        "--state", metavar="FILE", help="resume from FILE when it exists; save open sessions to it at the end"
    )
    parser.add_argument(
        "--idle-horizon",
        type=_seconds,
        default=Limits.idle_horizon,
        metavar="DURATION",
        help="drop a session's state after this long without events (default: 7d)",
    )
    parser.add_argument(
        "--ended-retention",
        type=_seconds,
        default=Limits.ended_retention,
        metavar="DURATION",
        help="keep an ended session this long, for post-logout facts (default: 1d)",
    )
    parser.add_argument(
        "--max-sessions", type=_positive, default=Limits.max_sessions, help="memory cap on open sessions"
    )
    parser.add_argument(
        "--facts",
        choices=("all", "enabled"),
        default="all",
        help="all facts (default), or only those the rules the site configuration enables read: "
        "cheaper, but events enriched now lack the facts of rules enabled later",
    )
    parser.add_argument("--inventory", metavar="FILE", help="account inventory: JSON, NDJSON or CSV")
    parser.add_argument("--inventory-index", metavar="INDEX", help="read the account inventory from an index")
    parser.add_argument("--geoip-city", metavar="MMDB", help="MaxMind City/Country database: country facts")
    parser.add_argument("--geoip-asn", metavar="MMDB", help="MaxMind ASN database: autonomous-system facts")
    parser.add_argument(
        "--es-url", help="Elasticsearch for --inventory-index (default: $SESSIONWATCH_ES_URL)"
    )
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument("--progress", dest="progress", action="store_true", default=None)
    progress.add_argument(
        "--no-progress", dest="progress", action="store_false", help="progress is shown on a terminal only"
    )
    _add_follow_arguments(parser)
    parser.set_defaults(run=run)


def dead_letter_path(output: str, explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    return Path("dead-letter.ndjson") if output == "-" else Path(f"{output}.dead-letter.ndjson")


def _load_state(path: str | None) -> Mapping[str, Any] | None:
    if not path or not Path(path).exists():
        return None
    try:
        data: Mapping[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EnrichError(
            f"state file is not JSON: {exc.msg}", Location(path, exc.lineno, exc.colno)
        ) from None
    return data


def _save_state(path: str, state: Mapping[str, Any]) -> None:
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    partial.write_text(json.dumps(state, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    os.replace(partial, target)  # atomic: a crash leaves the previous state intact


def _inventory_records(index: str, es_url: str | None) -> Iterator[tuple[Location, Mapping[str, Any]]]:
    from elasticsearch.helpers import scan

    from sessionwatch.es import connect

    client = connect(es_url)
    for hit in scan(client, index=index, query={"query": {"match_all": {}}}):
        yield Location(f"{index}/{hit['_id']}"), hit["_source"]


class _Progress:
    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.started = time.monotonic()

    def __call__(self, counts: Counts) -> None:
        rate = counts.read / max(time.monotonic() - self.started, 1e-9)
        self.stream.write(
            f"\renrich: {counts.read} read, {counts.enriched} enriched, "
            f"{counts.dead_letter} dead ({rate:,.0f}/s)"
        )
        self.stream.flush()

    def done(self) -> None:
        self.stream.write("\n")


def run(args: argparse.Namespace) -> int:
    profiles = ProfileRegistry.discover()
    forced = profiles.get(args.profile) if args.profile else None
    enricher_options: dict[str, Any] = {}
    site = active_config()  # the flags win over the site configuration's inventory
    inventory = args.inventory or (str(site.inventory) if site.inventory else None)
    if inventory:
        enricher_options["inventory"] = inventory
    inventory_index = args.inventory_index or site.inventory_index
    if inventory_index:
        enricher_options["inventory_records"] = list(_inventory_records(inventory_index, args.es_url))
    for option in ("geoip_city", "geoip_asn"):
        if getattr(args, option):
            enricher_options[option] = getattr(args, option)
    options = EngineOptions(
        reorder_window=args.reorder_window,
        limits=Limits(
            idle_horizon=args.idle_horizon,
            ended_retention=args.ended_retention,
            max_sessions=args.max_sessions,
        ),
        enricher_options=enricher_options,
        facts=facts_read_by(load_selected([])) if args.facts == "enabled" else None,
    )
    if args.follow:
        return _run_follow(args, profiles, forced, options)
    state = _load_state(args.state)
    dead_path = dead_letter_path(args.output, args.dead_letter)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    progress = _Progress(sys.stderr) if show else None
    with ExitStack() as stack:
        source: IO[bytes] = (
            sys.stdin.buffer if args.input == "-" else stack.enter_context(open(args.input, "rb"))
        )
        sink: IO[str] = (
            sys.stdout
            if args.output == "-"
            else stack.enter_context(open(args.output, "w", encoding="utf-8"))
        )
        dead_file: list[IO[str]] = []

        def dead(letter: DeadLetter) -> None:
            if not dead_file:
                dead_file.append(stack.enter_context(dead_path.open("w", encoding="utf-8")))
            dead_file[0].write(letter.to_json() + "\n")

        result = run_engine(
            source,
            sink.write,
            dead,
            profiles=profiles,
            enrichers=discover_enrichers(),
            forced_profile=forced,
            options=options,
            workers=args.workers,
            state=state,
            progress=progress,
            output=sink,  # (with workers and a regular file, they write their lines into it)
            keep_state=bool(args.state),
        )
    if progress is not None:
        progress.done()
    if args.state:
        _save_state(args.state, result.state)
    counts = result.counts
    print(f"enrich: {counts.line()} open_sessions={result.open_sessions}", file=sys.stderr)
    for hint in counts.profiles.hints(profiles.names):
        print(f"enrich: {hint}", file=sys.stderr)
    if not counts.conserved:  # a bug, never a user mistake: say so loudly
        print(
            "enrich: counts are not conserved (read != enriched + passed_through + dead_letter)",
            file=sys.stderr,
        )
        return 1
    if counts.dead_letter:
        print(f"enrich: {counts.dead_letter} lines written to {dead_path}", file=sys.stderr)
        return 1
    return 0


# --- follow mode (sessionwatch.follow does the work) ---------------------------------------


def _add_follow_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("follow mode: read events from Elasticsearch, write them enriched")
    group.add_argument("--follow", action="store_true", help="follow --source-index (uses --es-url)")
    group.add_argument("--source-index", metavar="PATTERN", help="raw events to follow")
    group.add_argument(
        "--dest-index", default=EVENTS_DEFAULT, help=f"enriched events (default {EVENTS_DEFAULT})"
    )
    group.add_argument("--follower-id", help="checkpoint name (default: from source and destination)")
    group.add_argument("--batch-size", type=int, default=1000, help="events per page (default 1000)")
    group.add_argument("--settle", default="30s", help="read only events older than this (default 30s)")
    group.add_argument("--poll", default="10s", help="pause between passes when caught up (default 10s)")
    group.add_argument("--once", action="store_true", help="catch up once, then exit")
    group.add_argument("--state-index", default=STATE_INDEX, help="checkpoints (default %(default)s)")
    group.add_argument(
        "--partitions",
        type=_positive,
        default=1,
        metavar="P",
        help="share the source among several followers: split it by actor into P partitions "
        f"(2-{MAX_PARTITIONS}; the same P for every follower of the group, see docs/runner.md)",
    )
    group.add_argument(
        "--member-id", help="this follower's name in its group (default: host name and process id)"
    )
    group.add_argument(
        "--lease", default="30s", metavar="DURATION", help="a dead follower's partitions are taken after this"
    )


def _option_seconds(option: str, text: str) -> float:
    if text in {"0", "0s"}:
        return 0.0
    try:
        return float(parse_duration(text))
    except ValueError as exc:
        raise SessionwatchError(f"{option}: {exc}") from None


@contextlib.contextmanager
def _dead_writer(path: Path) -> Iterator[DeadSink]:
    handle = None

    def write(letter: dict[str, Any]) -> None:
        nonlocal handle
        if handle is None:
            handle = path.open("a", encoding="utf-8")
        handle.write(json.dumps(letter, ensure_ascii=False) + "\n")
        handle.flush()

    try:
        yield write
    finally:
        if handle is not None:
            handle.close()


def _run_follow(
    args: argparse.Namespace, profiles: ProfileRegistry, forced: Profile | None, options: EngineOptions
) -> int:
    """``enrich --follow``: the options are those ``enrich`` built (reordering is not needed:
    events arrive sorted)."""
    from sessionwatch import follow
    from sessionwatch.follow_group import GroupFollower, default_member_id
    from sessionwatch.runner.connection import connect_with_retry

    if not args.source_index:
        raise SessionwatchError("--follow needs --source-index PATTERN")
    if args.state:
        raise SessionwatchError("--follow keeps its state in Elasticsearch; drop --state")
    if args.workers != 1:
        raise SessionwatchError("--follow runs in one process; drop --workers")
    if args.batch_size < 1:
        raise SessionwatchError("--batch-size must be positive")
    if args.partitions > MAX_PARTITIONS:
        raise UsageError(f"--partitions: at most {MAX_PARTITIONS} (one per last character 0-9, a-z)")
    lease = _option_seconds("--lease", args.lease)
    if lease < 3:
        raise UsageError("--lease: at least 3s")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("elastic_transport").setLevel(logging.CRITICAL)  # our own lines say what failed
    settle, poll = _option_seconds("--settle", args.settle), _option_seconds("--poll", args.poll)
    options = dataclasses.replace(options, reorder_window=0.0)
    enrichers = discover_enrichers()

    def engine() -> Engine:
        return Engine(profiles, enrichers, forced_profile=forced, options=options)

    dead_path = dead_letter_path(args.output, args.dead_letter)
    client = connect_with_retry(args.es_url, give_up_after=600.0 if args.once else None)
    group = args.follower_id or follow.default_follower_id(args.source_index, args.dest_index)
    with _dead_writer(dead_path) as sink:
        follower: follow.Follower | GroupFollower
        if args.partitions > 1:
            follower = GroupFollower(
                client,
                engine,
                profiles=profiles,
                forced=forced,
                source=args.source_index,
                dest=args.dest_index,
                group=group,
                member=args.member_id or default_member_id(),
                partitions=args.partitions,
                state_index=args.state_index,
                lease_seconds=lease,
                batch_size=args.batch_size,
                settle_seconds=settle,
                dead=sink,
            )
        else:
            follower = follow.Follower(
                client,
                engine,
                source=args.source_index,
                dest=args.dest_index,
                follower_id=group,
                batch_size=args.batch_size,
                settle_seconds=settle,
                state_index=args.state_index,
                dead=sink,
            )

        def _stop(signum: int, frame: FrameType | None) -> None:
            follower.stop.set()

        signal.signal(signal.SIGTERM, _stop)
        summary = follower.run(once=args.once, poll_seconds=poll)
        follow.log.info("follow stopped: %s", summary.line())
        if summary.dead_letter:
            follow.log.warning("follow: %d events written to %s", summary.dead_letter, dead_path)
            return 1
    return 0
