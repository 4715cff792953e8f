"""``sessionwatch validate``: schema and lint, no Elasticsearch needed."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sessionwatch.enrichers import ProfileRegistry, fact_names
from sessionwatch.enrichers.facts import ECS_FIELDS
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.partial_rules import PartialRule, partial_rule
from sessionwatch.renderer import render_query
from sessionwatch.reports import human
from sessionwatch.reports import model as report_model
from sessionwatch.reports.output import add_report_arguments, chosen_format, write_report
from sessionwatch.rule_sources import Selection, config_summary, load_selected, selected_files
from sessionwatch.rules.catalog import catalog
from sessionwatch.rules.errors import Location, RuleErrors, RuleSchemaError, SessionwatchError
from sessionwatch.rules.lint import Finding, Level, LintContext, lint_rules, rule_files
from sessionwatch.rules.loader import duplicate_errors, load_rule_file
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


def fixture_errors(rule: Rule) -> list[SessionwatchError]:
    """Test cases whose fixture file cannot be found."""
    errors: list[SessionwatchError] = []
    for case in rule.tests:
        try:
            fixture_path(rule, case)
        except SessionwatchError as exc:
            errors.append(exc)
    return errors


def lint(rule: Rule) -> list[SessionwatchError]:
    """Problems found by building the rule: missing fixtures, templates that fail to render."""
    errors = fixture_errors(rule)
    try:
        render_query(rule)
    except SessionwatchError as exc:
        errors.append(exc)
    return errors


def findings(rules: list[Rule], partial: Sequence[PartialRule] = ()) -> list[Finding]:
    """Every lint finding and build problem of ``rules``, and what can be linted of the files with
    schema errors (``partial``), sorted by location."""
    everything = [*rules, *(p.rule for p in partial)]
    found = lint_rules(everything, lint_context(everything))
    found += [_as_finding(error, "SW601") for rule in rules for error in lint(rule)]
    found += [_as_finding(error, "SW601") for p in partial for error in fixture_errors(p.rule)]
    by_file = {p.rule.source: p for p in partial}
    kept = [f for f in found if (p := by_file.get(Path(f.location.path))) is None or p.keeps(f)]
    return sorted(kept)


@dataclass
class Loaded:
    files: list[Path]
    rules: list[Rule] = field(default_factory=list)
    partial: list[PartialRule] = field(default_factory=list)
    errors: list[SessionwatchError] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # loading each file


def load_all(paths: Sequence[str]) -> Loaded:
    """Every selected file: the rules that load, partial rules of the others, and the errors.

    Each file is loaded on its own (so one broken file hides nothing and each is timed), then
    the selection is loaded the way every command loads it, for the errors only a whole
    selection shows (two rules with one id, the site configuration).
    """
    loaded = Loaded(selected_files(paths))
    if not loaded.files:
        where = ", ".join(paths) or "installed rule packs"
        loaded.errors.append(RuleSchemaError("no rule files found", Location(where)))
        return loaded
    each: list[Rule] = []
    for path in loaded.files:
        started = time.perf_counter()
        try:
            each.append(load_rule_file(path))
        except RuleErrors as exc:
            loaded.errors += exc.errors
            salvaged = partial_rule(path)
            if salvaged is not None:
                loaded.partial.append(salvaged)
        loaded.seconds[str(path)] = time.perf_counter() - started
    try:
        loaded.rules = load_selected(paths, selection=Selection.EVERY)  # as the site configuration has them
    except RuleErrors as exc:
        loaded.rules = each
        seen = {(e.location, e.message) for e in loaded.errors}
        for error in [*exc.errors, *duplicate_errors(each)]:
            if (error.location, error.message) not in seen:
                seen.add((error.location, error.message))
                loaded.errors.append(error)
    return loaded


def run(args: argparse.Namespace) -> int:
    chosen_format(args)  # a bad --format/--report is a usage error before any work
    started = time.perf_counter()
    loaded = load_all(args.paths)
    rules, errors = loaded.rules, loaded.errors
    found = findings(rules, loaded.partial)
    problems: list[Any] = [*errors, *found]
    seconds = time.perf_counter() - started
    report = report_model.for_validate(loaded.files, problems, seconds=seconds, file_seconds=loaded.seconds)
    write_report(args, report)
    for line in sorted(problems, key=lambda p: (p.location or Location(""), p.message)):
        print(line, file=sys.stderr)
    failing = len(errors) + sum(f.level is Level.ERROR for f in found)
    warnings = len(found) - sum(f.level is Level.ERROR for f in found)
    paint = human.Painter.for_stream(sys.stderr)
    print(human.validate_summary(failing, warnings, len(rules), len(loaded.files), paint), file=sys.stderr)
    if failing or (args.strict and warnings):
        return 1
    print(config_summary(args.paths), file=sys.stderr)
    return 0
