"""Data model of a scenario: acts (what happened), labels (ground truth), limits (the policy)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

Event = dict[str, Any]


def iso(epoch: float) -> str:
    """ISO-8601 UTC with milliseconds, as the integrations write ``@timestamp``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Limits:
    """The strictest limit per kind in the shipped pack: clean traffic and near misses stay under
    them; violations exceed every limit of their kind by a wide margin (see WIDE)."""

    idle: float = 15 * 60
    lifetime: float = 8 * 3600
    logout_grace: float = 30
    revoke_grace: float = 30
    expiry_skew: float = 60
    token_lifetime: float = 3600
    renewal_lifetime: float = 8 * 3600
    max_sessions: int = 3
    sessions_within: float = 15 * 60
    rate_per_minute: int = 120
    sensitive_auth_age: float = 15 * 60


@dataclass(frozen=True)
class Device:
    fingerprint: str
    user_agent: str
    kind: str  # Computer | Mobile


@dataclass
class User:
    name: str  # short login (Teleport, sshd, generic apps)
    email: str
    uid: str  # vendor-neutral opaque id
    weight: float  # Zipf activity weight
    home_net: str  # "a.b.c" of the user's home /24
    office_net: str
    devices: list[Device]
    vendors: list[str]
    tz_offset_h: int


@dataclass
class Token:
    token_id: str
    issued_at: float
    ttl: float
    client: str = "portal-web"
    grant: str = "authorization_code"


@dataclass
class Act:
    """One thing a user or system did, before a vendor renders it as its own log line."""

    action: str  # login activity reauth logout termination token_issue token_refresh token_revoke
    # account_disable account_enable upload failure
    t: float
    user: User
    session: str | None
    ip: str
    device: Device | None
    eid: str = ""
    token: Token | None = None
    target: User | None = None  # admin lifecycle: the account acted on
    path: str | None = None
    revoked_token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Label:
    """One injected violation or near miss. ``event_ids`` are the offending (or boundary) events;
    ``start``/``end`` their time span. ``needs`` says what must be configured for a rule to see
    a violation: ``site`` (site values: networks, clients, sensitive paths) or ``set:NAME`` (a
    policy set the default configuration leaves off); empty = the default configuration."""

    label_id: str
    kind: str
    truth: str  # violation | near_miss
    vendor: str
    description: str
    event_ids: list[str]
    start: str
    end: str
    session: str | None = None
    account: str | None = None
    needs: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Label:
        return cls(**data)


@dataclass
class Scenario:
    events: list[Event]
    labels: list[Label]
    site: dict[str, Any]
