"""``sessionwatch render``: write each rule's rendered target as JSON (sorted keys).

``--target kibana`` writes ONE file per run, ``<out>/kibana/rules.ndjson`` (or the same lines to
stdout): the detection rules, one per line, as Kibana's rule import takes them unchanged.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sessionwatch.renderer import TARGETS, render
from sessionwatch.rule_sources import load_selected
from sessionwatch.rules.errors import RenderError, RuleErrors, SessionwatchError, UnsupportedByTarget

KIBANA_FILE = "rules.ndjson"  # the import file, under <out>/kibana/


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("render", help="render rules to a target (Query DSL, …)")
    parser.add_argument("paths", nargs="*", help="rule files or directories (default: installed packs)")
    parser.add_argument(
        "--target",
        default="query",
        choices=sorted(TARGETS),
        help="; ".join(f"{name}: {desc}" for name, (desc, _) in sorted(TARGETS.items())),
    )
    parser.add_argument("--out", default=None, help="directory to write into (default: stdout)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    rules = load_selected(args.paths, include_deprecated=False)
    errors: list[SessionwatchError] = []
    written = 0
    kibana_lines: list[str] = []
    for rule in rules:
        try:
            rendered = render(rule, args.target)
        except UnsupportedByTarget as exc:  # valid rule, other target: say so, go on
            print(f"{exc} [skipped]", file=sys.stderr)
            continue
        except RenderError as exc:
            errors.append(exc)
            continue
        written += 1
        if args.target == "kibana":  # one import file: the rules exactly as Kibana takes them
            kibana_lines.append(json.dumps(rendered, sort_keys=True, ensure_ascii=False) + "\n")
            continue
        if args.out is None:  # NDJSON: one rendered rule per line
            print(
                json.dumps(
                    {"rule": rule.name, "target": args.target, "index": rule.scope.index, "body": rendered},
                    sort_keys=True,
                    ensure_ascii=False,
                )
            )
            continue
        text = json.dumps(rendered, indent=2, sort_keys=True, ensure_ascii=False)
        folder = Path(args.out) / args.target
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{rule.name}.json").write_text(text + "\n", encoding="utf-8")
    if args.target == "kibana":
        _write_kibana(args.out, kibana_lines)
    if args.out is not None:
        print(f"rendered {written} of {len(rules)} rules to {Path(args.out) / args.target}", file=sys.stderr)
    if errors:
        raise RuleErrors(errors)
    return 0


def _write_kibana(out: str | None, lines: list[str]) -> None:
    if out is None:
        sys.stdout.write("".join(lines))
        return
    folder = Path(out) / "kibana"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / KIBANA_FILE).write_text("".join(lines), encoding="utf-8")
