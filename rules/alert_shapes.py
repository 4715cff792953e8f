"""What each rule kind's alerts look like: their grouping, threshold and evidence facts.

Shared by the alert builder (core) and the Watcher renderer, which must produce the same documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sessionwatch.rules.kinds import Kind


class Shape(StrEnum):
    EVENTS = "events"  # hits: one alert per offending event
    SESSIONS = "sessions"  # composite on the session id: one alert per session
    TOKENS = "tokens"  # composite on the token id: one alert per token
    ACTORS = "actors"  # composite on the actor: one alert per account (over a threshold, if any)


@dataclass(frozen=True)
class Threshold:
    """A per-entity threshold: the bucket metric that must exceed the rule parameter."""

    metric: str
    param: str


SHAPES: Mapping[Kind, Shape] = {
    Kind.SESSION_IDLE_TIMEOUT: Shape.EVENTS,
    Kind.TOKEN_LIFETIME_POLICY: Shape.TOKENS,
    Kind.TOKEN_RENEWAL_OUTSIDE_WORKFLOW: Shape.EVENTS,
    Kind.SESSION_MAX_LIFETIME: Shape.SESSIONS,
    Kind.SESSION_POST_LOGOUT: Shape.SESSIONS,
    Kind.TOKEN_REVOKED_USE: Shape.SESSIONS,
    Kind.TOKEN_EXPIRED_USE: Shape.SESSIONS,
    Kind.SESSION_IP_BINDING: Shape.SESSIONS,
    Kind.SESSION_DEVICE_BINDING: Shape.SESSIONS,
    Kind.SESSION_REQUEST_PATTERN: Shape.SESSIONS,
    Kind.ACCOUNT_INACTIVE_USE: Shape.ACTORS,
    Kind.SESSION_CONCURRENCY: Shape.ACTORS,
}

THRESHOLDS: Mapping[Kind, Threshold] = {
    Kind.SESSION_CONCURRENCY: Threshold(metric="sessions", param="max_sessions"),
}

# The facts that explain each kind's verdict, copied into the alert as evidence.
_SESSION = ("sessionwatch.session.start", "sessionwatch.session.age_seconds")
EVIDENCE_FACTS: Mapping[Kind, tuple[str, ...]] = {
    Kind.SESSION_IDLE_TIMEOUT: ("sessionwatch.session.idle_seconds", *_SESSION),
    Kind.SESSION_MAX_LIFETIME: (*_SESSION, "sessionwatch.session.since_auth_seconds"),
    Kind.SESSION_POST_LOGOUT: (
        "sessionwatch.session.end_action",
        "sessionwatch.session.since_end_seconds",
        *_SESSION,
    ),
    Kind.TOKEN_REVOKED_USE: ("sessionwatch.token.id", "sessionwatch.token.since_revocation_seconds"),
    Kind.TOKEN_EXPIRED_USE: (
        "sessionwatch.token.id",
        "sessionwatch.token.expires_at",
        "sessionwatch.token.past_expiry_seconds",
    ),
    Kind.TOKEN_LIFETIME_POLICY: (
        "sessionwatch.token.id",
        "sessionwatch.token.issued_at",
        "sessionwatch.token.expires_at",
        "sessionwatch.token.lifetime_seconds",
    ),
    Kind.TOKEN_RENEWAL_OUTSIDE_WORKFLOW: (
        "sessionwatch.token.id",
        "sessionwatch.token.grant_type",
        "sessionwatch.token.client_id",
        "sessionwatch.url.path",
        "sessionwatch.session.age_seconds",
    ),
    Kind.ACCOUNT_INACTIVE_USE: (
        "sessionwatch.account.status",
        "sessionwatch.account.dormant_days",
        "sessionwatch.account.last_seen",
        "sessionwatch.session.id",
    ),
    Kind.SESSION_IP_BINDING: (
        "sessionwatch.source.ip",
        "sessionwatch.ip.first",
        "sessionwatch.ip.prefix_changed",
        "sessionwatch.ip.distinct",
    ),
    Kind.SESSION_DEVICE_BINDING: (
        "sessionwatch.device.fingerprint",
        "sessionwatch.device.first",
        "sessionwatch.device.distinct",
    ),
    Kind.SESSION_REQUEST_PATTERN: (
        "sessionwatch.url.path",
        "sessionwatch.session.requests_last_minute",
        "sessionwatch.session.since_auth_seconds",
    ),
    Kind.SESSION_CONCURRENCY: ("sessionwatch.session.id",),
}
