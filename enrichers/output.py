"""What the engine writes: output lines (the input's text with the facts appended), dead
letters, and the counts that prove nothing was lost."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sessionwatch.enrichers.jsonio import dumps_compact
from sessionwatch.enrichers.profile_hint import ProfileUsage
from sessionwatch.rules.counters import Counters


@dataclass(frozen=True)
class DeadLetter:
    line: int
    reason: str
    raw: str

    def to_json(self) -> str:
        return json.dumps({"line": self.line, "reason": self.reason, "raw": self.raw}, ensure_ascii=False)


@dataclass
class Counts(Counters):
    read: int = 0
    enriched: int = 0
    passed_through: int = 0
    dead_letter: int = 0
    out_of_order: int = 0
    state_evicted: int = 0
    repaired: int = 0  # events written with a field repaired or dropped (see ``admission``)
    evicted_for_memory: int = 0  # open sessions dropped at the ``max_sessions`` cap
    profiles: ProfileUsage = field(default_factory=ProfileUsage, repr=False, compare=False)

    @property
    def conserved(self) -> bool:
        return self.read == self.enriched + self.passed_through + self.dead_letter


@dataclass
class Output:
    """One result per input line: a document to write, or a dead letter. ``raw`` is the input
    line's text; ``facts`` the ``sessionwatch`` object of an enriched event."""

    line: int
    source: Mapping[str, Any] | None = None
    dead: DeadLetter | None = None
    enriched: bool = False
    raw: str | None = None
    facts: dict[str, Any] | None = None
    written: str | None = None  # the output line, when already serialised

    @cached_property
    def doc(self) -> dict[str, Any] | None:
        """The output document: the input, plus ``sessionwatch`` when enriched."""
        if self.source is None:
            return None
        out = dict(self.source)
        if self.facts is not None:
            out["sessionwatch"] = self.facts
        return out

    def text(self) -> str:
        """The NDJSON line to write (without its newline)."""
        if self.written is not None:
            return self.written
        if self.raw is None:
            raise ValueError(f"line {self.line} is a dead letter: it has no output text")
        if self.facts is None or self.source is None:
            return self.raw  # passed through unchanged
        return splice(self.raw, self.source, self.facts)


def splice(raw: str, source: Mapping[str, Any], facts: Mapping[str, Any]) -> str:
    """The input line's own text with ``"sessionwatch": {...}`` appended: the input fields are
    written exactly as they came, and only the facts are serialised. Falls back to a full dump
    when the input already has a ``sessionwatch`` key or is not a plain ``{...}`` line."""
    text = raw.rstrip()
    if appendable(text, source):
        return append_facts(text, facts)
    # \u-escapes keep any lone surrogate of the input writable as UTF-8
    return json.dumps({**source, "sessionwatch": facts}, separators=(",", ":"), allow_nan=False)


def appendable(text: str, source: Mapping[str, Any]) -> bool:
    """Whether the facts can be appended to ``text`` (the input line, right-stripped)."""
    return bool(source) and "sessionwatch" not in source and text.endswith("}")


def append_facts(text: str, facts: Mapping[str, Any]) -> str:
    """``text`` (an ``appendable`` line) with ``"sessionwatch": facts`` as its last member."""
    return f'{text[:-1]},"sessionwatch":{dump(facts)}}}'


def redump(doc: Mapping[str, Any]) -> str:
    """The text of an input document changed by ``admission`` (escaped as in ``splice``)."""
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)


def dead_reason(exc: BaseException) -> str:
    """A dead-letter reason for an unexpected per-event error."""
    text = str(exc)
    if isinstance(exc, ValueError) and "integer string conversion" in text:
        return "a number has more than 4,300 digits"
    return f"{type(exc).__name__}: {text}"[:300]


def dump(doc: Mapping[str, Any]) -> str:
    """The one serialization of output documents (compact, UTF-8, key order kept)."""
    return dumps_compact(doc)
