"""Injection: no value from a rule or a log can change the structure of a rendered target.

For every render target (``TARGETS``: new targets are covered automatically) and every shipped
rule, Hypothesis puts hostile strings into one "slot" at a time — a rule field that reaches a
template, or an event value (actor, session id, IP, path) used as a scope filter — and checks:

* the output parses (``render()`` returns a dict), or ``render()`` refuses the value with a
  located ``RenderError`` (typed slots; values a target's engine would interpret);
* it equals the render with a unique marker in the same slot, with the marker replaced by the
  value: the same keys, nesting and types, and the value verbatim wherever the marker was.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from sessionwatch.renderer import TARGETS, Window, render, render_query
from sessionwatch.rules import load_rule_file
from sessionwatch.rules.errors import RenderError, UnsupportedByTarget
from sessionwatch.rules.model import Rule, ScopeFilter
from tests.hardening.hostile import MARKER, hostile_text, injection_difference, shape

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
RULE_FILES = sorted(p for p in PACK.rglob("*.yml") if p.is_file())
# Fields whose values come from logs and that rules filter on.
EVENT_FIELDS = ("user.name", "sessionwatch.session.id", "source.ip", "url.path", "sessionwatch.actor.name")
EXAMPLES_PER_RULE_AND_TARGET = 100
EXAMPLES_WINDOW = 200

Slot = Callable[[Rule, str], Rule]


def _add_filter(rule: Rule, item: ScopeFilter, *, exclude: bool = False) -> Rule:
    scope = rule.scope
    if exclude:
        return dataclasses.replace(rule, scope=dataclasses.replace(scope, exclude=(*scope.exclude, item)))
    return dataclasses.replace(rule, scope=dataclasses.replace(scope, filters=(*scope.filters, item)))


def _set_param(key: str) -> Slot:
    return lambda rule, value: rule.with_params({**rule.params, key: value})


def _set_param_item(key: str) -> Slot:
    def put(rule: Rule, value: str) -> Rule:
        return rule.with_params({**rule.params, key: [value, *list(rule.params[key])[1:]]})

    return put


def _filter_value(field: str, *, exclude: bool) -> Slot:
    if exclude:
        return lambda rule, value: _add_filter(
            rule, ScopeFilter(field=field, any_of=("first", value, 7, True)), exclude=True
        )
    return lambda rule, value: _add_filter(rule, ScopeFilter(field=field, any_of=(value,)))


def _param_slots(rule: Rule) -> dict[str, Slot]:
    """One slot per string parameter, and per string item of a list parameter."""
    slots: dict[str, Slot] = {}
    for key, value in rule.params.items():
        if isinstance(value, str):
            slots[f"params.{key}"] = _set_param(key)
        elif isinstance(value, list | tuple) and value and all(isinstance(x, str) for x in value):
            slots[f"params.{key}[0]"] = _set_param_item(key)
    return slots


def slots_for(rule: Rule) -> dict[str, Slot]:
    slots: dict[str, Slot] = {
        "title": lambda r, v: dataclasses.replace(r, title=v),
        "name": lambda r, v: dataclasses.replace(r, name=v),
        "description": lambda r, v: dataclasses.replace(r, description=v),
        "policy": lambda r, v: dataclasses.replace(r, policy=v),
        "scope.index": lambda r, v: dataclasses.replace(r, scope=dataclasses.replace(r.scope, index=v)),
        "references[0]": lambda r, v: dataclasses.replace(r, references=(v, *r.references[1:])),
        "scope.filters[].field (exists)": lambda r, v: _add_filter(r, ScopeFilter(field=v, exists=True)),
        "scope.exclude[].field (any_of)": lambda r, v: _add_filter(
            r, ScopeFilter(field=v, any_of=("x",)), exclude=True
        ),
    }
    for field in EVENT_FIELDS:
        slots[f"scope.filters[].any_of ({field})"] = _filter_value(field, exclude=False)
        slots[f"scope.exclude[].any_of ({field})"] = _filter_value(field, exclude=True)
    slots.update(_param_slots(rule))
    return slots


@cache
def _load(path: Path) -> Rule:
    return load_rule_file(path)


def _render(rule: Rule, target: str) -> dict[str, Any] | RenderError:
    try:
        return render(rule, target)
    except RenderError as exc:  # anything else escaping is a failure of the test
        return exc


def _expressible(rule_file: Path, target: str) -> bool:
    """False where the target cannot express the rule's kind at all (watcher: per-account rules)."""
    try:
        render(_load(rule_file), target)
    except UnsupportedByTarget:
        return False
    return True


