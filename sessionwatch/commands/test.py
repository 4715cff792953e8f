"""``sessionwatch test``: replay every rule's fixtures into a real Elasticsearch."""

from __future__ import annotations

import argparse
import sys
import time

from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.es import connect
from sessionwatch.harness import CaseResult, run_rules
from sessionwatch.reports import human
from sessionwatch.reports import model as report_model
from sessionwatch.reports.output import add_report_arguments, chosen_format, report_on_stdout, write_report
from sessionwatch.rule_sources import Selection, load_selected, selected_files
from sessionwatch.rules.errors import RuleErrors


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("test", help="replay rule fixtures into Elasticsearch, compare alerts")
    parser.add_argument("paths", nargs="*", help="rule files or directories (default: installed packs)")
    parser.add_argument("--es-url", help="cluster URL (default: $SESSIONWATCH_ES_URL)")
    parser.add_argument("--ca-certs", help="CA bundle for a TLS cluster")
    add_report_arguments(parser)
    parser.set_defaults(run=run)


def format_table(results: list[CaseResult]) -> str:
    width_rule = max([len("RULE"), *(len(r.rule.name) for r in results)])
    width_case = max([len("CASE"), *(len(r.case.name) for r in results)])
    lines = [f"{'RULE':<{width_rule}}  {'CASE':<{width_case}}  RESULT"]
    for result in results:
        verdict = "pass" if result.passed else "FAIL"
        lines.append(f"{result.rule.name:<{width_rule}}  {result.case.name:<{width_case}}  {verdict}")
        lines += [f"    {result.case.location}: {line}" for line in result.diff()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    chosen_format(args)  # a bad --format/--report is a usage error before any work
    try:
        rules = load_selected(args.paths, selection=Selection.AS_WRITTEN)
    except RuleErrors as exc:
        write_report(args, report_model.for_test(selected_files(args.paths), [], exc.errors))
        raise
    client = connect(args.es_url, ca_certs=args.ca_certs)
    cases = sum(len(rule.tests) for rule in rules)
    started = time.perf_counter()
    running = run_rules(client, rules, ProfileRegistry.discover())
    timed = list(report_model.timed(human.with_progress(running, "test", cases, sys.stderr)))
    results = [result for result, _ in timed]
    report = report_model.for_test(
        [r.source for r in rules],
        results,
        seconds=time.perf_counter() - started,
        case_seconds=[seconds for _, seconds in timed],
    )
    write_report(args, report)
    print(format_table(results), file=sys.stderr if report_on_stdout(args) else sys.stdout)
    failed = sum(not r.passed for r in results)
    paint = human.Painter.for_stream(sys.stderr)
    print(human.test_summary(len(results) - failed, failed, paint), file=sys.stderr)
    return 1 if failed else 0
