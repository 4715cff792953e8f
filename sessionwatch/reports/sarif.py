"""SARIF 2.1.0: code-scanning tools annotate the rule file and line of every problem and failed case.

Paths are written relative to ``base`` (the working directory, normally the repository root)
with ``uriBaseId: "%SRCROOT%"``; files outside ``base`` get absolute ``file://`` URIs.
Passed cases produce no result, as a linter reports nothing for a clean line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sessionwatch import __version__
from sessionwatch.reports.model import CASE_CHECK, CaseOutcome, Problem, Report, Status
from sessionwatch.rules.errors import Location

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"

# What each check means, shown by code-scanning UIs next to the result.
DESCRIPTIONS: dict[str, str] = {
    "syntax": "The rule file is not valid YAML, or uses YAML features rules forbid.",
    "schema": "The rule does not match the rule JSON Schema or a constraint across rules.",
    "render": "The rule could not be rendered to an Elasticsearch query.",
    "enrich": "A fixture event could not be enriched.",
    "plugin": "An entry point (rule pack, enricher, profile) could not be loaded.",
    "elasticsearch": "Elasticsearch could not be reached.",
    CASE_CHECK: "A test case written in the rule raised other alerts than it expects.",
}


def _rule_id(check: str) -> str:
    return f"sessionwatch/{check}"


def _descriptor(check: str) -> dict[str, Any]:
    text = DESCRIPTIONS.get(check, f"sessionwatch check {check!r}.")
    name = "".join(part.capitalize() for part in check.replace("_", "-").split("-"))
    return {
        "id": _rule_id(check),
        "name": name or "Error",
        "shortDescription": {"text": text},
        "defaultConfiguration": {"level": "error"},
    }


def artifact_uri(path: str, base: Path) -> tuple[str, str | None]:
    """(uri, uriBaseId) of ``path``: relative to ``base`` when inside it."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(base.resolve()).as_posix(), SRCROOT
    except ValueError:
        return resolved.as_uri(), None


def _locations(location: Location | None, base: Path) -> list[dict[str, Any]]:
    if location is None or not location.path or not Path(location.path).is_file():
        return []  # e.g. "entry point sessionwatch.rulepacks:x", or a path that does not exist
    uri, base_id = artifact_uri(location.path, base)
    artifact: dict[str, Any] = {"uri": uri}
    if base_id is not None:
        artifact["uriBaseId"] = base_id
    physical: dict[str, Any] = {"artifactLocation": artifact}
    if location.line:
        physical["region"] = {"startLine": location.line, "startColumn": max(location.column, 1)}
    return [{"physicalLocation": physical}]


def _result(check: str, level: str, text: str, location: Location | None, base: Path) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": _rule_id(check),
        "level": level,
        "message": {"text": text},
    }
    locations = _locations(location, base)
    if locations:
        result["locations"] = locations
    return result


def _problem_result(problem: Problem, base: Path) -> dict[str, Any]:
    text = problem.message
    if problem.location is not None and problem.location.pointer:
        text = f"{text} ({problem.location.pointer})"
    return _result(problem.check, problem.level, text, problem.location, base)


def _case_result(case: CaseOutcome, base: Path) -> dict[str, Any]:
    verdict = "could not run" if case.status is Status.ERROR else "failed"
    text = "\n".join([f"test case {case.case!r} of rule {case.rule!r} {verdict}", *case.details])
    return _result(CASE_CHECK, "error", text, case.location, base)


def to_sarif(report: Report, base: Path) -> dict[str, Any]:
    """The SARIF 2.1.0 log of ``report`` (one run)."""
    results = [_problem_result(p, base) for p in report.problems]
    results += [_case_result(c, base) for c in report.cases if c.status is not Status.PASSED]
    checks = sorted({r["ruleId"].split("/", 1)[1] for r in results})
    index = {_rule_id(check): i for i, check in enumerate(checks)}
    for result in results:
        result["ruleIndex"] = index[result["ruleId"]]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sessionwatch",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_descriptor(check) for check in checks],
                    }
                },
                "automationDetails": {"id": f"sessionwatch/{report.command}/"},
                "originalUriBaseIds": {SRCROOT: {"uri": base.resolve().as_uri().rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
