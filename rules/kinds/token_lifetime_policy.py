"""Token issued with a lifetime longer than ``max_token_lifetime``."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionwatch.rules.kinds._params import DURATION, Duration, Params
from sessionwatch.rules.kinds._samples import H, M, Sample, event, token, ts
from sessionwatch.rules.kinds._spec import KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, duration_over, fact


@dataclass(frozen=True)
class TokenLifetimeParams(Params):
    max_token_lifetime: Duration = field(metadata=DURATION)


def _sample() -> Sample:
    return Sample(
        "Token issued with a lifetime longer than 1 hour",
        {"max_token_lifetime": "1h"},
        (event("p-1", 0, "token_issued", **token("tok-1", issued_at=ts(0), expires_at=ts(24 * H))),),
        (event("n-1", 0, "token_issued", **token("tok-2", issued_at=ts(0), expires_at=ts(30 * M))),),
        {"session": "sw-1", "event": "p-1"},
        {"nist-800-53": ("IA-11",)},
        ("T1528",),
    )


def _describe(alert: Alert, params: Limits) -> str:
    return duration_over("lifetime", fact(alert, "token.lifetime_seconds"), params, "max_token_lifetime")


KIND = KindSpec(
    name="token_lifetime_policy",
    summary="token issued with a lifetime over policy",
    position=6,
    params=TokenLifetimeParams,
    shape=Shape.TOKENS,
    reads=frozenset({"sessionwatch.token.id", "sessionwatch.token.lifetime_seconds"}),
    evidence=(
        "sessionwatch.token.id",
        "sessionwatch.token.issued_at",
        "sessionwatch.token.expires_at",
        "sessionwatch.token.lifetime_seconds",
    ),
    sample=_sample,
    describe=_describe,
)
