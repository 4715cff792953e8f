"""Session used after more than ``max_lifetime`` since it started (or since authentication)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sessionwatch.rules.kinds._params import DURATION, Duration, Params, choice
from sessionwatch.rules.kinds._samples import H, M, Sample, event
from sessionwatch.rules.kinds._spec import SESSION_FACTS, KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, duration_over, fact


@dataclass(frozen=True)
class MaxLifetimeParams(Params):
    max_lifetime: Duration = field(metadata=DURATION)
    anchor: Literal["session_start", "authentication"] = field(
        metadata=choice(
            "session_start",
            "authentication",
            description="Measure from the session start, or from the latest (re-)authentication.",
        )
    )


def _sample() -> Sample:
    def events(prefix: str, last: int) -> tuple[dict[str, object], ...]:
        times = (0, 10 * M, last)
        return tuple(
            event(f"{prefix}-{i + 1}", t, "login" if i == 0 else "view") for i, t in enumerate(times)
        )

    return Sample(
        "Session used after more than 8 hours",
        {"max_lifetime": "8h", "anchor": "session_start"},
        events("p", 9 * H),
        events("n", 7 * H),
        {"session": "sw-1", "event": "p-3"},
    )


def _describe(alert: Alert, params: Limits) -> str:
    if params.get("anchor") == "authentication" and fact(alert, "session.since_auth_seconds") is not None:
        return duration_over("since login", fact(alert, "session.since_auth_seconds"), params, "max_lifetime")
    return duration_over("age", fact(alert, "session.age_seconds"), params, "max_lifetime")


KIND = KindSpec(
    name="session_max_lifetime",
    summary="session used past its absolute lifetime",
    position=1,
    params=MaxLifetimeParams,
    shape=Shape.SESSIONS,
    reads=frozenset(
        {
            "sessionwatch.session.age_seconds",
            "sessionwatch.session.id",
            "sessionwatch.session.since_auth_seconds",
        }
    ),
    evidence=(*SESSION_FACTS, "sessionwatch.session.since_auth_seconds"),
    sample=_sample,
    describe=_describe,
)
