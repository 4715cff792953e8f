"""Load rule files: YAML → JSON Schema → checks across rules → frozen ``Rule`` objects.

Every problem in every file is collected and reported together, each with its location.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from sessionwatch.rules.errors import (
    Location,
    RuleErrors,
    RuleSchemaError,
    RuleSyntaxError,
    SessionwatchError,
)
from sessionwatch.rules.model import Rule, build_rule, parse_time
from sessionwatch.rules.site_config import with_examples
from sessionwatch.rules.yaml_source import YamlDocument, escape_pointer_token, parse_yaml

RULE_SUFFIXES = (".yml", ".yaml")

Adjust = Callable[[YamlDocument, Path], "YamlDocument | None"]
"""Turns a parsed rule document into the one to validate and build (None: leave the rule out)."""


@cache
def rule_schema() -> dict[str, Any]:
    """The rule JSON Schema shipped with the package."""
    text = resources.files("sessionwatch.rules").joinpath("schema/rule-v1.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    schema = rule_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _pointer(parts: Iterable[Any]) -> str:
    return "".join(f"/{escape_pointer_token(str(p))}" for p in parts)


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """Descend into oneOf/anyOf/allOf so the message names the real problem."""
    if error.context and error.validator in ("allOf",):
        for sub in error.context:
            yield from _leaf_errors(sub)
    else:
        yield error


def _schema_errors(doc: YamlDocument) -> list[SessionwatchError]:
    errors: list[SessionwatchError] = []
    for top in _validator().iter_errors(doc.data):
        for error in _leaf_errors(top):
            pointer = _pointer(error.absolute_path)
            schema = error.schema
            if (
                error.validator == "additionalProperties"
                and isinstance(error.instance, dict)
                and isinstance(schema, dict)
            ):
                allowed = set(schema.get("properties", {}))
                for extra in sorted(set(error.instance) - allowed):
                    child = f"{pointer}/{escape_pointer_token(extra)}"
                    errors.append(RuleSchemaError(f"unknown field {extra!r}", doc.locate(child, key=True)))
                continue
            errors.append(RuleSchemaError(error.message, doc.locate(pointer)))
    unique: dict[tuple[object, str], SessionwatchError] = {}
    for found in errors:  # a type error can be found by the base schema and a kind's branch alike
        unique.setdefault((found.location, found.message), found)
    return list(unique.values())


def _semantic_errors(doc: YamlDocument, path: Path) -> list[SessionwatchError]:
    """Checks the schema cannot express: file name, real calendar times."""
    errors: list[SessionwatchError] = []
    data = doc.data
    if data.get("name") != path.stem:
        errors.append(
            RuleSchemaError(
                f"rule name {data.get('name')!r} does not match its file name {path.stem!r}",
                doc.locate("/name"),
            )
        )
    for i, case in enumerate(data.get("tests", [])):
        for key in ("at", "from"):
            if key in case:
                try:
                    parse_time(case[key])
                except ValueError as exc:
                    errors.append(RuleSchemaError(str(exc), doc.locate(f"/tests/{i}/{key}")))
    return errors


def load_rule_file(path: Path) -> Rule:
    """Load one rule as written (site params from their examples); raise ``RuleErrors`` listing
    every problem in the file."""
    rule = _load_rule_file(path, None)
    assert rule is not None  # without an adjust function no rule is left out
    return rule


def _load_rule_file(path: Path, adjust: Adjust | None) -> Rule | None:
    display = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        before = exc.object[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise RuleErrors(
            [RuleSyntaxError(f"not UTF-8 text: {exc.reason}", Location(display, line, column))]
        ) from None
    except OSError as exc:
        raise RuleErrors([RuleSchemaError(f"cannot read: {exc.strerror}", Location(display))]) from None
    try:
        doc = parse_yaml(text, display)
    except RuleErrors:
        raise
    except SessionwatchError as exc:
        raise RuleErrors([exc]) from None
    if not isinstance(doc.data, dict):
        raise RuleErrors([RuleSchemaError("a rule file must hold a mapping", doc.locate(""))])
    adjusted = adjust(doc, path) if adjust is not None else with_examples(doc)
    if adjusted is None:
        return None
    doc = adjusted
    errors = _schema_errors(doc)
    if not errors:
        errors = _semantic_errors(doc, path)
    if errors:
        raise RuleErrors(errors)
    return build_rule(doc.data, path, doc.locate)


def discover(paths: Iterable[Path]) -> list[Path]:
    """Rule files named by ``paths`` (files, or directories searched recursively), sorted."""
    found: set[Path] = set()
    for path in paths:
        if path.is_dir():
            found.update(p for p in path.rglob("*") if p.suffix in RULE_SUFFIXES and p.is_file())
        else:
            found.add(path)
    return sorted(found)


def load_rules(paths: Iterable[Path], adjust: Adjust | None = None) -> list[Rule]:
    """Load every rule under ``paths``; raise ``RuleErrors`` with all problems of all files.

    ``adjust`` (default: fill site params from their examples) may rewrite or leave out a rule."""
    rules: list[Rule] = []
    errors: list[SessionwatchError] = []
    files = discover(paths)
    if not files:
        raise RuleErrors([RuleSchemaError("no rule files found", Location(", ".join(map(str, paths))))])
    for path in files:
        if not path.exists():
            errors.append(RuleSchemaError("no such file", Location(str(path))))
            continue
        try:
            rule = _load_rule_file(path, adjust)
        except RuleErrors as exc:
            errors.extend(exc.errors)
            continue
        if rule is not None:
            rules.append(rule)
    errors.extend(duplicate_errors(rules))
    if errors:
        raise RuleErrors(errors)
    return rules


def duplicate_errors(rules: list[Rule]) -> list[SessionwatchError]:
    """Two rules may not share an id or a name."""
    errors: list[SessionwatchError] = []
    for attribute in ("id", "name"):
        first: dict[str, Rule] = {}
        for rule in rules:
            value = str(getattr(rule, attribute))
            if value in first:
                other = first[value]
                errors.append(
                    RuleSchemaError(
                        f"duplicate rule {attribute} {value!r}, also used by {other.location}",
                        rule.locate(f"/{attribute}"),
                    )
                )
            else:
                first[value] = rule
    return errors
