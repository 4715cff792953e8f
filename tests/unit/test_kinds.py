"""Each rule kind is declared once (``rules/kinds/<kind>.py``); everything else is derived from it."""

from __future__ import annotations

import importlib
import json
import re
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from jinja2 import ChoiceLoader, FileSystemLoader
from jsonschema import Draft202012Validator

import sessionwatch.rules.kinds as kinds_package
from sessionwatch.enrichers import fact_names
from sessionwatch.renderer.environment import environment
from sessionwatch.reports.alerts_table import actual_vs_limit
from sessionwatch.rules import kind_schema
from sessionwatch.rules.alert_shapes import EVIDENCE_FACTS, SHAPES, THRESHOLDS
from sessionwatch.rules.catalog import catalog
from sessionwatch.rules.errors import Location
from sessionwatch.rules.kinds import Kind, KindSpec, Shape, _registry, specs
from sessionwatch.rules.lint import LintContext, lint_rule
from sessionwatch.rules.model import build_rule
from sessionwatch.scaffold import rule_text

render_module = importlib.import_module("sessionwatch.renderer.render")
REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "rules" / "schema" / "rule-v1.schema.json"
TEMPLATES = REPO / "renderer" / "templates" / "query"
# Where Python code, templates and schemas of the package live (rule packs and fixtures aside).
SOURCE_DIRS = ("rules", "renderer", "enrichers", "sessionwatch")
SPECS = specs()
IDS = [s.name for s in SPECS]


def test_twelve_kinds_in_design_order() -> None:
    assert [k.value for k in Kind] == IDS
    assert len(IDS) == 12
    assert Kind("session_idle_timeout") is Kind("session_idle_timeout")
    with pytest.raises(ValueError, match="not a rule kind"):
        Kind("session_nap_timeout")


def _source_files() -> Iterator[Path]:
    for top in SOURCE_DIRS:
        for path in (REPO / top).rglob("*"):
            if path.suffix in {".py", ".j2", ".json", ".yml"} and "pack" not in path.parts:
                yield path


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_a_kind_is_registered_in_exactly_one_place(spec: KindSpec) -> None:
    """Its name appears in its own module only; the query template is named after it and the
    schema's per-kind part is generated (checked below)."""
    pattern = re.compile(rf"\b{spec.name}\b")
    places = sorted(
        str(p.relative_to(REPO)) for p in _source_files() if pattern.search(p.read_text(encoding="utf-8"))
    )
    generated = "rules/schema/rule-v1.schema.json"
    assert places == sorted([f"rules/kinds/{spec.name}.py", generated])
    assert (REPO / "renderer" / "templates" / spec.template).is_file()


def test_checked_in_schema_is_the_generated_one() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["allOf"] == kind_schema.params_clauses(), (
        "run: python -m sessionwatch.rules.kind_schema --write rules/schema/rule-v1.schema.json"
    )
    assert schema["$defs"]["kind"] == {"enum": kind_schema.kind_enum()}
    assert kind_schema.regenerate(SCHEMA.read_text(encoding="utf-8")) == SCHEMA.read_text(encoding="utf-8")


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_template_reads_only_declared_facts(spec: KindSpec) -> None:
    text = (TEMPLATES / f"{spec.name}.json.j2").read_text(encoding="utf-8")
    referenced = set(re.findall(r"sessionwatch\.[a-z_]+(?:\.[a-z_]+)+", text))
    assert referenced <= spec.reads, f"declare in rules/kinds/{spec.name}.py: {referenced - spec.reads}"
    vocabulary = set(fact_names())
    assert spec.reads <= vocabulary
    assert set(spec.evidence) <= vocabulary


def test_alert_shape_views_come_from_the_declarations() -> None:
    assert {k.value: v for k, v in SHAPES.items()} == {s.name: s.shape for s in SPECS}
    assert {k.value for k in THRESHOLDS} == {s.name for s in SPECS if s.threshold is not None}
    assert EVIDENCE_FACTS[Kind("session_idle_timeout")][0] == "sessionwatch.session.idle_seconds"
    assert all(s.per_account == (s.shape is Shape.ACTORS) for s in SPECS)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_sample_params_are_valid_for_the_kind(spec: KindSpec) -> None:
    sample = spec.sample()
    params = spec.params.from_raw(sample.params)
    assert dict(params) == dict(sample.params)
    defs = json.loads(SCHEMA.read_text(encoding="utf-8"))["$defs"]
    Draft202012Validator({**spec.params.json_schema(), "$defs": defs}).validate(dict(sample.params))


