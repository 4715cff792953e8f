"""Errors with a location: every user mistake is reported as ``path:line:col: message``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Location:
    """Where something is: a file, a 1-based line and column, and a JSON pointer inside it."""

    path: str
    line: int = 0
    column: int = 0
    pointer: str = ""

    def __str__(self) -> str:
        if self.line:
            return f"{self.path}:{self.line}:{self.column}"
        return self.path


class SessionwatchError(Exception):
    """Base of every error sessionwatch raises on purpose; the CLI prints it without a traceback."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        text = self.message
        if self.location is not None:
            if self.location.pointer:
                text = f"{text} ({self.location.pointer})"
            text = f"{self.location}: {text}"
        return text

    def sort_key(self) -> tuple[Location, str]:
        return (self.location or Location(""), self.message)


class RuleSyntaxError(SessionwatchError):
    """The file is not valid YAML, or uses YAML features rules forbid."""


class RuleSchemaError(SessionwatchError):
    """The rule does not match the JSON Schema, or breaks a cross-rule constraint."""


class RenderError(SessionwatchError):
    """A rule could not be rendered to a target."""


class UnsupportedByTarget(RenderError):
    """The rule is valid, but this target cannot express its kind (another target can)."""


class EnrichError(SessionwatchError):
    """An event could not be enriched."""


class PluginError(SessionwatchError):
    """An entry point could not be loaded or clashes with another."""


class ElasticsearchUnavailable(SessionwatchError):
    """The cluster cannot be reached or refused the request."""


class UsageError(SessionwatchError):
    """The command cannot start as asked: a missing path, a bad name, a file in the way (exit 2)."""


class RuleErrors(SessionwatchError):
    """Several located errors, reported together (sorted)."""

    def __init__(self, errors: list[SessionwatchError]) -> None:
        self.errors = sorted(errors, key=SessionwatchError.sort_key)
        super().__init__("\n".join(str(e) for e in self.errors))

    def __str__(self) -> str:
        return self.message
