"""Output for people, shared by every command: colour (a terminal only, never with ``NO_COLOR``),
counted nouns, the one-line summary all commands end with, and progress on a terminal.

The summary shape is the same everywhere: ``COUNT NOUN[ qualifier]: breakdown``, e.g.
``42 cases: 41 passed, 1 failed``, ``21 rules valid: 0 errors, 2 warnings``,
``6 alerts from 3 rules: 4 high, 2 medium · 2 sessions · 2 users``.
Human output is not a contract (machine formats are): it may change between releases.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import TextIO, TypeVar

T = TypeVar("T")
_STYLES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "magenta": "35", "cyan": "36"}


def isatty(stream: TextIO) -> bool:
    check = getattr(stream, "isatty", None)
    return bool(check and check())


def use_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Colour on a terminal, unless ``NO_COLOR`` is set to anything (https://no-color.org)."""
    env = os.environ if environ is None else environ
    return isatty(stream) and not env.get("NO_COLOR") and env.get("TERM") != "dumb"


class Painter:
    """``paint(text, "red")``: ANSI styles when colour is on, the text unchanged otherwise."""

    def __init__(self, colour: bool) -> None:
        self.colour = colour

    @classmethod
    def for_stream(cls, stream: TextIO) -> Painter:
        return cls(use_colour(stream))

    def __call__(self, text: str, style: str) -> str:
        if not self.colour or style not in _STYLES:
            return text
        return f"\x1b[{_STYLES[style]}m{text}\x1b[0m"


def plural(count: int, noun: str) -> str:
    """``plural(1, "rule")`` → ``1 rule``; ``plural(2, "rule")`` → ``2 rules``."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def counted(count: int, noun: str, style: str, paint: Painter) -> str:
    """A count, painted in ``style`` only when it is not zero (zero failures are not news)."""
    text = plural(count, noun)
    return paint(text, style) if count else text


class Progress:
    """``label: done/total`` rewritten in place on a terminal stream (stderr), at most every 0.2 s."""

    def __init__(self, stream: TextIO, label: str, total: int | None = None) -> None:
        self.stream = stream
        self.label = label
        self.total = total
        self.last = 0.0
        self.shown = False

    @classmethod
    def on_terminal(cls, stream: TextIO, label: str, total: int | None = None) -> Progress | None:
        """A progress line when ``stream`` is a terminal; None (no output at all) otherwise."""
        return cls(stream, label, total) if isatty(stream) else None

    def update(self, done: int, note: str = "") -> None:
        now = time.monotonic()
        if now - self.last < 0.2 and (self.total is None or done < self.total):
            return
        self.last = now
        of = f"/{self.total}" if self.total is not None else ""
        self.stream.write(f"\r\x1b[K{self.label}: {done}{of}{' ' + note if note else ''}")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        """Clear the progress line, so the summary that follows starts on a clean line."""
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def with_progress(items: Iterable[T], label: str, total: int | None, stream: TextIO) -> Iterator[T]:
    """``items`` unchanged, with a progress line on ``stream`` when it is a terminal."""
    progress = Progress.on_terminal(stream, label, total)
    if progress is None:
        yield from items
        return
    try:
        for done, item in enumerate(items, start=1):
            yield item
            progress.update(done)
    finally:
        progress.done()


def validate_summary(errors: int, warnings: int, rules: int, files: int, paint: Painter) -> str:
    """``21 rules valid: 0 errors, 2 warnings`` or ``3 rule files: 5 errors, 1 warning``."""
    counts = f"{counted(errors, 'error', 'red', paint)}, {counted(warnings, 'warning', 'yellow', paint)}"
    if errors:
        return f"{plural(files, 'rule file')}: {counts}"
    return f"{paint(plural(rules, 'rule') + ' valid', 'green')}: {counts}"


def test_summary(passed: int, failed: int, paint: Painter) -> str:
    """``42 cases: 41 passed, 1 failed`` (a case that could not run counts as failed)."""
    shown_passed = paint(f"{passed} passed", "green") if passed else "0 passed"
    shown_failed = paint(f"{failed} failed", "red") if failed else "0 failed"
    return f"{plural(passed + failed, 'case')}: {shown_passed}, {shown_failed}"