RENDERABLE = [(f, t) for f in RULE_FILES for t in sorted(TARGETS) if _expressible(f, t)]


@pytest.mark.parametrize(("rule_file", "target"), RENDERABLE, ids=[f"{f.stem}-{t}" for f, t in RENDERABLE])
@settings(
    max_examples=EXAMPLES_PER_RULE_AND_TARGET,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_value_in_any_slot_keeps_structure(rule_file: Path, target: str, data: st.DataObject) -> None:
    rule = _load(rule_file)
    slots = slots_for(rule)
    slot_name = data.draw(st.sampled_from(sorted(slots)), label="slot")
    value = data.draw(hostile_text(), label="value")
    event(f"slot {slot_name}")
    slot = slots[slot_name]
    baseline = _render(slot(rule, MARKER), target)
    result = _render(slot(rule, value), target)
    if isinstance(baseline, RenderError):
        # A typed slot (a duration, an enum): refusing a hostile value is the right outcome, and
        # where one happens to fit, the structure must still be the one of the shipped rule.
        original = render(rule, target)
        assert isinstance(result, RenderError) or shape(result) == shape(original)
        return
    if isinstance(result, RenderError):
        # A target may refuse what its engine would interpret (Watcher: mustache ``{{ }}``): safe,
        # provided the refusal is a located error and plain text still goes through.
        event(f"refused by {target}")
        assert str(result).startswith(f"{rule.source}:"), str(result)
        plain = "plain value 42"
        assert injection_difference(render(slot(rule, plain), target), baseline, plain) is None
        return
    difference = injection_difference(result, baseline, value)
    assert difference is None, f"{slot_name}: {difference}"
    json.loads(json.dumps(result))  # and it serialises back to JSON text


@pytest.mark.parametrize("rule_file", RULE_FILES, ids=[p.stem for p in RULE_FILES])
@settings(max_examples=EXAMPLES_WINDOW, deadline=None)
@given(start=hostile_text(), end=hostile_text())
def test_hostile_window_bounds_stay_values(rule_file: Path, start: str, end: str) -> None:
    """The window comes from the command line (``--at``, ``--from``) and the runner's clock."""
    # A bound that starts with ``now`` is date math and composes as ``now…-900s`` rather than
    # ``…||-900s`` (renderer.environment.minus): still a plain value, but not the same text.
    assume(not start.startswith("now") and not end.startswith("now"))
    rule = _load(rule_file)
    baseline = render_query(rule, Window(MARKER + "s", MARKER + "e"))
    result = render_query(rule, Window(start, end))
    halfway = render_query(rule, Window(start, MARKER + "e"))
    assert injection_difference(halfway, baseline, start, MARKER + "s") is None
    assert injection_difference(result, halfway, end, MARKER + "e") is None


def test_slots_cover_the_template_context() -> None:
    """Every string the query templates can see is one of the slots above (or a fixed enum)."""
    rule = _load(RULE_FILES[0])
    context = rule.as_template_context()
    typed = {"id", "kind", "severity", "risk_score", "version", "interval_seconds", "lookback_seconds"}
    covered = {"name", "title", "scope", "params"}
    assert set(context) <= typed | covered, sorted(set(context) - typed - covered)
