"""Severity and status: the fixed vocabularies a rule declares besides its kind."""

from __future__ import annotations

from enum import StrEnum


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
