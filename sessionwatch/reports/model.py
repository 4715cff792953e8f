"""What a report says, independent of its format: located problems and fixture-case outcomes."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

from sessionwatch.harness import CaseResult
from sessionwatch.rules.errors import (
    ElasticsearchUnavailable,
    EnrichError,
    Location,
    PluginError,
    RenderError,
    RuleSchemaError,
    RuleSyntaxError,
    SessionwatchError,
)

# The check each error class stands for; SARIF uses these as rule ids ("sessionwatch/<check>").
CHECKS: tuple[tuple[type[SessionwatchError], str], ...] = (
    (RuleSyntaxError, "syntax"),
    (RuleSchemaError, "schema"),
    (RenderError, "render"),
    (EnrichError, "enrich"),
    (PluginError, "plugin"),
    (ElasticsearchUnavailable, "elasticsearch"),
)
T = TypeVar("T")
CASE_CHECK = "case"
LEVELS = ("error", "warning", "note")


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # the alerts differ from the expected ones
    ERROR = "error"  # the case could not be run (fixture rejected, …)


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One located finding: a rule that does not load, or a lint finding."""

    check: str
    message: str
    location: Location | None
    level: str = "error"


@dataclass(frozen=True, kw_only=True)
class CaseOutcome:
    """The verdict on one test case written in a rule file."""

    rule: str
    case: str
    location: Location
    status: Status
    details: tuple[str, ...] = ()
    seconds: float = 0.0  # how long the case took


@dataclass(frozen=True, kw_only=True)
class Report:
    """Everything one ``validate`` or ``test`` run found."""

    command: str
    files: tuple[str, ...]
    problems: tuple[Problem, ...] = ()
    cases: tuple[CaseOutcome, ...] = ()
    warnings_fail: bool = False  # ``validate --strict``
    seconds: float = 0.0  # how long the run took
    file_seconds: Mapping[str, float] = field(default_factory=dict)  # validate: loading each file

    def failing(self, problem: Problem) -> bool:
        """Whether ``problem`` fails the run (an error, or any finding under ``--strict``)."""
        return problem.level == "error" or self.warnings_fail

    def count(self, status: Status) -> int:
        return sum(1 for c in self.cases if c.status is status)

    def problem_files(self) -> dict[str, list[Problem]]:
        """Problems grouped by the file they are in (``""`` for those without a location)."""
        grouped: dict[str, list[Problem]] = {}
        for problem in self.problems:
            grouped.setdefault(problem.location.path if problem.location else "", []).append(problem)
        return grouped


def check_of(error: object) -> str:
    """The check that found ``error``: its ``code`` attribute, else one named after its class."""
    code = getattr(error, "code", None)
    if isinstance(code, str) and code:
        return code
    for cls, check in CHECKS:
        if isinstance(error, cls):
            return check
    return "error"


def level_of(error: object) -> str:
    """``error``'s level (a lint finding's ``level``), "error" when it has none."""
    severity = str(getattr(error, "level", None) or getattr(error, "severity", None) or "error").lower()
    return severity if severity in LEVELS else "error"


class Located(Protocol):
    """A located error or lint finding."""

    @property
    def message(self) -> str: ...

    @property
    def location(self) -> Location | None: ...


def _sort_key(error: Located) -> tuple[Location, str]:
    return (error.location or Location(""), error.message)


def problem_from(error: Located) -> Problem:
    """A ``Problem`` from any located error or lint finding (``message`` and ``location``)."""
    return Problem(
        check=check_of(error), message=error.message, location=error.location, level=level_of(error)
    )


def timed(items: Iterable[T]) -> Iterator[tuple[T, float]]:
    """Each item of ``items`` with the seconds it took to produce (for lazily computed results)."""
    started = time.perf_counter()
    for item in items:
        now = time.perf_counter()
        yield item, now - started
        started = time.perf_counter()


def outcome_from(result: CaseResult, seconds: float = 0.0) -> CaseOutcome:
    if result.error is not None:
        status = Status.ERROR
    elif result.passed:
        status = Status.PASSED
    else:
        status = Status.FAILED
    return CaseOutcome(
        rule=result.rule.name,
        case=result.case.name,
        location=result.case.location,
        status=status,
        details=tuple(result.diff()),
        seconds=seconds,
    )


def for_validate(
    files: Sequence[Path],
    errors: Iterable[Located],
    *,
    seconds: float = 0.0,
    file_seconds: Mapping[str, float] | None = None,
) -> Report:
    ordered = sorted(errors, key=_sort_key)
    return Report(
        command="validate",
        files=tuple(str(f) for f in files),
        problems=tuple(problem_from(e) for e in ordered),
        seconds=seconds,
        file_seconds=dict(file_seconds or {}),
    )


def for_test(
    files: Sequence[Path],
    results: Iterable[CaseResult],
    errors: Iterable[Located] = (),
    *,
    seconds: float = 0.0,
    case_seconds: Sequence[float] = (),
) -> Report:
    listed = list(results)
    durations = [*case_seconds, *([0.0] * (len(listed) - len(case_seconds)))]
    return Report(
        command="test",
        files=tuple(str(f) for f in files),
        problems=tuple(problem_from(e) for e in sorted(errors, key=_sort_key)),
        cases=tuple(outcome_from(r, t) for r, t in zip(listed, durations, strict=False)),
        seconds=seconds,
    )
