"""The whole rule pack in a real Elasticsearch node: every case of every rule is its own test,
and every rule, deliberately weakened, fails at least one of its cases (mutation testing).

The cases are replayed as ``sessionwatch test`` replays them (``harness.run_rules``: all fixtures in
one index, a filtered alias per case, one multi-search), once for the pack and once for all its
weakened variants; each test checks its own case's or variant's results."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.bulk import index_documents
from sessionwatch.enrichers import ProfileRegistry, events_mapping
from sessionwatch.harness import CaseResult, enrich_fixture, run_case, run_rules
from sessionwatch.renderer import Window
from sessionwatch.rules import Rule, RuleCase, format_duration, load_rules, parse_duration
from sessionwatch.runner.evaluation import evaluate_window

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
RULES = load_rules([PACK])
CASES = [(rule, case) for rule in RULES for case in rule.tests]


def _alerts(
    client: Elasticsearch, rule: Rule, index: str, window: Window, page_size: int = 1000
) -> list[dict[str, Any]]:
    """Every alert of ``rule`` over ``window``: the one evaluation path, all pages."""
    return evaluate_window(client, rule, index, window, max_pages=None, page_size=page_size).alerts


@pytest.fixture(scope="module")
def profiles() -> ProfileRegistry:
    return ProfileRegistry.discover()


@pytest.fixture(scope="module")
def pack_results(es: Elasticsearch, profiles: ProfileRegistry) -> dict[tuple[str, str], CaseResult]:
    """(rule, case) -> the result of every case of the pack, replayed together."""
    results = {(r.rule.name, r.case.name): r for r in run_rules(es, RULES, profiles)}
    assert len(results) == len(CASES)
    return results


@pytest.mark.parametrize(("rule", "case"), CASES, ids=[f"{r.name}/{c.name}" for r, c in CASES])
def test_case(pack_results: dict[tuple[str, str], CaseResult], rule: Rule, case: RuleCase) -> None:
    result = pack_results[(rule.name, case.name)]
    assert (result.rule, result.case) == (rule, case)
    assert result.passed, f"{rule.name}/{case.name}:\n" + "\n".join(result.diff())


# --- weakening -----------------------------------------------------------------------------

# Thresholds where a *smaller* value raises fewer alerts (a look-back span); every other
# duration or count is a limit, weakened by doubling it.
SHRINK_TO_WEAKEN = frozenset({"within"})
# Lists of allowed values and switches: removing them removes a condition of the query.
TOGETHER = {"sensitive_paths": ("sensitive_paths", "max_auth_age"), "max_auth_age": ()}
NOT_WEAKENABLE = frozenset({"anchor"})


def _with_params(rule: Rule, params: dict[str, Any]) -> Rule:
    return rule.with_params(params)


def _is_duration(value: Any) -> bool:
    try:
        parse_duration(str(value))
    except ValueError:
        return False
    return isinstance(value, str)


def mutants(rule: Rule) -> Iterator[tuple[str, Rule]]:
    """Weaker variants of ``rule``: each threshold moved the lenient way, each condition removed."""
    for name, value in rule.params.items():
        if name in NOT_WEAKENABLE:
            continue
        params = dict(rule.params)
        if _is_duration(value):
            seconds = parse_duration(value)
            weaker = seconds // 2 if name in SHRINK_TO_WEAKEN else seconds * 2
            params[name] = format_duration(weaker)
            yield f"{name} {value} -> {params[name]}", _with_params(rule, params)
        elif isinstance(value, int) and not isinstance(value, bool):
            params[name] = value * 2
            yield f"{name} {value} -> {value * 2}", _with_params(rule, params)
        else:
            dropped = TOGETHER.get(name, (name,))
            if not dropped:
                continue
            for key in dropped:
                params.pop(key, None)
            yield f"{' and '.join(dropped)} removed", _with_params(rule, params)
    for group in ("filters", "exclude"):
        items = getattr(rule.scope, group)
        for i, item in enumerate(items):
            scope = dataclasses.replace(rule.scope, **{group: items[:i] + items[i + 1 :]})
            yield f"scope {group} on {item.field} removed", dataclasses.replace(rule, scope=scope)


MUTANTS = [(rule, label, mutant) for rule in RULES for label, mutant in mutants(rule)]


@pytest.fixture(scope="module")
def mutant_results(es: Elasticsearch, profiles: ProfileRegistry) -> dict[tuple[str, str], list[CaseResult]]:
    """(rule, weakening) -> the results of every case of that weakened rule, all replayed together."""
    results = iter(run_rules(es, [mutant for _, _, mutant in MUTANTS], profiles))
    grouped = {(rule.name, label): [next(results) for _ in mutant.tests] for rule, label, mutant in MUTANTS}
    assert len(grouped) == len(MUTANTS)
    assert next(results, None) is None
    return grouped


@pytest.mark.parametrize(
    ("rule", "label", "mutant"), MUTANTS, ids=[f"{r.name}: {label}" for r, label, _ in MUTANTS]
)
def test_weakened_rule_fails_a_case(
    mutant_results: dict[tuple[str, str], list[CaseResult]], rule: Rule, label: str, mutant: Rule
) -> None:
    results = mutant_results[(rule.name, label)]
    assert [(r.rule, r.case) for r in results] == [(mutant, case) for case in mutant.tests]
    failed = [r for r in results if not r.passed]
    assert failed, f"{rule.name} weakened ({label}) still passes every case: its fixtures do not pin it"
    for result in failed:
        assert result.error is None, result.error


def test_every_kind_has_weakening_checks() -> None:
    """The mutation test covers at least three rules (the done-when proof), in fact every kind."""
    kinds = {rule.kind for rule, _, _ in MUTANTS}
    assert len({rule.name for rule, _, _ in MUTANTS}) >= 3
    assert kinds == {rule.kind for rule in RULES}


def test_threshold_doubled_names_the_missed_alert(es: Elasticsearch, profiles: ProfileRegistry) -> None:
    """A doubled idle timeout misses exactly the boundary alert, and the diff says which."""
    rule = next(r for r in RULES if r.name == "pci-dss-idle-15m")
    case = next(c for c in rule.tests if c.name == "gap-just-over-15m")
    weakened = _with_params(rule, {"idle_timeout": "30m"})
    result = run_case(es, weakened, case, profiles)
    assert [(m.session, m.event) for m in result.missing] == [("sess-d", "d-3")]
    assert result.diff()[0] == "missing:    session=sess-d event=d-3"
    assert "expected:   session=sess-d event=d-3" in result.diff()
    assert "actual:     no alerts" in result.diff()


def test_scope_exclude_removed_raises_the_unexpected_alert(
    es: Elasticsearch, profiles: ProfileRegistry
) -> None:
    """Without its exclude, the post-logout rule flags Teleport's recording upload; the diff
    shows the alert and the facts that tripped it."""
    rule = next(r for r in RULES if r.name == "post-logout-activity")
    case = next(c for c in rule.tests if c.name == "teleport-upload-after-end")
    noisy = dataclasses.replace(rule, scope=dataclasses.replace(rule.scope, exclude=()))
    result = run_case(es, noisy, case, profiles)
    assert result.unexpected == [("tp-sess-9", "u-4", "teleport-admin")]
    unexpected = next(line for line in result.diff() if line.startswith("unexpected:"))
    assert "session.since_end_seconds=120.0" in unexpected


def test_concurrency_threshold_is_checked_per_account(es: Elasticsearch, profiles: ProfileRegistry) -> None:
    """The per-account threshold comes from the rule: the same fixture alerts at 3, not at 4."""
    rule = next(r for r in RULES if r.name == "org-concurrent-sessions")
    case = next(c for c in rule.tests if c.name == "just-over-four")
    assert run_case(es, rule, case, profiles).passed
    relaxed = _with_params(rule, {**rule.params, "max_sessions": 4})
    result = run_case(es, relaxed, case, profiles)
    assert result.alerts == []
    assert [m.user for m in result.missing] == ["dave"]


# --- alerts from aggregations ----------------------------------------------------------------


@pytest.fixture
def outside_sessions(
    es: Elasticsearch, profiles: ProfileRegistry, tmp_path: Path, fresh_index: Callable[..., str]
) -> str:
    """Five sessions used from outside the expected ranges, two requests each, enriched and indexed."""
    lines = []
    for n in range(5):
        for k in range(2):
            doc = {
                "@timestamp": f"2026-06-01T09:0{n}:{10 * k:02d}Z",
                "event": {"id": f"s{n}-{k}", "dataset": "generic.app", "action": "view"},
                "session": {"id": f"sess-{n}"},
                "user": {"name": f"user-{n}"},
                "source": {"ip": f"203.0.113.{n + 1}"},
            }
            lines.append(json.dumps(doc))
    events = tmp_path / "outside.ndjson"
    events.write_text("\n".join(lines) + "\n")
    index = fresh_index("sw-pack-alerts", mappings=events_mapping())
    docs = enrich_fixture(events, profiles, None)
    assert index_documents(es, index, ((d["sessionwatch"]["event"]["id"], d) for d in docs)).ok
    return index


def test_composite_results_are_paged_and_ids_are_deterministic(
    es: Elasticsearch, outside_sessions: str
) -> None:
    rule = next(r for r in RULES if r.name == "session-ip-outside-ranges")
    window = Window("2026-06-01T09:00:00Z", "2026-06-01T10:00:00Z")
    paged = _alerts(es, rule, outside_sessions, window, page_size=2)
    whole = _alerts(es, rule, outside_sessions, window)
    assert [a["sessionwatch"]["session"]["id"] for a in paged] == [f"sess-{n}" for n in range(5)]
    assert [a["event"]["id"] for a in paged] == [a["event"]["id"] for a in whole]
    assert len({a["event"]["id"] for a in paged}) == 5
    other_window = _alerts(es, rule, outside_sessions, Window("2026-06-01T08:00:00Z", "2026-06-01T10:00:00Z"))
    # an alert's id is the finding's, not the window's: a wider window names the same alerts
    assert {a["event"]["id"] for a in other_window} == {a["event"]["id"] for a in whole}
    first = whole[0]
    assert first["rule"]["category"] == "session_ip_binding"
    assert first["sessionwatch"]["evidence"]["event_ids"] == ["s0-0"]
    assert first["sessionwatch"]["evidence"]["counts"] == {"addresses": 1, "events": 2}
    assert first["sessionwatch"]["evidence"]["facts"]["sessionwatch.source.ip"] == "203.0.113.1"
    assert first["user"]["name"] == "user-0"


def test_account_alert_lists_its_sessions(es: Elasticsearch, outside_sessions: str) -> None:
    """One account with five sessions: one alert naming the account (no session), the count and
    the session ids as evidence."""
    rule = next(r for r in RULES if r.name == "org-concurrent-sessions")
    crowded = rule.with_params({**rule.params, "max_sessions": 0})
    window = Window("2026-06-01T09:00:00Z", "2026-06-01T09:10:00Z")
    alerts = _alerts(es, crowded, outside_sessions, window)
    assert [a["user"]["name"] for a in alerts] == [f"user-{n}" for n in range(5)]
    assert "session" not in alerts[0]["sessionwatch"]
    assert alerts[0]["sessionwatch"]["evidence"]["counts"]["session_ids"] == ["sess-0"]
    assert _alerts(es, rule, outside_sessions, window) == []
