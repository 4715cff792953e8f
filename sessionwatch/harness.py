"""Replay each rule's fixture cases into a real Elasticsearch and compare the alerts."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch

from sessionwatch.alerts import alert_key
from sessionwatch.bulk import document_id, index_documents
from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.events import get_path
from sessionwatch.es import COMMAND_RETRY, retrying
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.indices import temporary_events_index
from sessionwatch.renderer import Window
from sessionwatch.repairs import refused_fields, repaired_fields
from sessionwatch.rules.errors import SessionwatchError
from sessionwatch.rules.instants import iso
from sessionwatch.rules.model import ExpectedAlert, Rule, RuleCase
from sessionwatch.runner.evaluation import Request, evaluate_many, evaluate_window

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


def compare(
    expected: Iterable[ExpectedAlert], actual: list[AlertKey]
) -> tuple[list[ExpectedAlert], list[AlertKey]]:
    """Expected alerts not raised, and raised alerts nobody expected (one-to-one matching: each
    expected alert, in order, takes the first raised one it matches that is still free).

    Linear in the alerts: the raised ones are indexed by the values an expected alert names
    (one index per combination of named fields), instead of scanned once per expected alert."""
    taken: set[int] = set()
    indexes: dict[tuple[bool, bool, bool], dict[tuple[Any, ...], deque[int]]] = {}
    missing: list[ExpectedAlert] = []
    for item in expected:
        named = (item.session is not None, item.event is not None, item.user is not None)
        index = indexes.get(named)
        if index is None:
            index = indexes[named] = {}
            for number, key in enumerate(actual):
                index.setdefault(_project(key, named), deque()).append(number)
        free = index.get(_project((item.session, item.event, item.user), named), deque())
        while free and free[0] in taken:
            free.popleft()
        if free:
            taken.add(free.popleft())
        else:
            missing.append(item)
    return missing, [key for number, key in enumerate(actual) if number not in taken]


def _project(key: tuple[Any, Any, Any], named: tuple[bool, bool, bool]) -> tuple[Any, ...]:
    return tuple(value for value, wanted in zip(key, named, strict=True) if wanted)


def enrich_fixture(path: Path, profiles: ProfileRegistry, profile: str | None) -> list[dict[str, Any]]:
    """The fixture's events, enriched. A fixture is replayed as written: a line the engine
    rejects, or an event it had to repair (a field Elasticsearch would refuse, which ``enrich``
    drops or rewrites and records), is an error at the fixture's file and line."""
    engine = Engine(profiles, discover_enrichers(), forced_profile=profiles.get(profile) if profile else None)
    with path.open("rb") as handle:
        outputs = list(engine.process(handle))
    dead = [o.dead for o in outputs if o.dead is not None]
    if dead:
        first = dead[0]
        raise SessionwatchError(f"{path}:{first.line}: fixture line rejected: {first.reason}")
    docs = [(o.line, o.doc) for o in outputs if o.doc is not None]
    repaired = [(line, doc) for line, doc in docs if repaired_fields(doc)]
    if repaired:
        line, doc = repaired[0]
        others = f" (and {len(repaired) - 1} more)" if len(repaired) > 1 else ""
        raise SessionwatchError(
            f"{path}:{line}: fixture event {_event_id(doc)!r} rejected{others}: {refused_fields(doc)} "
            "(Elasticsearch would refuse the event; a fixture is replayed as written)"
        )
    return [doc for _, doc in docs]


def _event_id(doc: dict[str, Any]) -> str:
    """The event's own id (the one a case's ``expect`` names), not the id it was indexed under."""
    return str(get_path(doc, "sessionwatch.event.id") or get_path(doc, "event.id") or "")


def evaluate_case(client: Elasticsearch, rule: Rule, case: RuleCase, index: str) -> CaseResult:
    """The case's window evaluated the way ``run`` and ``detect`` evaluate (every page)."""
    result = CaseResult(rule, case)
    window = _window(rule, case)
    result.alerts = evaluate_window(client, rule, index, window, max_pages=None, retry=COMMAND_RETRY).alerts
    result.missing, result.unexpected = compare(case.expect, [alert_key(a) for a in result.alerts])
    return result


def _reason(error: Any) -> str:
    """``mapper_parsing_exception: failed to parse field [x] …`` from a bulk item error."""
    if isinstance(error, dict):
        cause = error.get("caused_by")
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}".strip()
        if isinstance(cause, dict) and cause.get("reason"):
            text += f" ({cause['reason']})"
        return text
    return str(error)


