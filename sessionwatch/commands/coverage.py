"""``sessionwatch coverage``: the rules x controls x techniques x profiles matrix, gaps shown."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sessionwatch import coverage
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.rule_sources import Selection, load_selected
from sessionwatch.rules.catalog import catalog

FORMATS = {"md": ("md",), "html": ("html",), "both": ("md", "html")}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("coverage", help="write the coverage matrix (Markdown and HTML)")
    parser.add_argument("paths", nargs="*", help="rule files or directories (default: installed packs)")
    parser.add_argument(
        "--out", help="directory for coverage.md / coverage.html (default: Markdown on stdout)"
    )
    parser.add_argument(
        "--format", choices=sorted(FORMATS), default="both", help="what to write with --out (default: both)"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rules = load_selected(args.paths, selection=Selection.EVERY)  # what the rules can cover, on or off
    report = coverage.build(rules, catalog(), ProfileRegistry.discover())
    if args.out is None:
        sys.stdout.write(coverage.markdown(report))
        return 0
    for path in coverage.write(report, Path(args.out), FORMATS[args.format]):
        print(f"wrote {path}", file=sys.stderr)
    return 0