TOY = '''
"""A toy thirteenth kind: sessions that made more than ``max_views`` views."""

from __future__ import annotations

from dataclasses import dataclass, field

from sessionwatch.rules.kinds import KindSpec, Params, Sample, Shape
from sessionwatch.rules.kinds._params import COUNT
from sessionwatch.rules.kinds._samples import event


@dataclass(frozen=True)
class ToyParams(Params):
    max_views: int = field(metadata=COUNT)


KIND = KindSpec(
    name="session_toy_views",
    summary="too many views",
    position=13,
    params=ToyParams,
    shape=Shape.SESSIONS,
    reads=frozenset({"sessionwatch.session.id"}),
    evidence=("sessionwatch.session.id",),
    sample=lambda: Sample(
        "Too many views",
        {"max_views": 2},
        (event("p-1", 0, "view"),),
        (event("n-1", 0, "view"),),
        {"session": "sw-1"},
    ),
)
'''
TOY_TEMPLATE = (
    '{"query": {"bool": {"filter": [{"term": {"sessionwatch.session.id": "x"}}]}},'
    ' "size": {{ rule.params.max_views | tojson }}}\n'
)


@pytest.fixture
def toy_kind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A thirteenth kind added the documented way: one module and one template, nothing else."""
    (tmp_path / "kinds").mkdir()
    (tmp_path / "kinds" / "session_toy_views.py").write_text(textwrap.dedent(TOY), encoding="utf-8")
    (tmp_path / "templates" / "query").mkdir(parents=True)
    (tmp_path / "templates" / "query" / "session_toy_views.json.j2").write_text(
        TOY_TEMPLATE, encoding="utf-8"
    )
    monkeypatch.setattr(kinds_package, "__path__", [*kinds_package.__path__, str(tmp_path / "kinds")])
    overlay = environment().overlay(
        loader=ChoiceLoader([FileSystemLoader(str(tmp_path / "templates")), environment().loader])  # type: ignore[list-item]
    )
    monkeypatch.setattr(render_module, "environment", lambda: overlay)
    _registry._declared.cache_clear()
    yield tmp_path
    _registry._declared.cache_clear()
    _registry._INTERNED.pop("session_toy_views", None)


def test_a_thirteenth_kind_is_one_module_and_one_template(toy_kind: Path, tmp_path: Path) -> None:
    assert [k.value for k in Kind][-1] == "session_toy_views"
    # the schema regenerates with it, and a rule of the new kind validates, builds, lints and renders
    schema: dict[str, Any] = json.loads(kind_schema.regenerate(SCHEMA.read_text(encoding="utf-8")))
    assert "session_toy_views" in schema["$defs"]["kind"]["enum"]
    text = rule_text(Kind("session_toy_views"), "toy-views", "toy", "00000000-0000-4000-8000-000000000013")
    data = yaml.safe_load(text)
    assert sorted(e.message for e in Draft202012Validator(schema).iter_errors(data)) == []
    bad = {**data, "params": {"max_views": 0}}
    assert list(Draft202012Validator(schema).iter_errors(bad)), "the generated params schema applies"
    rule = build_rule(
        data, tmp_path / "toy-views.yml", lambda pointer: Location("toy-views.yml", 1, 1, pointer)
    )
    assert rule.params.max_views == 2  # type: ignore[attr-defined]
    assert rule.spec.name == "session_toy_views"
    assert render_module.render_query(rule)["size"] == 2
    findings = lint_rule(rule, LintContext(frozenset(), frozenset(), {}, catalog()))
    assert [f.code for f in findings] == ["SW403", "SW403"]  # one positive case and one negative one
    # declared without wording, its findings read in detect's table as the alert's message
    assert rule.spec.describe is None
    toy_alert = {"rule": {"category": "session_toy_views"}, "message": "too many views: session sw-1"}
    assert actual_vs_limit(toy_alert, dict(rule.params)) == "too many views: session sw-1"


def test_the_table_words_findings_from_the_kind_declarations(monkeypatch: pytest.MonkeyPatch) -> None:
    """detect's table asks the kind's declaration for the wording of a finding (none kept aside)."""
    alert = {"rule": {"category": "session_idle_timeout"}, "message": "the message"}
    spec = Kind("session_idle_timeout").spec
    assert spec.describe is not None
    assert actual_vs_limit(alert, {"idle_timeout": "15m"}) == "idle ? > 15m"
    declared = _registry._declared()
    redeclared = replace(spec, describe=lambda alert, params: f"declared {params['idle_timeout']}")
    monkeypatch.setitem(declared, spec.name, redeclared)
    assert actual_vs_limit(alert, {"idle_timeout": "15m"}) == "declared 15m"
    monkeypatch.setitem(declared, spec.name, replace(spec, describe=None))
    assert actual_vs_limit(alert, {"idle_timeout": "15m"}) == "the message"
