"""Replay each rule's fixture cases into a real Elasticsearch and compare the alerts."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from sessionwatch.alerts import alert_key
from sessionwatch.bulk import index_documents
from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers, events_mapping
from sessionwatch.enrichers.events import get_path
from sessionwatch.evaluate import evaluate
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.renderer import Window
from sessionwatch.rules.errors import SessionwatchError
from sessionwatch.rules.instants import iso
from sessionwatch.rules.model import ExpectedAlert, Rule, RuleCase

INDEX_PREFIX = "sessionwatch-test-"
AlertKey = tuple[str | None, str | None, str | None]


@dataclass
class CaseResult:
    rule: Rule
    case: RuleCase
    missing: list[ExpectedAlert] = field(default_factory=list)
    unexpected: list[AlertKey] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return self.error is None and not self.missing and not self.unexpected

    def diff(self) -> list[str]:
        """Readable expected-vs-actual lines; empty when the case passed."""
        if self.error:
            return [f"error: {self.error}"]
        lines = [f"missing:    {_describe_expected(e)}" for e in self.missing]
        lines += [
            f"unexpected: session={s} event={e} user={u}{self._detail((s, e, u))}"
            for s, e, u in self.unexpected
        ]
        if lines:
            expected = "; ".join(_describe_expected(e) for e in self.case.expect) or "no alerts"
            actual = "; ".join(_describe_key(alert_key(a)) for a in self.alerts) or "no alerts"
            lines += [f"expected:   {expected}", f"actual:     {actual}"]
        return lines

    def _detail(self, key: AlertKey) -> str:
        """When and why an unexpected alert fired: its time and the facts that tripped it."""
        alert = next((a for a in self.alerts if alert_key(a) == key), None)
        if alert is None:
            return ""
        facts = get_path(alert, "sessionwatch.evidence.facts") or {}
        counts = get_path(alert, "sessionwatch.evidence.counts") or {}
        shown = [f"{name.removeprefix('sessionwatch.')}={value}" for name, value in sorted(facts.items())]
        shown += [f"{name}={value}" for name, value in sorted(counts.items())]
        return f" (at {alert.get('@timestamp')}{''.join(', ' + item for item in shown)})"


def _describe_expected(item: ExpectedAlert) -> str:
    parts = [
        f"{k}={v}"
        for k, v in (("session", item.session), ("event", item.event), ("user", item.user))
        if v is not None
    ]
    return " ".join(parts)


def _describe_key(key: AlertKey) -> str:
    session, event, user = key
    return " ".join(f"{k}={v}" for k, v in (("session", session), ("event", event), ("user", user)) if v)


def _matches(item: ExpectedAlert, key: AlertKey) -> bool:
    session, event, user = key
    return (
        (item.session is None or item.session == session)
        and (item.event is None or item.event == event)
        and (item.user is None or item.user == user)
    )


def compare(
    expected: Iterable[ExpectedAlert], actual: list[AlertKey]
) -> tuple[list[ExpectedAlert], list[AlertKey]]:
    """Expected alerts not raised, and raised alerts nobody expected (one-to-one matching)."""
    unmatched = list(actual)
    missing: list[ExpectedAlert] = []
    for item in expected:
        hit = next((key for key in unmatched if _matches(item, key)), None)
        if hit is None:
            missing.append(item)
        else:
            unmatched.remove(hit)
    return missing, unmatched


def enrich_fixture(path: Path, profiles: ProfileRegistry, profile: str | None) -> list[dict[str, Any]]:
    engine = Engine(profiles, discover_enrichers(), forced_profile=profiles.get(profile) if profile else None)
    with path.open("rb") as handle:
        outputs = list(engine.process(handle))
    dead = [o.dead for o in outputs if o.dead is not None]
    if dead:
        first = dead[0]
        raise SessionwatchError(f"{path}:{first.line}: fixture line rejected: {first.reason}")
    return [o.doc for o in outputs if o.doc is not None]


def create_events_index(client: Elasticsearch, index: str) -> None:
    client.indices.create(
        index=index, mappings=events_mapping(), settings={"number_of_shards": 1, "number_of_replicas": 0}
    )


def run_case(
    client: Elasticsearch, rule: Rule, case: RuleCase, profiles: ProfileRegistry, fixtures: Path | None = None
) -> CaseResult:
    result = CaseResult(rule, case)
    index = f"{INDEX_PREFIX}{uuid.uuid4().hex[:12]}"
    try:
        docs = enrich_fixture(fixture_path(rule, case, fixtures), profiles, case.profile)
        create_events_index(client, index)
        report = index_documents(client, index, ((d["sessionwatch"]["event"]["id"], d) for d in docs))
        if not report.ok:
            result.error = f"{len(report.failed)} fixture events were rejected: {report.failed[0]}"
            return result
        start = case.start or case.at - timedelta(seconds=rule.schedule.lookback_seconds)
        result.alerts = evaluate(client, rule, index, Window(iso(start), iso(case.at)))
        result.missing, result.unexpected = compare(case.expect, [alert_key(a) for a in result.alerts])
    except SessionwatchError as exc:
        result.error = str(exc)
    finally:
        client.indices.delete(index=index, ignore_unavailable=True)
    return result


def run_rules(
    client: Elasticsearch, rules: Iterable[Rule], profiles: ProfileRegistry, fixtures: Path | None = None
) -> Iterator[CaseResult]:
    for rule in rules:
        for case in rule.tests:
            yield run_case(client, rule, case, profiles, fixtures)
