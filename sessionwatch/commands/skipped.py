"""Rules a command goes on without: located errors on stderr, counted (``detect``, ``run``)."""

from __future__ import annotations

import sys

from sessionwatch.rules.errors import SessionwatchError


class SkippedRules:
    """``on_error`` for ``load_selected`` in commands that go on without a bad rule: each
    problem printed as a located error on stderr, and counted."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.count = 0

    def __call__(self, error: SessionwatchError) -> None:
        self.count += 1
        print(f"{error}", file=sys.stderr)

    def report(self) -> None:
        if self.count:
            print(
                f"{self.command}: {self.count} rule problem(s) above: those rules were skipped, "
                "the others evaluated",
                file=sys.stderr,
            )
