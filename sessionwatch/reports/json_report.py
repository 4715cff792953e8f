"""The JSON report: the report model as plain data, for scripts that post-process results."""

from __future__ import annotations

from typing import Any

from sessionwatch import __version__
from sessionwatch.reports.model import Report, Status
from sessionwatch.rules.errors import Location

FORMAT_VERSION = 1


def _where(location: Location | None) -> dict[str, Any]:
    if location is None:
        return {"path": None, "line": None, "column": None, "pointer": None}
    return {
        "path": location.path,
        "line": location.line or None,
        "column": location.column or None,
        "pointer": location.pointer or None,
    }


def to_json(report: Report) -> dict[str, Any]:
    """``report`` as a JSON-serialisable dict (``format_version`` changes only on breaking changes)."""
    return {
        "format_version": FORMAT_VERSION,
        "tool": {"name": "sessionwatch", "version": __version__},
        "command": report.command,
        "summary": {
            "files": len(report.files),
            "problems": sum(1 for p in report.problems if p.level == "error"),
            "warnings": sum(1 for p in report.problems if p.level != "error"),
            "warnings_fail": report.warnings_fail,
            "cases": len(report.cases),
            "passed": report.count(Status.PASSED),
            "failed": report.count(Status.FAILED),
            "errors": report.count(Status.ERROR),
        },
        "files": list(report.files),
        "problems": [
            {"check": p.check, "level": p.level, "message": p.message, **_where(p.location)}
            for p in report.problems
        ],
        "cases": [
            {
                "rule": c.rule,
                "case": c.case,
                "status": c.status.value,
                "details": list(c.details),
                **_where(c.location),
            }
            for c in report.cases
        ],
    }
