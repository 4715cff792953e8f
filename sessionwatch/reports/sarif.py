"""SARIF 2.1.0: code-scanning tools annotate the rule file and line of every problem and failed case.

Paths are written relative to the repository root (the nearest folder above the working
directory holding ``.git``, whatever the working directory is) with ``uriBaseId: "%SRCROOT%"``;
files outside it get absolute ``file://`` URIs. Every check is a reporting descriptor with a
short and a full description, Markdown help and a ``helpUri`` into docs/checks.md.
``automationDetails.id`` is written only when a category is asked for: GitHub's upload action
sets its own from its ``category`` input and refuses a file that already has one.
Passed cases produce no result, as a linter reports nothing for a clean line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sessionwatch import __version__
from sessionwatch.project import REPOSITORY_URL
from sessionwatch.reports.checks import CHECKS, check
from sessionwatch.reports.model import CASE_CHECK, CaseOutcome, Problem, Report, Status
from sessionwatch.rules.errors import Location

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"


def repository_root(start: Path) -> Path:
    """The git work tree holding ``start`` (a ``.git`` folder, or file for worktrees); else ``start``."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def _rule_id(check_id: str) -> str:
    return f"sessionwatch/{check_id}"


def _descriptor(check_id: str) -> dict[str, Any]:
    item = check(check_id)
    return {
        "id": _rule_id(item.id),
        "name": item.name,
        "shortDescription": {"text": item.short},
        "fullDescription": {"text": item.full},
        "help": {"text": f"{item.full} How to fix: {item.fix}", "markdown": item.help_markdown()},
        "helpUri": item.help_uri,
        "defaultConfiguration": {"level": item.level},
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


def to_sarif(report: Report, base: Path, category: str | None = None) -> dict[str, Any]:
    """The SARIF 2.1.0 log of ``report`` (one run); ``base`` is the repository root."""
    results = [_problem_result(p, base) for p in report.problems]
    results += [_case_result(c, base) for c in report.cases if c.status is not Status.PASSED]
    used = {r["ruleId"].split("/", 1)[1] for r in results}
    checks = [*CHECKS, *sorted(used - set(CHECKS))]
    index = {_rule_id(check_id): i for i, check_id in enumerate(checks)}
    for result in results:
        result["ruleIndex"] = index[result["ruleId"]]
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "sessionwatch",
                "version": __version__,
                "semanticVersion": __version__,
                "informationUri": REPOSITORY_URL,
                "rules": [_descriptor(check_id) for check_id in checks],
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": base.resolve().as_uri().rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if category:
        run["automationDetails"] = {"id": f"{category.rstrip('/')}/"}
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
