"""``sessionwatch validate``: schema and lint, no Elasticsearch needed."""

from __future__ import annotations

import argparse
import sys

from sessionwatch.enrichers import ProfileRegistry, fact_names
from sessionwatch.enrichers.facts import ECS_FIELDS
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.renderer import render_query
from sessionwatch.reports import model as report_model
from sessionwatch.reports.output import add_report_arguments, write_report
from sessionwatch.rule_sources import Selection, config_summary, load_selected, selected_files
from sessionwatch.rules.catalog import catalog
from sessionwatch.rules.errors import Location, RuleErrors, SessionwatchError
from sessionwatch.rules.lint import Finding, Level, LintContext, lint_rules, rule_files
from sessionwatch.rules.model import Rule
from sessionwatch.rules.policies import load_policies


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("validate", help="check rules against the schema and lint them")
    parser.add_argument("paths", nargs="*", help="rule files or directories (default: installed packs)")
    parser.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    add_report_arguments(parser)
    parser.set_defaults(run=run)


def lint_context(rules: list[Rule]) -> LintContext:
    """Known fields (facts, ECS, profile fields), policies beside the rules, the id catalogues."""
    registry = ProfileRegistry.discover()
    profile_fields = {
        path for name in registry.names for paths in registry.get(name).fields.values() for path in paths
    }
    return LintContext(
        indexed_fields=fact_names() | {name for name, _ in ECS_FIELDS},
        profile_fields=frozenset(profile_fields),
        policies=load_policies(rule_files(rules)),
        catalog=catalog(),
    )


def _as_finding(error: SessionwatchError, code: str) -> Finding:
    return Finding(error.location or Location(""), code, Level.ERROR, error.message)


def lint(rule: Rule) -> list[SessionwatchError]:
    """Problems found by building the rule: missing fixtures, templates that fail to render."""
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


def findings(rules: list[Rule]) -> list[Finding]:
    """Every lint finding and build problem of ``rules``, sorted by location."""
    found = lint_rules(rules, lint_context(rules))
    found += [_as_finding(error, "SW601") for rule in rules for error in lint(rule)]
    return sorted(found)


def run(args: argparse.Namespace) -> int:
    try:
        rules = load_selected(args.paths, selection=Selection.EVERY)
    except RuleErrors as exc:
        write_report(args, report_model.for_validate(selected_files(args.paths), exc.errors))
        raise
    found = findings(rules)
    write_report(args, report_model.for_validate([r.source for r in rules], found))
    for finding in found:
        print(finding, file=sys.stderr)
    errors = sum(f.level is Level.ERROR for f in found)
    warnings = len(found) - errors
    if errors or (args.strict and warnings):
        print(f"{errors} error(s), {warnings} warning(s) in {len(rules)} rules", file=sys.stderr)
        return 1
    print(f"{len(rules)} rules valid ({warnings} warning(s))", file=sys.stderr)
    print(config_summary(args.paths), file=sys.stderr)
    return 0
