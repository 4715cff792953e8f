"""The template sandbox: templates cannot reach Python attributes, and say so clearly.

Each payload is a test-only template that a plain (unsandboxed) Jinja environment renders: it
reaches a Python internal or mutates the rule. The project's own environment (the same
``ImmutableSandboxedEnvironment``) refuses every one with a ``SecurityError``, directly and
through ``render_query`` (where the error must surface as a located ``RenderError``, not a Jinja
or Python exception). Without the sandbox, these tests fail.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib
import json
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, DictLoader, Environment, StrictUndefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sessionwatch.renderer.environment import environment
from sessionwatch.rules import load_rule_file
from sessionwatch.rules.errors import RenderError
from tests.hardening.hostile import MARKER, expected_after_injection

# ``sessionwatch.renderer.render`` the attribute is the function; the module is in sys.modules.
render_module = importlib.import_module("sessionwatch.renderer.render")
IDLE_RULE = (
    Path(__file__).resolve().parents[2] / "rules" / "pack" / "session_idle_timeout" / "pci-dss-idle-15m.yml"
)

ESCAPES = {
    "dunder-class": "{{ ''.__class__.__mro__ }}",
    "dunder-subscript": "{{ ''['__class__'] }}",
    "attr-filter": "{{ ''|attr('__class__') }}",
    "globals-via-macro": "{% macro m() %}{% endmacro %}{{ m._func.__globals__ }}",
    "func-globals": "{{ lipsum.__globals__ }}",
    "cycler-init": "{{ cycler.__init__.__globals__.os }}",
    "format-attr": "{{ '{0.__class__}'.format('') }}",
    "format-map": "{{ '{x.__class__}'.format_map({'x': ''}) }}",
    "mutate-list": "{{ rule.scope.filters.append(1) }}",
    "mutate-dict": "{{ rule.params.update({'idle_timeout': '1s'}) }}",
    "pop-dict": "{{ rule.params.pop('idle_timeout') }}",
    "set-default": "{{ rule.params.setdefault('x', 1) }}",
    "private-attr": "{{ self._TemplateReference__context }}",
    "func-code": "{{ lipsum.__code__ }}",
}
CONTEXT = {"rule": {"scope": {"filters": []}, "params": {"idle_timeout": "15m"}}}
REFUSED = ("is unsafe", "is immutable")  # the sandbox's SecurityError messages


def _overlay(name: str, source: str) -> Environment:
    """The project's environment with one test-only template in front of the shipped ones."""
    base = environment()
    assert base.loader is not None
    return base.overlay(loader=ChoiceLoader([DictLoader({name: source}), base.loader]))


@pytest.mark.parametrize("payload", list(ESCAPES.values()), ids=list(ESCAPES))
def test_payload_escapes_without_a_sandbox(payload: str) -> None:
    """Each payload is a real escape: an unsandboxed environment renders it."""
    plain = Environment(undefined=StrictUndefined, autoescape=False)
    assert plain.from_string(payload).render(**copy.deepcopy(CONTEXT)) != ""


@pytest.mark.parametrize("payload", list(ESCAPES.values()), ids=list(ESCAPES))
def test_escape_attempt_is_refused_by_the_environment(payload: str) -> None:
    env = environment()
    assert isinstance(env, ImmutableSandboxedEnvironment)
    with pytest.raises(SecurityError) as caught:
        env.from_string(payload).render(**copy.deepcopy(CONTEXT))
    assert any(text in str(caught.value) for text in REFUSED), caught.value


@pytest.mark.parametrize("payload", list(ESCAPES.values()), ids=list(ESCAPES))
def test_escape_attempt_surfaces_as_located_render_error(
    payload: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rule = load_rule_file(IDLE_RULE)
    template = f"query/{rule.kind.value}.json.j2"
    overlay = _overlay(template, payload)
    assert isinstance(overlay, ImmutableSandboxedEnvironment)
    monkeypatch.setattr(render_module, "environment", lambda: overlay)
    with pytest.raises(RenderError) as caught:
        render_module.render_query(rule)
    message = str(caught.value)
    assert message.startswith(f"{IDLE_RULE}:"), message
    assert template in message
    assert any(text in message for text in REFUSED), message
    assert "Traceback" not in message


def test_unsafe_error_message_names_the_attribute() -> None:
    with pytest.raises(SecurityError, match="__class__"):
        environment().from_string("{{ ''.__class__.__mro__ }}").render()


def test_injection_check_catches_a_template_without_tojson(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check used by test_injection.py can fail: a template that splices a value as text is
    caught, both when its output stops parsing and when a payload changes its structure."""
    rule = load_rule_file(IDLE_RULE)
    template = f"query/{rule.kind.value}.json.j2"
    spliced = '{"query": {"term": {"user.name": "{{ rule.title }}"}}}'
    overlay = _overlay(template, spliced)
    monkeypatch.setattr(render_module, "environment", lambda: overlay)
    baseline = render_module.render_query(dataclasses.replace(rule, title=MARKER))
    with pytest.raises(RenderError, match="invalid JSON"):
        render_module.render_query(dataclasses.replace(rule, title='a"b'))
    payload = 'x"}}, "size": 10000, "q": {"a": {"b": "'
    hostile = render_module.render_query(dataclasses.replace(rule, title=payload))
    assert hostile != expected_after_injection(baseline, payload)
    assert json.dumps(hostile)
