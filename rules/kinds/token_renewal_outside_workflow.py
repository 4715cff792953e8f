"""Token renewed through a grant type, client or endpoint the policy does not allow, or too late."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from sessionwatch.rules.kinds._params import DURATION, Duration, Params, strings
from sessionwatch.rules.kinds._samples import M, Sample, event
from sessionwatch.rules.kinds._spec import KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, duration_over, fact, listed


@dataclass(frozen=True)
class RenewalParams(Params):
    ANY_OF: ClassVar[tuple[str, ...]] = (
        "allowed_grant_types",
        "allowed_clients",
        "allowed_endpoints",
        "max_lifetime",
    )

    allowed_grant_types: tuple[str, ...] | None = field(default=None, metadata=strings())
    allowed_clients: tuple[str, ...] | None = field(default=None, metadata=strings())
    allowed_endpoints: tuple[str, ...] | None = field(default=None, metadata=strings())
    max_lifetime: Duration | None = field(default=None, metadata=DURATION)


def _sample() -> Sample:
    return Sample(
        "Token renewed through a grant type policy does not allow",
        {"allowed_grant_types": ["refresh_token"]},
        (event("p-1", 0, "login"), event("p-2", 10 * M, "token_refreshed", token={"grant_type": "password"})),
        (
            event("n-1", 0, "login"),
            event("n-2", 10 * M, "token_refreshed", token={"grant_type": "refresh_token"}),
        ),
        {"session": "sw-1", "event": "p-2"},
        {"nist-800-53": ("IA-11",)},
        ("T1528",),
    )


def _describe(alert: Alert, params: Limits) -> str:
    grant, client = fact(alert, "token.grant_type"), fact(alert, "token.client_id")
    allowed_grants, allowed_clients = params.get("allowed_grant_types"), params.get("allowed_clients")
    if grant is not None and allowed_grants is not None and grant not in allowed_grants:
        return f"grant {grant} not in {listed(allowed_grants)}"
    if client is not None and allowed_clients is not None and client not in allowed_clients:
        return f"client {client} not in {listed(allowed_clients)}"
    age = fact(alert, "session.age_seconds")
    if age is not None and "max_lifetime" in params:
        return duration_over("renewed at session age", age, params, "max_lifetime")
    return f"renewed via {grant or '?'} by {client or '?'}"


KIND = KindSpec(
    name="token_renewal_outside_workflow",
    summary="token renewed outside the allowed workflow",
    position=7,
    params=RenewalParams,
    shape=Shape.EVENTS,
    session_optional=True,
    reads=frozenset(
        {
            "sessionwatch.event.accepted",
            "sessionwatch.event.action",
            "sessionwatch.session.age_seconds",
            "sessionwatch.session.id",
            "sessionwatch.token.client_id",
            "sessionwatch.token.grant_type",
            "sessionwatch.url.path",
        }
    ),
    evidence=(
        "sessionwatch.token.id",
        "sessionwatch.token.grant_type",
        "sessionwatch.token.client_id",
        "sessionwatch.url.path",
        "sessionwatch.session.age_seconds",
    ),
    sample=_sample,
    describe=_describe,
)
