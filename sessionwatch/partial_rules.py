"""Lint what can be linted in a rule file that fails the schema.

``validate`` reports schema errors and lint findings in one run. A file with schema errors does
not become a ``Rule``, so this module builds a *partial* one: every value the schema rejects is
left out (an unknown key, a bad list item, a test case missing a field), required fields that are
missing or left out get neutral stand-ins, and the result is built like any rule. Lint then runs
on it, and findings at or around a value that was left out or stood in for are dropped: they
would describe the stand-in, not the author's file.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from sessionwatch.rules.errors import SessionwatchError
from sessionwatch.rules.kinds import Kind
from sessionwatch.rules.lint import Finding
from sessionwatch.rules.loader import rule_schema
from sessionwatch.rules.model import Rule, build_rule
from sessionwatch.rules.yaml_source import escape_pointer_token, parse_yaml

MAX_ROUNDS = 8
# Stand-ins for required top-level fields; ``kind`` has none: without a kind nothing can be linted.
STAND_INS: dict[str, Any] = {
    "id": "00000000-0000-0000-0000-000000000000",
    "title": "",
    "description": "",
    "severity": "medium",
    "status": "experimental",
    "params": {},
    "scope": {"index": "sessionwatch-events-*"},
    "compliance": {},
    "attack": [],
    "tests": [],
}


@dataclass(frozen=True)
class PartialRule:
    """A rule built from what the schema accepted, and the pointers that were left out or filled."""

    rule: Rule
    touched: frozenset[str]

    def keeps(self, finding: Finding) -> bool:
        """Whether ``finding`` is about the author's text (not near a value left out)."""
        pointer = finding.location.pointer
        if pointer == "/policy" and any(_related("/params", t) for t in self.touched):
            return False  # the policy is checked against the parameters, some of which are missing
        return not any(_related(pointer, t) for t in self.touched)


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/") or not a or not b


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(rule_schema())


def _pointer(parts: Sequence[Any]) -> str:
    return "".join(f"/{escape_pointer_token(str(p))}" for p in parts)


def _remove(data: Any, parts: Sequence[Any]) -> bool:
    parent = data
    for part in parts[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return False
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
        return True
    if isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        del parent[last]
        return True
    return False


MISSING = frozenset({"required", "anyOf", "oneOf", "dependentRequired"})


def _repair_round(data: dict[str, Any], touched: set[str]) -> bool:
    """Leave out (or stand in for) what the schema rejects; True when something changed."""
    changed = False
    errors = list(_validator().iter_errors(data))
    # Deepest first, later list items first, so earlier removals do not shift later paths.
    for error in sorted(errors, key=lambda e: [str(p).zfill(6) for p in e.absolute_path], reverse=True):
        path = list(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
            for extra in set(error.instance) - allowed:
                changed |= _mark(_remove(data, [*path, extra]), touched, [*path, extra])
        elif error.validator in MISSING and not path:
            for name, value in STAND_INS.items():
                if name not in data:
                    data[name] = copy.deepcopy(value)
                    changed = _mark(True, touched, [name])
        elif error.validator in MISSING and not isinstance(path[-1], int):
            touched.add(_pointer(path))  # e.g. a kind's parameter missing from params: nothing to leave out
        elif path:
            changed |= _mark(_remove(data, path), touched, path)
    return changed


def _mark(removed: bool, touched: set[str], path: Sequence[Any]) -> bool:
    if removed:
        touched.add(_pointer(path))
    return removed


KINDS = frozenset(k.value for k in Kind)
UNUSABLE = (KeyError, TypeError, ValueError, AttributeError, IndexError)  # too little left to be a rule


def _has_kind(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("kind"), str) and data["kind"] in KINDS


def partial_rule(path: Path) -> PartialRule | None:
    """The lintable part of the rule file at ``path``; None when too little of it is a rule.

    Best effort by design: the file's schema errors are reported whatever happens here.
    """
    try:
        doc = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, SessionwatchError):
        return None
    if not _has_kind(doc.data):
        return None
    data = copy.deepcopy(doc.data)
    touched: set[str] = set()
    try:
        for _ in range(MAX_ROUNDS):
            if not _repair_round(data, touched):
                break
        if not _has_kind(data):
            return None
        if not isinstance(data.get("name"), str):
            data["name"] = path.stem
            touched.add("/name")
        rule = _build(data, path, doc, touched)
    except UNUSABLE:
        return None
    return PartialRule(rule, frozenset(touched))


def _build(data: dict[str, Any], path: Path, doc: Any, touched: set[str]) -> Rule:
    """The rule; when its parameters cannot be typed (one was left out), the kind's sample
    parameters stand in, and nothing is said about ``/params``."""
    try:
        return build_rule(data, path, doc.locate)
    except UNUSABLE:
        data["params"] = dict(Kind(data["kind"]).spec.sample().params)
        touched.add("/params")
        return build_rule(data, path, doc.locate)
