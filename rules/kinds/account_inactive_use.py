"""Activity by a disabled, deprovisioned or long-dormant account (one alert per account and
session: the template groups by both)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from sessionwatch.rules.kinds._params import DURATION, Duration, Params, strings
from sessionwatch.rules.kinds._samples import M, Sample, event
from sessionwatch.rules.kinds._spec import KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, fact, human_duration, over


@dataclass(frozen=True)
class InactiveUseParams(Params):
    ANY_OF: ClassVar[tuple[str, ...]] = ("inactive_statuses", "max_dormancy")

    inactive_statuses: tuple[str, ...] | None = field(
        default=None, metadata=strings({"enum": ["disabled", "deprovisioned"]})
    )
    max_dormancy: Duration | None = field(default=None, metadata=DURATION)


def _sample() -> Sample:
    def disabled(eid: str, target: str) -> dict[str, object]:
        return event(eid, 0, "account_disabled", session="adm-1", user="admin", user_target={"name": target})

    return Sample(
        "Activity by a disabled account",
        {"inactive_statuses": ["disabled"]},
        (disabled("p-1", "alice"), event("p-2", 10 * M, "view")),
        (disabled("n-1", "bob"), event("n-2", 10 * M, "view")),
        {"session": "sw-1", "event": "p-2"},
        {"nist-800-53": ("AC-2(3)",)},
        ("T1078",),
    )


def _describe(alert: Alert, params: Limits) -> str:
    status = fact(alert, "account.status")
    if status is not None and status in (params.get("inactive_statuses") or ()):
        return f"account {status}"
    days = fact(alert, "account.dormant_days")
    if days is not None:
        return over(f"dormant {human_duration(days * 86400)}", params, "max_dormancy")
    return f"account {status or 'inactive'}"


KIND = KindSpec(
    name="account_inactive_use",
    summary="activity by an inactive account",
    position=8,
    params=InactiveUseParams,
    shape=Shape.ACTORS,
    reads=frozenset(
        {
            "sessionwatch.account.dormant_days",
            "sessionwatch.account.status",
            "sessionwatch.actor.name",
            "sessionwatch.event.accepted",
            "sessionwatch.event.action",
            "sessionwatch.event.id",
            "sessionwatch.session.id",
        }
    ),
    evidence=(
        "sessionwatch.account.status",
        "sessionwatch.account.dormant_days",
        "sessionwatch.account.last_seen",
        "sessionwatch.session.id",
    ),
    sample=_sample,
    describe=_describe,
)
