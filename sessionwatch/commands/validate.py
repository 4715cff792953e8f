"""``sessionwatch validate``: schema and lint, no Elasticsearch needed."""

from __future__ import annotations

import argparse
import sys

from sessionwatch.fixtures_root import fixture_path
from sessionwatch.renderer import render_query
from sessionwatch.reports import model as report_model
from sessionwatch.reports.output import add_report_arguments, write_report
from sessionwatch.rule_sources import load_selected, selected_files
from sessionwatch.rules.errors import RuleErrors, SessionwatchError
from sessionwatch.rules.model import Rule


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("validate", help="check rules against the schema and lint them")
    parser.add_argument("paths", nargs="*", help="rule files or directories (default: installed packs)")
    add_report_arguments(parser)
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
    try:
        rules = load_selected(args.paths)
    except RuleErrors as exc:
        write_report(args, report_model.for_validate(selected_files(args.paths), exc.errors))
        raise
    errors = [error for rule in rules for error in lint(rule)]
    write_report(args, report_model.for_validate([r.source for r in rules], errors))
    if errors:
        raise RuleErrors(errors)
    print(f"{len(rules)} rules valid", file=sys.stderr)
    return 0
