"""``sessionwatch new``: scaffold a rule with its positive and negative fixtures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sessionwatch.rules.kinds import Kind
from sessionwatch.scaffold import scaffold


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("new", help="scaffold a rule with a positive and a negative fixture")
    parser.add_argument("name", help="rule name (also the file name): lower-case letters, digits and '-'")
    parser.add_argument("--kind", required=True, choices=[k.value for k in Kind], help="the rule kind")
    parser.add_argument(
        "--rules-dir",
        default="rules",
        help="rules directory (default: rules); the rule goes to RULES_DIR/KIND/NAME.yml",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    made = scaffold(Kind(args.kind), args.name, Path(args.rules_dir))
    for path in (made.rule, made.positive, made.negative):
        print(f"created {path}")
    print(
        f"next: edit the rule and its fixtures, then run `sessionwatch validate {args.rules_dir}`"
        f" and `sessionwatch test {args.rules_dir}`",
        file=sys.stderr,
    )
    return 0
