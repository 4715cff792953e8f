"""Session used from an address outside the allowed networks, another network, or too many addresses."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from sessionwatch.rules.kinds._params import COUNT, FLAG, Params, strings
from sessionwatch.rules.kinds._samples import M, Sample, event
from sessionwatch.rules.kinds._spec import Issue, KindSpec, Shape
from sessionwatch.rules.kinds._wording import Alert, Limits, alert_field, count, fact, listed, over

if TYPE_CHECKING:
    from sessionwatch.rules.model import Rule

CIDR = {"type": "string", "pattern": "^[0-9A-Fa-f.:]+/[0-9]{1,3}$"}


@dataclass(frozen=True)
class IpBindingParams(Params):
    ANY_OF: ClassVar[tuple[str, ...]] = ("allowed_cidrs", "bind_to_first_network", "max_addresses")

    allowed_cidrs: tuple[str, ...] | None = field(default=None, metadata=strings(CIDR))
    bind_to_first_network: bool | None = field(default=None, metadata=FLAG)
    max_addresses: int | None = field(default=None, metadata=COUNT)


def _checks(rule: Rule) -> Iterator[Issue]:
    params = rule.params
    assert isinstance(params, IpBindingParams)
    for i, cidr in enumerate(params.allowed_cidrs or ()):
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError as exc:
            yield Issue(f"/params/allowed_cidrs/{i}", "SW502", f"invalid CIDR: {exc}")


def _sample() -> Sample:
    return Sample(
        "Session used from another network than it started on",
        {"bind_to_first_network": True},
        (event("p-1", 0, "login"), event("p-2", 5 * M, "view", ip="203.0.113.50")),
        (event("n-1", 0, "login"), event("n-2", 5 * M, "view")),
        {"session": "sw-1", "event": "p-2"},
        {"nist-800-53": ("SC-23",)},
        ("T1539", "T1185"),
    )


def _describe(alert: Alert, params: Limits) -> str:
    address = fact(alert, "source.ip") or alert_field(alert, "source.ip") or "?"
    if "allowed_cidrs" in params:
        return f"{address} outside {listed(params['allowed_cidrs'])}"
    if "max_addresses" in params and count(alert, "addresses") is not None:
        return over(f"{count(alert, 'addresses')} addresses", params, "max_addresses")
    return f"network changed: {address}, started on {fact(alert, 'ip.first') or '?'}"


KIND = KindSpec(
    name="session_ip_binding",
    summary="session used from another network",
    position=9,
    params=IpBindingParams,
    shape=Shape.SESSIONS,
    reads=frozenset(
        {
            "sessionwatch.ip.distinct",
            "sessionwatch.ip.prefix_changed",
            "sessionwatch.session.id",
            "sessionwatch.source.ip",
        }
    ),
    evidence=(
        "sessionwatch.source.ip",
        "sessionwatch.ip.first",
        "sessionwatch.ip.prefix_changed",
        "sessionwatch.ip.distinct",
    ),
    sample=_sample,
    checks=_checks,
    describe=_describe,
)
