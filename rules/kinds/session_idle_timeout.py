"""Session used after more than ``idle_timeout`` without activity."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionwatch.rules.kinds._params import DURATION, Duration, Params
from sessionwatch.rules.kinds._samples import M, Sample, event
from sessionwatch.rules.kinds._spec import SESSION_FACTS, KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, duration_over, fact


@dataclass(frozen=True)
class IdleTimeoutParams(Params):
    idle_timeout: Duration = field(metadata=DURATION)


def _sample() -> Sample:
    return Sample(
        "Session used after more than 15 minutes idle",
        {"idle_timeout": "15m"},
        (event("p-1", 0, "login"), event("p-2", 5 * M, "view"), event("p-3", 30 * M, "export")),
        (event("n-1", 0, "login"), event("n-2", 10 * M, "view"), event("n-3", 20 * M, "export")),
        {"session": "sw-1", "event": "p-3"},
        {"nist-800-53": ("AC-11", "AC-12")},
        ("T1550.004", "T1539"),
    )


def _describe(alert: Alert, params: Limits) -> str:
    return duration_over("idle", fact(alert, "session.idle_seconds"), params, "idle_timeout")


KIND = KindSpec(
    name="session_idle_timeout",
    summary="session used after the idle timeout",
    position=2,
    params=IdleTimeoutParams,
    shape=Shape.EVENTS,
    reads=frozenset(
        {
            "sessionwatch.event.accepted",
            "sessionwatch.event.id",
            "sessionwatch.session.id",
            "sessionwatch.session.idle_seconds",
            "sessionwatch.session.reauth",
        }
    ),
    evidence=("sessionwatch.session.idle_seconds", *SESSION_FACTS),
    sample=_sample,
    describe=_describe,
)
