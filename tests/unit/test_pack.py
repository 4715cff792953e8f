"""The shipped rule pack, without Elasticsearch: coverage of the kinds, case discipline, policy
agreement, lint-clean, thresholds that reach the rendered query, and the generated coverage doc."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sessionwatch import coverage
from sessionwatch.alerts import over_threshold
from sessionwatch.commands.validate import findings
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.renderer import Window, render_query
from sessionwatch.rules import Kind, Rule, format_duration, load_rules, parse_duration
from sessionwatch.rules.alert_shapes import SHAPES, Shape
from sessionwatch.rules.alert_shapes import THRESHOLDS as ENTITY_THRESHOLDS
from sessionwatch.rules.catalog import catalog
from sessionwatch.rules.policies import load_policies, threshold_value

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / "rules" / "pack"
RULES = load_rules([PACK])
IDS = [r.name for r in RULES]
WINDOW = Window("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z")


@pytest.fixture(scope="module")
def registry() -> ProfileRegistry:
    return ProfileRegistry.discover()


def test_every_kind_has_a_rule() -> None:
    assert {r.kind for r in RULES} == set(Kind)


def test_every_kind_has_an_alert_shape() -> None:
    assert set(SHAPES) == set(Kind)


def test_policy_variants_where_standards_differ() -> None:
    policies = {r.policy for r in RULES}
    assert {
        "nist-800-63b-r4-aal2",
        "nist-800-63b-r4-aal3",
        "nist-800-63b-r3-aal2",
        "pci-dss-4.0",
        "owasp-asvs-4.0.3-l1",
        "organisation",
    } <= policies


def test_shipped_policies_carry_the_published_thresholds() -> None:
    policies = load_policies()
    seconds = {name: {k: threshold_value(v) for k, v in p.thresholds.items()} for name, p in policies.items()}
    assert seconds["nist-800-63b-r4-aal2"]["max_lifetime"] == 24 * 3600
    assert seconds["nist-800-63b-r4-aal2"]["idle_timeout"] == 3600
    assert seconds["nist-800-63b-r4-aal3"]["max_lifetime"] == 12 * 3600
    assert seconds["nist-800-63b-r4-aal3"]["idle_timeout"] == 15 * 60
    assert seconds["nist-800-63b-r3-aal2"]["max_lifetime"] == 12 * 3600
    assert seconds["nist-800-63b-r3-aal2"]["idle_timeout"] == 30 * 60
    assert seconds["pci-dss-4.0"]["idle_timeout"] == 15 * 60
    assert seconds["owasp-asvs-4.0.3-l1"]["max_lifetime"] == 30 * 86400


def test_the_pack_is_lint_clean() -> None:
    assert [str(f) for f in findings(RULES)] == []


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_two_cases_that_alert_and_two_that_stay_quiet(rule: Rule) -> None:
    assert sum(1 for c in rule.tests if c.expect) >= 2
    assert sum(1 for c in rule.tests if not c.expect) >= 2


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_expectations_name_the_session_and_event(rule: Rule) -> None:
    expected = [item for case in rule.tests for item in case.expect]
    if SHAPES[rule.kind] is Shape.ACTORS:
        assert all(item.user and item.event and item.session is None for item in expected) or (
            not rule.spec.names_session and all(item.user for item in expected)
        )
    else:  # sessionless events of a session-optional kind alert on the account
        assert all(
            item.event and (item.session or (rule.spec.session_optional and item.user)) for item in expected
        )


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_cases_come_from_two_source_profiles(rule: Rule, registry: ProfileRegistry) -> None:
    profiles = {p for case in rule.tests for p in coverage.case_profiles(rule, case, registry)}
    assert len(profiles) >= 2, profiles


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_fixtures_live_under_kind_and_rule(rule: Rule) -> None:
    assert all(case.fixture.startswith(f"{rule.kind.value}/{rule.name}/") for case in rule.tests)
    assert rule.source.parent.name == rule.kind.value


def _loosened(value: Any) -> Any:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * 2
    if isinstance(value, str):
        try:
            return format_duration(parse_duration(value) * 2)
        except ValueError:
            return None
    return None


THRESHOLDS = [
    (rule, name) for rule in RULES for name, value in rule.params.items() if _loosened(value) is not None
]


@pytest.mark.parametrize(("rule", "param"), THRESHOLDS, ids=[f"{r.name}:{p}" for r, p in THRESHOLDS])
def test_thresholds_reach_the_query(rule: Rule, param: str) -> None:
    """A threshold is a parameter, never a literal: changing it changes the rendered search, or
    (per-entity thresholds) the verdict on an aggregation bucket."""
    changed = rule.with_params({**rule.params, param: _loosened(rule.params[param])})
    entity = ENTITY_THRESHOLDS.get(rule.kind)
    if entity is not None and entity.param == param:
        bucket = {entity.metric: {"value": rule.params[param] + 1}}
        assert over_threshold(rule, bucket)
        assert not over_threshold(changed, bucket)
    else:
        assert render_query(changed, WINDOW) != render_query(rule, WINDOW)


def test_committed_coverage_doc_is_current(registry: ProfileRegistry) -> None:
    """docs/coverage.md is generated: `sessionwatch coverage rules/pack --out docs --format md`."""
    generated = coverage.markdown(coverage.build(RULES, catalog(), registry))
    assert (REPO / "docs" / "coverage.md").read_text(encoding="utf-8") == generated
