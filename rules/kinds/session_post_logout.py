"""Session used more than ``grace`` after it ended (logout or termination)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionwatch.rules.kinds._params import DURATION, Duration, Params
from sessionwatch.rules.kinds._samples import M, Sample, event
from sessionwatch.rules.kinds._spec import SESSION_FACTS, KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, fact, human_duration


@dataclass(frozen=True)
class PostLogoutParams(Params):
    grace: Duration = field(metadata=DURATION)


def _sample() -> Sample:
    return Sample(
        "Session used after logout",
        {"grace": "1m"},
        (event("p-1", 0, "login"), event("p-2", 5 * M, "logout"), event("p-3", 10 * M, "view")),
        (event("n-1", 0, "login"), event("n-2", 5 * M, "view"), event("n-3", 10 * M, "logout")),
        {"session": "sw-1", "event": "p-3"},
    )


def _describe(alert: Alert, params: Limits) -> str:
    end = str(fact(alert, "session.end_action") or "logout")
    return f"used {human_duration(fact(alert, 'session.since_end_seconds'))} after {end}"


KIND = KindSpec(
    name="session_post_logout",
    summary="session used after logout",
    position=3,
    params=PostLogoutParams,
    shape=Shape.SESSIONS,
    reads=frozenset(
        {"sessionwatch.session.ended", "sessionwatch.session.id", "sessionwatch.session.since_end_seconds"}
    ),
    evidence=("sessionwatch.session.end_action", "sessionwatch.session.since_end_seconds", *SESSION_FACTS),
    sample=_sample,
    describe=_describe,
)
