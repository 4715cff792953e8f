"""``sessionwatch enrich``: NDJSON in, enriched NDJSON out, bad lines to a dead-letter file."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("enrich", help="add session facts to NDJSON events")
    parser.add_argument("input", nargs="?", default="-", help="NDJSON file (default: stdin)")
    parser.add_argument("-o", "--output", default="-", help="enriched NDJSON (default: stdout)")
    parser.add_argument("--profile", help="force one input profile instead of choosing per event")
    parser.add_argument(
        "--dead-letter",
        help="where rejected lines go (default: OUTPUT.dead-letter.ndjson, or dead-letter.ndjson for stdout)",
    )
    parser.set_defaults(run=run)


def dead_letter_path(output: str, explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    return Path("dead-letter.ndjson") if output == "-" else Path(f"{output}.dead-letter.ndjson")


def run(args: argparse.Namespace) -> int:
    profiles = ProfileRegistry.discover()
    engine = Engine(
        profiles, discover_enrichers(), forced_profile=profiles.get(args.profile) if args.profile else None
    )
    dead_path = dead_letter_path(args.output, args.dead_letter)
    with ExitStack() as stack:
        source: IO[bytes] = (
            sys.stdin.buffer if args.input == "-" else stack.enter_context(open(args.input, "rb"))
        )
        sink: IO[str] = (
            sys.stdout
            if args.output == "-"
            else stack.enter_context(open(args.output, "w", encoding="utf-8"))
        )
        dead: IO[str] | None = None
        for out in engine.process(source):
            if out.dead is not None:
                if dead is None:
                    dead = stack.enter_context(dead_path.open("w", encoding="utf-8"))
                dead.write(out.dead.to_json() + "\n")
            else:
                sink.write(json.dumps(out.doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    counts = engine.counts
    print(f"enrich: {counts.summary()}", file=sys.stderr)
    if counts.dead_letter:
        print(f"enrich: {counts.dead_letter} lines written to {dead_path}", file=sys.stderr)
        return 1
    return 0
