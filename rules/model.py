"""The typed, frozen rule model. Built only from documents the JSON Schema has accepted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from uuid import UUID

from sessionwatch.rules.durations import parse_duration
from sessionwatch.rules.errors import Location
from sessionwatch.rules.instants import parse_instant
from sessionwatch.rules.kinds import Duration, Kind, KindSpec, Params, Severity, Status

DEFAULT_INDEX = "sessionwatch-events-*"
DEFAULT_INTERVAL = "5m"
DEFAULT_LOOKBACK = "1h"

Scalar = str | int | bool


@dataclass(frozen=True, kw_only=True)
class ScopeFilter:
    field: str
    any_of: tuple[Scalar, ...] = ()
    exists: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Scope:
    index: str = DEFAULT_INDEX
    filters: tuple[ScopeFilter, ...] = ()
    exclude: tuple[ScopeFilter, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Schedule:
    interval_seconds: int
    lookback_seconds: int


@dataclass(frozen=True, kw_only=True)
class ExpectedAlert:
    session: str | None = None
    event: str | None = None
    user: str | None = None


@dataclass(frozen=True, kw_only=True)
class RuleCase:
    name: str
    fixture: str
    at: datetime
    start: datetime | None
    expect: tuple[ExpectedAlert, ...]
    profile: str | None = None
    description: str = ""
    location: Location = field(compare=False)


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: UUID
    name: str
    title: str
    kind: Kind
    description: str
    severity: Severity
    status: Status
    version: int
    policy: str | None
    params: Params  # the kind's typed parameters (a mapping of them as written is converted)
    scope: Scope
    schedule: Schedule
    compliance: Mapping[str, tuple[str, ...]]
    attack: tuple[str, ...]
    references: tuple[str, ...]
    tests: tuple[RuleCase, ...]
    source: Path
    location: Location = field(compare=False)
    field_locations: Mapping[str, Location] = field(compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        kind = Kind(self.kind)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "params", kind.spec.parse_params(self.params))

    @property
    def spec(self) -> KindSpec:
        """The declaration of this rule's kind."""
        return self.kind.spec

    def with_params(self, raw: Mapping[str, Any]) -> Rule:
        """A copy of this rule with other parameters, given as written (``{"idle_timeout": "30m"}``)."""
        return replace(self, params=self.spec.params.from_raw(raw))

    def locate(self, pointer: str) -> Location:
        """Where a top-level field of this rule is written (the document when unknown)."""
        top = "/" + pointer.strip("/").split("/")[0]
        return self.field_locations.get(top, self.location)

    def duration(self, param: str) -> int:
        """A duration parameter, in seconds (``ValueError`` when ``param`` is not a set duration)."""
        value = getattr(self.params, param, None)
        if not isinstance(value, Duration):
            raise ValueError(f"{self.kind.value} has no duration parameter {param!r} set")
        return value.seconds

    def as_template_context(self) -> dict[str, Any]:
        """The plain values a template may see (no Python objects, no paths)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "title": self.title,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "risk_score": self.severity.score,
            "version": self.version,
            "params": self.params.written(),
            "scope": {
                "index": self.scope.index,
                "filters": [_filter_context(f) for f in self.scope.filters],
                "exclude": [_filter_context(f) for f in self.scope.exclude],
            },
            "interval_seconds": self.schedule.interval_seconds,
            "lookback_seconds": self.schedule.lookback_seconds,
        }


def _filter_context(item: ScopeFilter) -> dict[str, Any]:
    if item.exists is not None:
        return {"field": item.field, "exists": item.exists}
    return {"field": item.field, "any_of": list(item.any_of)}


parse_time = parse_instant  # the name the loader and commands use


def _filters(raw: list[dict[str, Any]] | None) -> tuple[ScopeFilter, ...]:
    return tuple(
        ScopeFilter(field=item["field"], any_of=tuple(item.get("any_of", ())), exists=item.get("exists"))
        for item in raw or ()
    )


def build_rule(data: Mapping[str, Any], source: Path, locate: Any) -> Rule:
    """Convert a schema-valid document; ``locate(pointer)`` gives a ``Location``."""
    scope = data["scope"]
    schedule = data.get("schedule", {})
    tests = tuple(
        RuleCase(
            name=case["name"],
            fixture=case["fixture"],
            at=parse_time(case["at"]),
            start=parse_time(case["from"]) if "from" in case else None,
            expect=tuple(ExpectedAlert(**item) for item in case["expect"]),
            profile=case.get("profile"),
            description=case.get("description", ""),
            location=locate(f"/tests/{i}"),
        )
        for i, case in enumerate(data["tests"])
    )
    return Rule(
        id=UUID(data["id"]),
        name=data["name"],
        title=data["title"],
        kind=Kind(data["kind"]),
        description=data["description"],
        severity=Severity(data["severity"]),
        status=Status(data["status"]),
        version=data.get("version", 1),
        policy=data.get("policy"),
        params=Kind(data["kind"]).spec.params.from_raw(data["params"]),
        scope=Scope(
            index=scope["index"],
            filters=_filters(scope.get("filters")),
            exclude=_filters(scope.get("exclude")),
        ),
        schedule=Schedule(
            interval_seconds=parse_duration(schedule.get("interval", DEFAULT_INTERVAL)),
            lookback_seconds=parse_duration(schedule.get("lookback", DEFAULT_LOOKBACK)),
        ),
        compliance=MappingProxyType({k: tuple(v) for k, v in data["compliance"].items()}),
        attack=tuple(data["attack"]),
        references=tuple(data.get("references", ())),
        tests=tests,
        source=source,
        location=locate(""),
        field_locations=MappingProxyType({f"/{key}": locate(f"/{key}") for key in data}),
    )
