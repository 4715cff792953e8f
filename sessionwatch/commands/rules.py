"""``sessionwatch rules``: list and search rules (id, name, kind, policy, status, enabled, severity).

Filters combine (all must hold): ``--kind``, ``--policy``, ``--technique`` (an ATT&CK id; a
technique also matches its sub-techniques), ``--control`` (``AC-12`` or ``nist-800-53:AC-12``),
``--search`` (words in the name, title or description), ``--enabled`` / ``--disabled``.
A table on a terminal, NDJSON when piped; ``--format`` overrides.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from sessionwatch.reports.alerts_table import FORMATS, JSON, NDJSON, choose_format
from sessionwatch.reports.human import Painter, plural
from sessionwatch.rule_sources import Selection, load_selected
from sessionwatch.rules.kinds import Kind
from sessionwatch.rules.model import Rule


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("rules", help="list and search rules")
    parser.add_argument("paths", nargs="*", help="rule files or directories (default: installed packs)")
    parser.add_argument("--kind", choices=[k.value for k in Kind], help="only rules of this kind")
    parser.add_argument("--policy", help="only rules enforcing this policy profile")
    parser.add_argument("--technique", metavar="ID", help="only rules detecting this ATT&CK technique")
    parser.add_argument("--control", metavar="[FRAMEWORK:]ID", help="only rules evidencing this control")
    parser.add_argument(
        "--search", metavar="TEXT", help="only rules whose name, title or description has TEXT"
    )
    state = parser.add_mutually_exclusive_group()
    state.add_argument(
        "--enabled", dest="enabled", action="store_true", default=None, help="only enabled rules"
    )
    state.add_argument("--disabled", dest="enabled", action="store_false", help="only disabled rules")
    parser.add_argument(
        "--format", choices=FORMATS, help="table (default on a terminal), ndjson (default when piped) or json"
    )
    parser.set_defaults(run=run)


@dataclass(frozen=True)
class RuleLine:
    rule: Rule
    enabled: bool

    def as_dict(self) -> dict[str, Any]:
        r = self.rule
        return {
            "id": str(r.id),
            "name": r.name,
            "title": r.title,
            "kind": r.kind.value,
            "policy": r.policy,
            "status": r.status.value,
            "enabled": self.enabled,
            "severity": r.severity.value,
            "attack": list(r.attack),
            "compliance": {framework: list(ids) for framework, ids in r.compliance.items()},
            "path": str(r.source),
        }


def enabled_names(paths: Sequence[str]) -> set[str]:
    """The rules ``detect`` and ``run`` evaluate: what ``load_selected`` returns by default, that
    is what the site configuration turns on (deprecated rules never run)."""
    return {rule.name for rule in load_selected(paths, include_deprecated=False)}


def every_rule(paths: Sequence[str]) -> list[Rule]:
    """Every rule of the selection, enabled or not (enabled ones as the site configuration has them)."""
    return load_selected(paths, selection=Selection.EVERY)


def _words(text: str) -> list[str]:
    return text.lower().split()


def matches(line: RuleLine, args: argparse.Namespace) -> bool:
    rule = line.rule
    if args.kind and rule.kind.value != args.kind:
        return False
    if args.policy and rule.policy != args.policy:
        return False
    if args.enabled is not None and line.enabled is not args.enabled:
        return False
    if args.technique and not any(
        t == args.technique or t.startswith(args.technique + ".") for t in rule.attack
    ):
        return False
    if args.control:
        framework, _, control = args.control.rpartition(":")
        if not any(
            control in ids and (not framework or framework == name) for name, ids in rule.compliance.items()
        ):
            return False
    if args.search:
        haystack = " ".join((rule.name, rule.title, rule.description)).lower()
        return all(word in haystack for word in _words(args.search))
    return True


HEADER = ("ID", "NAME", "KIND", "POLICY", "STATUS", "ENABLED", "SEVERITY")
_SEVERITY_STYLE = {"critical": "magenta", "high": "red", "medium": "yellow", "low": "cyan"}


def format_table(lines: Sequence[RuleLine], paint: Painter) -> str:
    rows = [
        (
            str(line.rule.id)[:8],
            line.rule.name,
            line.rule.kind.value,
            line.rule.policy or "—",
            line.rule.status.value,
            "yes" if line.enabled else "no",
            line.rule.severity.value,
        )
        for line in lines
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(HEADER)]

    def cells(row: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()

    out = [paint(cells(HEADER), "dim")]
    for row, line in zip(rows, lines, strict=True):
        text = cells(row)
        if not line.enabled:
            text = paint(text, "dim")
        out.append(text)
    return "\n".join(out)


def summary(lines: Sequence[RuleLine], total: int) -> str:
    enabled = sum(1 for line in lines if line.enabled)
    kinds = len({line.rule.kind for line in lines})
    shown = f"{plural(len(lines), 'rule')} of {total}" if len(lines) != total else plural(total, "rule")
    return f"{shown}: {enabled} enabled, {len(lines) - enabled} disabled · {plural(kinds, 'kind')}"


def write(lines: Sequence[RuleLine], total: int, fmt: str, out: TextIO) -> None:
    if fmt == NDJSON:
        out.writelines(json.dumps(line.as_dict(), sort_keys=True) + "\n" for line in lines)
    elif fmt == JSON:
        out.write(json.dumps([line.as_dict() for line in lines], sort_keys=True, indent=2) + "\n")
    else:
        paint = Painter.for_stream(out)
        if lines:
            out.write(format_table(lines, paint) + "\n\n")
        out.write(summary(lines, total) + "\n")


def listed(rules: Iterable[Rule], enabled: set[str]) -> list[RuleLine]:
    return sorted(
        (RuleLine(rule, rule.name in enabled) for rule in rules),
        key=lambda line: (line.rule.kind.value, line.rule.name),
    )


def run(args: argparse.Namespace) -> int:
    lines = listed(every_rule(args.paths), enabled_names(args.paths))
    shown = [line for line in lines if matches(line, args)]
    write(shown, len(lines), choose_format(args.format, sys.stdout), sys.stdout)
    return 0
