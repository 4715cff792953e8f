"""The fixed vocabulary of rule kinds (DESIGN.md); alerts carry the kind as ``rule.category``."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    SESSION_MAX_LIFETIME = "session_max_lifetime"
    SESSION_IDLE_TIMEOUT = "session_idle_timeout"
    SESSION_POST_LOGOUT = "session_post_logout"
    TOKEN_REVOKED_USE = "token_revoked_use"
    TOKEN_EXPIRED_USE = "token_expired_use"
    TOKEN_LIFETIME_POLICY = "token_lifetime_policy"
    TOKEN_RENEWAL_OUTSIDE_WORKFLOW = "token_renewal_outside_workflow"
    ACCOUNT_INACTIVE_USE = "account_inactive_use"
    SESSION_IP_BINDING = "session_ip_binding"
    SESSION_DEVICE_BINDING = "session_device_binding"
    SESSION_REQUEST_PATTERN = "session_request_pattern"
    SESSION_CONCURRENCY = "session_concurrency"


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def score(self) -> int:
        """ECS ``event.severity`` / Kibana risk score for this level."""
        return {"low": 21, "medium": 47, "high": 73, "critical": 99}[self.value]


class Status(StrEnum):
    EXPERIMENTAL = "experimental"
    TEST = "test"
    STABLE = "stable"
    DEPRECATED = "deprecated"
