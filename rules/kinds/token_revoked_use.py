"""Token accepted more than ``grace`` after it was revoked."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionwatch.rules.kinds._params import DURATION, Duration, Params
from sessionwatch.rules.kinds._samples import M, Sample, event, token
from sessionwatch.rules.kinds._spec import KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, fact, human_duration


@dataclass(frozen=True)
class RevokedUseParams(Params):
    grace: Duration = field(metadata=DURATION)


def _sample() -> Sample:
    return Sample(
        "Token accepted after it was revoked",
        {"grace": "1m"},
        (
            event("p-1", 0, "login", **token("tok-1")),
            event("p-2", 5 * M, "token_revoked", token={"revoked_id": "tok-1"}),
            event("p-3", 10 * M, "view", **token("tok-1")),
        ),
        (
            event("n-1", 0, "login", **token("tok-1")),
            event("n-2", 5 * M, "token_revoked", token={"revoked_id": "tok-9"}),
            event("n-3", 10 * M, "view", **token("tok-1")),
        ),
        {"session": "sw-1", "event": "p-3"},
        {"nist-800-53": ("IA-11",)},
        ("T1550.001",),
    )


def _describe(alert: Alert, params: Limits) -> str:
    return f"used {human_duration(fact(alert, 'token.since_revocation_seconds'))} after revocation"


KIND = KindSpec(
    name="token_revoked_use",
    summary="token accepted after revocation",
    position=4,
    params=RevokedUseParams,
    shape=Shape.SESSIONS,
    reads=frozenset(
        {
            "sessionwatch.event.action",
            "sessionwatch.session.id",
            "sessionwatch.token.revoked",
            "sessionwatch.token.since_revocation_seconds",
        }
    ),
    evidence=("sessionwatch.token.id", "sessionwatch.token.since_revocation_seconds"),
    sample=_sample,
    describe=_describe,
)