def rejection_message(
    path: Path,
    profiles: ProfileRegistry,
    profile: str | None,
    failed: list[dict[str, Any]],
    bulk_id: Callable[[dict[str, Any]], str] = document_id,
) -> str:
    """Where the first rejected event is in the fixture (``path:line``) and why Elasticsearch said
    no; ``bulk_id`` gives the id a document was indexed under."""
    first = failed[0]
    engine = Engine(profiles, discover_enrichers(), forced_profile=profiles.get(profile) if profile else None)
    with path.open("rb") as handle:
        found = next(
            (
                (out.line, _event_id(out.doc))
                for out in engine.process(handle)
                if out.doc is not None and bulk_id(out.doc) == first.get("id")
            ),
            None,
        )
    line, event_id = found if found is not None else (0, str(first.get("id")))
    where = f"{path}:{line}" if line else str(path)
    others = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
    return (
        f"{where}: fixture event {event_id!r} rejected by Elasticsearch{others}: "
        f"{_reason(first.get('error'))}"
    )


def run_case(
    client: Elasticsearch, rule: Rule, case: RuleCase, profiles: ProfileRegistry, fixtures: Path | None = None
) -> CaseResult:
    try:
        path = fixture_path(rule, case, fixtures)
        docs = enrich_fixture(path, profiles, case.profile)
        with temporary_events_index(client, INDEX_PREFIX) as index:
            report = index_documents(client, index, ((document_id(d), d) for d in docs))
            if not report.ok:
                return CaseResult(
                    rule, case, error=rejection_message(path, profiles, case.profile, report.failed)
                )
            return evaluate_case(client, rule, case, index)
    except SessionwatchError as exc:
        return CaseResult(rule, case, error=str(exc))


def case_document_id(number: int, doc: dict[str, Any]) -> str:
    """The id of case ``number``'s document in the shared index of ``run_rules``."""
    return f"c{number}:{document_id(doc)}"


def alias_cases(client: Elasticsearch, index: str, ids_of: dict[int, list[str]]) -> dict[int, str]:
    """Per case number of ``ids_of``, a filtered alias on ``index`` holding only that case's
    documents (their ids): the case's own events index, in one ``_aliases`` request."""
    aliases = {number: f"{index}-c{number}" for number in ids_of}
    actions = [
        {"add": {"index": index, "alias": aliases[number], "filter": {"ids": {"values": ids}}}}
        for number, ids in ids_of.items()
    ]
    if actions:
        retrying(lambda: client.indices.update_aliases(actions=actions), "creating case aliases")
    return aliases


def _window(rule: Rule, case: RuleCase) -> Window:
    start = case.start or case.at - timedelta(seconds=rule.schedule.lookback_seconds)
    return Window(iso(start), iso(case.at))


def run_rules(
    client: Elasticsearch, rules: Iterable[Rule], profiles: ProfileRegistry, fixtures: Path | None = None
) -> Iterator[CaseResult]:
    """Every case of ``rules``: all fixtures in one index, a filtered alias per case (its own
    documents only), every case's first page in one multi-search (``evaluate_many``)."""
    cases = [(rule, case) for rule in rules for case in rule.tests]
    results: dict[int, CaseResult] = {}
    docs: list[tuple[str, dict[str, Any]]] = []
    ids_of: dict[int, list[str]] = {}
    for number, (rule, case) in enumerate(cases):
        try:
            enriched = enrich_fixture(fixture_path(rule, case, fixtures), profiles, case.profile)
        except SessionwatchError as exc:
            results[number] = CaseResult(rule, case, error=str(exc))
            continue
        ids = [case_document_id(number, doc) for doc in enriched]
        ids_of[number] = ids
        docs += zip(ids, enriched, strict=True)
    if ids_of:
        with temporary_events_index(client, INDEX_PREFIX) as index:
            report = index_documents(client, index, docs)
            failed = {str(item["id"]): item for item in report.failed}
            for number, ids in ids_of.items():
                rejected = [failed[i] for i in ids if i in failed]
                if rejected:
                    rule, case = cases[number]
                    message = rejection_message(
                        fixture_path(rule, case, fixtures),
                        profiles,
                        case.profile,
                        rejected,
                        partial(case_document_id, number),
                    )
                    results[number] = CaseResult(rule, case, error=message)
            live = [n for n in ids_of if n not in results]
            aliases = alias_cases(client, index, {n: ids_of[n] for n in live})
            requests = [Request(cases[n][0], aliases[n], _window(*cases[n])) for n in live]
            for number, outcome in zip(
                live, evaluate_many(client, requests, retry=COMMAND_RETRY), strict=True
            ):
                rule, case = cases[number]
                result = CaseResult(rule, case)
                if isinstance(outcome, str):
                    result.error = f"search failed: {outcome}"
                else:
                    result.alerts = outcome
                    result.missing, result.unexpected = compare(case.expect, [alert_key(a) for a in outcome])
                results[number] = result
    for number in range(len(cases)):
        yield results[number]
