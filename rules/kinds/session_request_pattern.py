"""Session making requests at an inhuman rate, or reaching sensitive or unexpected paths."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from sessionwatch.rules.kinds._params import COUNT, DURATION, Duration, Params, strings
from sessionwatch.rules.kinds._samples import Sample, event
from sessionwatch.rules.kinds._spec import KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, duration_over, fact


@dataclass(frozen=True)
class RequestPatternParams(Params):
    ANY_OF: ClassVar[tuple[str, ...]] = ("max_requests_per_minute", "sensitive_paths", "allowed_paths")
    DEPENDENT: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "sensitive_paths": ("max_auth_age",),
        "max_auth_age": ("sensitive_paths",),
    }

    max_requests_per_minute: int | None = field(default=None, metadata=COUNT)
    sensitive_paths: tuple[str, ...] | None = field(default=None, metadata=strings())
    max_auth_age: Duration | None = field(default=None, metadata=DURATION)
    allowed_paths: tuple[str, ...] | None = field(default=None, metadata=strings())


def _sample() -> Sample:
    burst = tuple(event(f"p-{i}", 1.5 * i, "view") for i in range(1, 41))
    calm = tuple(event(f"n-{i}", 6.0 * i, "view") for i in range(1, 11))
    return Sample(
        "Session making more than 30 requests a minute",
        {"max_requests_per_minute": 30},
        (event("p-0", 0, "login"), *burst),
        (event("n-0", 0, "login"), *calm),
        {"session": "sw-1"},
        {"nist-800-53": ("SI-4",)},
        ("T1185",),
    )


def _describe(alert: Alert, params: Limits) -> str:
    rate = fact(alert, "session.requests_last_minute")
    limit = params.get("max_requests_per_minute")
    if rate is not None and limit is not None and rate > limit:
        return f"{rate} requests/min > {limit}"
    path, since_auth = fact(alert, "url.path"), fact(alert, "session.since_auth_seconds")
    if path is not None and "max_auth_age" in params:
        return f"{path} {duration_over('with login', since_auth, params, 'max_auth_age')} old"
    return f"{rate if rate is not None else '?'} requests/min"


KIND = KindSpec(
    name="session_request_pattern",
    summary="session with an abnormal request pattern",
    position=11,
    params=RequestPatternParams,
    shape=Shape.SESSIONS,
    reads=frozenset(
        {
            "sessionwatch.session.id",
            "sessionwatch.session.requests_last_minute",
            "sessionwatch.session.since_auth_seconds",
            "sessionwatch.url.path",
        }
    ),
    evidence=(
        "sessionwatch.url.path",
        "sessionwatch.session.requests_last_minute",
        "sessionwatch.session.since_auth_seconds",
    ),
    sample=_sample,
    describe=_describe,
)
