"""Token accepted more than ``clock_skew`` after it expired."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionwatch.rules.kinds._params import DURATION, Duration, Params
from sessionwatch.rules.kinds._samples import M, Sample, event, token, ts
from sessionwatch.rules.kinds._spec import KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, fact, human_duration


@dataclass(frozen=True)
class ExpiredUseParams(Params):
    clock_skew: Duration = field(metadata=DURATION)


def _sample() -> Sample:
    tok = token("tok-1", issued_at=ts(0), expires_at=ts(15 * M))
    return Sample(
        "Token accepted after it expired",
        {"clock_skew": "1m"},
        (
            event("p-1", 0, "login", **tok),
            event("p-2", 5 * M, "view", **tok),
            event("p-3", 30 * M, "view", **tok),
        ),
        (
            event("n-1", 0, "login", **tok),
            event("n-2", 5 * M, "view", **tok),
            event("n-3", 14 * M, "view", **tok),
        ),
        {"session": "sw-1", "event": "p-3"},
        {"nist-800-53": ("IA-11",)},
        ("T1550.001",),
    )


def _describe(alert: Alert, params: Limits) -> str:
    past = human_duration(fact(alert, "token.past_expiry_seconds"))
    skew = f" > {params['clock_skew']} skew" if "clock_skew" in params else ""
    return f"used {past} past expiry{skew}"


KIND = KindSpec(
    name="token_expired_use",
    summary="token accepted after expiry",
    position=5,
    params=ExpiredUseParams,
    shape=Shape.SESSIONS,
    reads=frozenset(
        {"sessionwatch.event.action", "sessionwatch.session.id", "sessionwatch.token.past_expiry_seconds"}
    ),
    evidence=(
        "sessionwatch.token.id",
        "sessionwatch.token.expires_at",
        "sessionwatch.token.past_expiry_seconds",
    ),
    sample=_sample,
    describe=_describe,
)
