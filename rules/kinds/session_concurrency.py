"""Account holding more than ``max_sessions`` sessions ``within`` a window (one alert per account)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sessionwatch.rules.kinds._params import COUNT, DURATION, Duration, Params
from sessionwatch.rules.kinds._samples import M, Sample, event
from sessionwatch.rules.kinds._spec import Issue, KindSpec, Shape, Threshold
from sessionwatch.rules.kinds._wording import Alert, Limits, count, over

if TYPE_CHECKING:
    from sessionwatch.rules.model import Rule


@dataclass(frozen=True)
class ConcurrencyParams(Params):
    max_sessions: int = field(metadata=COUNT)
    within: Duration = field(metadata=DURATION)


def _checks(rule: Rule) -> Iterator[Issue]:
    params = rule.params
    assert isinstance(params, ConcurrencyParams)
    if params.within.seconds > rule.schedule.lookback_seconds:
        yield Issue(
            "/params/within",
            "SW503",
            "within is longer than the schedule lookback: the search window cannot cover it",
        )


def _sample() -> Sample:
    return Sample(
        "Account holding more than 2 sessions at once",
        {"max_sessions": 2, "within": "1h"},
        tuple(event(f"p-{i}", i * M, "login", session=f"sw-{i}") for i in range(1, 4)),
        tuple(event(f"n-{i}", i * M, "login", session=f"sw-{i}") for i in range(1, 3)),
        {"user": "alice"},
        {"nist-800-53": ("AC-10",)},
        ("T1078",),
    )


def _describe(alert: Alert, params: Limits) -> str:
    sessions = count(alert, "sessions")
    return over(f"{sessions if sessions is not None else '?'} sessions", params, "max_sessions")


KIND = KindSpec(
    name="session_concurrency",
    summary="too many concurrent sessions of one account",
    position=12,
    params=ConcurrencyParams,
    shape=Shape.ACTORS,
    threshold=Threshold(metric="sessions", param="max_sessions"),
    period_param="within",
    names_session=False,
    reads=frozenset(
        {
            "sessionwatch.actor.name",
            "sessionwatch.event.id",
            "sessionwatch.event.profile",
            "sessionwatch.session.ended",
            "sessionwatch.session.id",
        }
    ),
    evidence=("sessionwatch.session.id",),
    sample=_sample,
    checks=_checks,
    describe=_describe,
)
