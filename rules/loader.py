"""Load rule files: YAML → JSON Schema → checks across rules → frozen ``Rule`` objects.

Every problem in every file is collected and reported together, each with its location.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from sessionwatch.rules.durations import PATTERN as DURATION_PATTERN
from sessionwatch.rules.errors import (
    Location,
    RuleErrors,
    RuleSchemaError,
    RuleSyntaxError,
    SessionwatchError,
)
from sessionwatch.rules.model import Rule, build_rule, parse_time
from sessionwatch.rules.site_config import with_examples
from sessionwatch.rules.yaml_source import MAX_BYTES, YamlDocument, escape_pointer_token, parse_yaml

RULE_SUFFIXES = (".yml", ".yaml")

Adjust = Callable[[YamlDocument, Path], "YamlDocument | None"]
"""Turns a parsed rule document into the one to validate and build (None: leave the rule out)."""


@cache
def rule_schema() -> dict[str, Any]:
    """The rule JSON Schema shipped with the package."""
    text = resources.files("sessionwatch.rules").joinpath("schema/rule-v1.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def ecma_regex(pattern: str) -> re.Pattern[str]:
    """``pattern`` (ECMA-262, as JSON Schema defines it) as a Python regex with the same meaning
    for the patterns used here: ``$`` outside a character class is the end of the string (Python's
    ``$`` also matches before a final newline) and ``\\d``, ``\\w`` are ASCII only."""
    out: list[str] = []
    in_class = escaped = False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif in_class:
            out.append(char)
            in_class = char != "]"
        elif char == "[":
            out.append(char)
            in_class = True
        elif char == "$":
            out.append(r"\Z")
        else:
            out.append(char)
    return re.compile("".join(out), re.ASCII)


_ECMA_CACHE: dict[str, re.Pattern[str]] = {}


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "string"):
        return
    compiled = _ECMA_CACHE.get(pattern)
    if compiled is None:
        compiled = _ECMA_CACHE[pattern] = ecma_regex(pattern)
    if not compiled.search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator() -> Any:
    schema = rule_schema()
    Draft202012Validator.check_schema(schema)
    # Draft 2020-12 with ECMA-262 pattern semantics (jsonschema uses Python's ``re`` as is)
    rule_validator = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]
    return rule_validator(schema)


def _pointer(parts: Iterable[Any]) -> str:
    return "".join(f"/{escape_pointer_token(str(p))}" for p in parts)


def _leaf_errors(error: ValidationError) -> Iterator[ValidationError]:
    """Descend into oneOf/anyOf/allOf so the message names the real problem."""
    if error.context and error.validator in ("allOf",):
        for sub in error.context:
            yield from _leaf_errors(sub)
    else:
        yield error


def _message(error: ValidationError) -> str:
    """The schema's message, in words for the patterns an author meets (not a regular expression)."""
    if error.validator == "pattern" and error.validator_value == DURATION_PATTERN:
        return f"not a duration: {error.instance!r} (use 15m, 1h, 30d: a whole number and s, m, h or d)"
    return str(error.message)


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
            errors.append(RuleSchemaError(_message(error), doc.locate(pointer)))
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
    errors += _cidr_errors(doc)
    for i, case in enumerate(data.get("tests", [])):
        for key in ("at", "from"):
            if key in case:
                try:
                    parse_time(case[key])
                except ValueError as exc:
                    errors.append(RuleSchemaError(str(exc), doc.locate(f"/tests/{i}/{key}")))
    return errors


def _cidr_errors(doc: YamlDocument) -> list[SessionwatchError]:
    """Every ``allowed_cidrs`` entry is a network Elasticsearch accepts (an invalid one made it
    abort every rule of a search with HTTP 400) and is not the whole address space (``0.0.0.0/0``
    allows every address: the rule could never fire)."""
    errors: list[SessionwatchError] = []
    params = doc.data.get("params")
    cidrs = params.get("allowed_cidrs") if isinstance(params, dict) else None
    for i, cidr in enumerate(cidrs if isinstance(cidrs, list) else []):
        where = doc.locate(f"/params/allowed_cidrs/{i}")
        try:
            network = ipaddress.ip_network(str(cidr), strict=True)
        except ValueError as exc:
            errors.append(RuleSchemaError(f"invalid CIDR: {exc}", where))
            continue
        if network.prefixlen == 0:
            errors.append(RuleSchemaError(f"{cidr} allows every address: the rule would never fire", where))
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
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)  # the limit counts bytes, before decoding
        if len(raw) > MAX_BYTES:
            too_big = RuleSyntaxError(f"file larger than {MAX_BYTES} bytes", Location(display, 1, 1))
            raise RuleErrors([too_big])
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text does
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


def load_rules(
    paths: Iterable[Path],
    adjust: Adjust | None = None,
    on_error: Callable[[SessionwatchError], None] | None = None,
) -> list[Rule]:
    """Load every rule under ``paths``; raise ``RuleErrors`` with all problems of all files.

    ``adjust`` (default: fill site params from their examples) may rewrite or leave out a rule.
    With ``on_error``, each problem is reported to it instead, and the rules without one are
    returned (a bad rule is skipped, the others still run; a duplicate id or name skips the
    later rule)."""
    if on_error is not None:
        return _load_skipping(paths, adjust, on_error)
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


def _load_skipping(
    paths: Iterable[Path], adjust: Adjust | None, report: Callable[[SessionwatchError], None]
) -> list[Rule]:
    files = discover(paths)
    if not files:
        raise RuleErrors([RuleSchemaError("no rule files found", Location(", ".join(map(str, paths))))])
    rules: list[Rule] = []
    for path in files:
        try:
            rule = _load_rule_file(path, adjust)
        except RuleErrors as exc:
            for error in exc.errors:
                report(error)
            continue
        if rule is None:
            continue
        clash = duplicate_errors([*rules, rule])
        if clash:
            report(clash[0])
            continue
        rules.append(rule)
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
