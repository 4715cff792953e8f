"""``sessionwatch validate``: schema and lint, no Elasticsearch needed."""

from __future__ import annotations

import argparse
import sys

from sessionwatch.fixtures_root import fixture_path
from sessionwatch.renderer import render_query
from sessionwatch.rule_sources import load_selected
from sessionwatch.rules.errors import RuleErrors, SessionwatchError
from sessionwatch.rules.model import Rule


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("validate", help="check rules against the schema and lint them")
    parser.add_argument("paths", nargs="*", help="rule files or directories (default: installed packs)")
    parser.set_defaults(run=run)


def lint(rule: Rule) -> list[SessionwatchError]:
    """Problems the schema cannot see: missing fixtures, templates that fail to render."""
    errors: list[SessionwatchError] = []
    for case in rule.tests:
        try:
            fixture_path(rule, case)
        except SessionwatchError as exc:
            errors.append(exc)
    try:
        render_query(rule)
    except SessionwatchError as exc:
        errors.append(exc)
    return errors


def run(args: argparse.Namespace) -> int:
    rules = load_selected(args.paths)
    errors = [error for rule in rules for error in lint(rule)]
    if errors:
        raise RuleErrors(errors)
    print(f"{len(rules)} rules valid", file=sys.stderr)
    return 0
