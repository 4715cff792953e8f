"""``--format`` and ``--report`` for ``validate`` and ``test``.

* ``--format FORMAT`` alone: the report goes to stdout instead of the human output (which moves
  to stderr, so stdout stays parseable).
* ``--report FILE``: the report goes to ``FILE`` and the human output stays where it was; the
  format comes from ``--format`` or, when that is absent, from the file name (``.sarif``,
  ``.xml``, ``.json``).

Exit codes do not depend on the format.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import NoReturn

from sessionwatch.reports.json_report import to_json
from sessionwatch.reports.junit import to_junit
from sessionwatch.reports.model import Report
from sessionwatch.reports.sarif import repository_root, to_sarif

HUMAN = "human"
FORMATS = (HUMAN, "sarif", "junit", "json")
SUFFIXES = {".sarif": "sarif", ".xml": "junit", ".json": "json"}
EXIT_USAGE = 2


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=None,
        help="human (default), sarif (SARIF 2.1.0), junit (JUnit XML) or json",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        help="write the report to FILE and keep the human output; "
        "format from --format, else from the suffix (.sarif, .xml, .json)",
    )
    parser.add_argument(
        "--sarif-category",
        metavar="ID",
        help="write ID as the SARIF run's automationDetails.id (leave it out when the upload step "
        "sets a category, as GitHub's upload-sarif does)",
    )


def chosen_format(args: argparse.Namespace) -> str:
    """The report format; a usage error (exit 2) when it cannot be told or makes no sense."""
    fmt: str | None = getattr(args, "format", None)
    report: str | None = getattr(args, "report", None)
    if report is None:
        return fmt or HUMAN
    if fmt is None:
        name = report.lower()
        fmt = next((f for suffix, f in SUFFIXES.items() if name.endswith(suffix)), None)
        if fmt is None:
            _usage(args, f"cannot tell the format of {report!r} from its name: add --format sarif|junit|json")
    if fmt == HUMAN:
        _usage(args, "--report writes a machine-readable report: use --format sarif, junit or json")
    return fmt


def _usage(args: argparse.Namespace, message: str) -> NoReturn:
    print(f"sessionwatch {getattr(args, 'command', '')}: error: {message}", file=sys.stderr)
    raise SystemExit(EXIT_USAGE)


def render_report(report: Report, fmt: str, base: Path, category: str | None = None) -> str:
    if fmt == "sarif":
        return json.dumps(to_sarif(report, base, category), indent=2, ensure_ascii=False) + "\n"
    if fmt == "junit":
        return to_junit(report)
    if fmt == "json":
        return json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n"
    raise ValueError(f"not a machine-readable format: {fmt}")


def report_on_stdout(args: argparse.Namespace) -> bool:
    """Whether stdout carries the machine report (then human output belongs on stderr)."""
    return getattr(args, "report", None) is None and chosen_format(args) != HUMAN


def write_report(args: argparse.Namespace, report: Report) -> None:
    """Write ``report`` where ``args`` say; nothing for plain human output."""
    fmt = chosen_format(args)
    if fmt == HUMAN:
        return
    if getattr(args, "strict", False):  # validate --strict: warnings fail the run, and the report
        report = dataclasses.replace(report, warnings_fail=True)
    text = render_report(report, fmt, repository_root(Path.cwd()), getattr(args, "sarif_category", None))
    if args.report is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    target = Path(args.report)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
