"""What declares a rule kind: one ``KindSpec`` per module of this package (see ``_registry``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sessionwatch.rules.kinds._params import Params

if TYPE_CHECKING:
    from sessionwatch.rules.kinds._samples import Sample
    from sessionwatch.rules.model import Rule


# Facts about the session that explain most session verdicts (copied into alerts as evidence).
SESSION_FACTS = ("sessionwatch.session.start", "sessionwatch.session.age_seconds")


# A kind's finding in words, "actual vs limit": (alert, the rule's parameters as a mapping) → text.
Describe = Callable[[Mapping[str, Any], Mapping[str, Any]], str]


class Shape(StrEnum):
    """How a kind's alerts are grouped."""

    EVENTS = "events"  # hits: one alert per offending event
    SESSIONS = "sessions"  # composite on the session id: one alert per session
    TOKENS = "tokens"  # composite on the token id: one alert per token
    ACTORS = "actors"  # composite on the actor: one alert per account (over a threshold, if any)


@dataclass(frozen=True)
class Threshold:
    """A per-entity threshold: the bucket metric that must exceed the rule parameter."""

    metric: str
    param: str

    def limit(self, params: Params) -> int:
        """The rule's value of the threshold parameter (an entity over it trips the rule)."""
        return int(getattr(params, self.param))


@dataclass(frozen=True, order=True)
class Issue:
    """A kind-specific lint finding before it is located: JSON pointer, code, message (errors)."""

    pointer: str
    code: str
    message: str


@dataclass(frozen=True, kw_only=True)
class KindSpec:
    """Everything that defines one rule kind.

    ``name`` is the kind (``rule.category`` in alerts); the query template is
    ``query/<name>.json.j2``. ``reads`` are the ``sessionwatch.*`` facts the template queries;
    ``evidence`` the facts copied into each alert. ``names_session``: whether an alert names one
    session (per-account alerts about many sessions name none). ``describe`` words one alert's
    finding for people ("idle 27m > 15m"; helpers in ``_wording``); without it, the alert's message.
    """

    name: str
    summary: str
    params: type[Params]
    shape: Shape
    reads: frozenset[str]
    evidence: tuple[str, ...]
    sample: Callable[[], Sample]
    position: int  # where the kind appears in lists (the order of docs/architecture.md's kind table)
    threshold: Threshold | None = None
    names_session: bool = True
    # Events without a session id can still offend (a refresh logged with no session): their
    # alerts name the account instead.
    session_optional: bool = False
    # A threshold counted per period: the duration parameter that sets the period's length.
    period_param: str | None = None
    checks: Callable[[Rule], Iterator[Issue]] | None = None
    describe: Describe | None = None

    @property
    def template(self) -> str:
        return f"query/{self.name}.json.j2"

    @property
    def per_account(self) -> bool:
        return self.shape is Shape.ACTORS

    def period_seconds(self, params: Params) -> int | None:
        """The length of the periods the threshold counts in (None: the kind has none)."""
        return None if self.period_param is None else int(getattr(params, self.period_param).seconds)

    def parse_params(self, raw: Any) -> Params:
        return raw if isinstance(raw, self.params) else self.params.from_raw(raw)

    def lint(self, rule: Rule) -> Iterator[Issue]:
        """The checks only this kind needs (beyond the schema)."""
        if self.checks is not None:
            yield from self.checks(rule)
