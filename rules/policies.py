"""Policy profiles: named thresholds (NIST SP 800-63B per revision and AAL, PCI DSS, OWASP ASVS,
the organisation's own) that rules name in ``policy`` and must agree with.

The shipped profiles live in ``sessionwatch/rules/policies/*.yml``; a ``policies/`` directory
beside (or above) a rule pack adds profiles and replaces shipped ones of the same name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from sessionwatch.rules.durations import parse_duration
from sessionwatch.rules.errors import Location, RuleErrors, RuleSchemaError, SessionwatchError
from sessionwatch.rules.yaml_source import parse_yaml

POLICY_DIR = "policies"
Threshold = str | int


@dataclass(frozen=True, kw_only=True)
class Policy:
    name: str
    title: str
    source: str
    description: str
    thresholds: Mapping[str, Threshold]
    location: Location = field(compare=False)
    threshold_locations: Mapping[str, Location] = field(compare=False, default_factory=dict)

    def locate(self, threshold: str) -> Location:
        return self.threshold_locations.get(threshold, self.location)


def threshold_value(value: Threshold) -> int:
    """A threshold as a number: durations in seconds, counts as they are."""
    return value if isinstance(value, int) else parse_duration(value)


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("sessionwatch.rules").joinpath("schema/policy-v1.schema.json").read_text()
    return Draft202012Validator(json.loads(text))


def parse_policy(text: str, origin: str, stem: str | None = None) -> Policy:
    """One policy file; ``RuleErrors`` with every problem, located."""
    doc = parse_yaml(text, origin)
    errors: list[SessionwatchError] = []
    for error in _validator().iter_errors(doc.data):
        pointer = "".join(f"/{p}" for p in error.absolute_path)
        errors.append(RuleSchemaError(f"invalid policy: {error.message}", doc.locate(pointer)))
    if not errors and stem is not None and doc.data["name"] != stem:
        errors.append(
            RuleSchemaError(
                f"policy name {doc.data['name']!r} does not match its file name", doc.locate("/name")
            )
        )
    if errors:
        raise RuleErrors(errors)
    data: dict[str, Any] = doc.data
    thresholds = data["thresholds"]
    return Policy(
        name=data["name"],
        title=data["title"],
        source=data["source"],
        description=data.get("description", "").strip(),
        thresholds=MappingProxyType(dict(thresholds)),
        location=doc.locate(""),
        threshold_locations=MappingProxyType({k: doc.locate(f"/thresholds/{k}") for k in thresholds}),
    )


def _load_files(entries: Iterable[tuple[str, str, str]]) -> dict[str, Policy]:
    policies: dict[str, Policy] = {}
    errors: list[SessionwatchError] = []
    for text, origin, stem in entries:
        try:
            policy = parse_policy(text, origin, stem)
        except RuleErrors as exc:
            errors.extend(exc.errors)
            continue
        policies[policy.name] = policy
    if errors:
        raise RuleErrors(errors)
    return policies


def builtin_policies() -> dict[str, Policy]:
    """The policy profiles shipped with sessionwatch."""
    folder = resources.files("sessionwatch.rules").joinpath(POLICY_DIR)
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".yml")), key=lambda p: p.name)
    return _load_files((p.read_text(encoding="utf-8"), f"{POLICY_DIR}/{p.name}", p.name[:-4]) for p in files)


def policy_dirs(rule_files: Iterable[Path]) -> list[Path]:
    """The nearest ``policies/`` directory above each rule file (deduplicated, sorted)."""
    found: set[Path] = set()
    for path in rule_files:
        for folder in path.resolve().parents:
            candidate = folder / POLICY_DIR
            if candidate.is_dir():
                found.add(candidate)
                break
    return sorted(found)


def load_policies(rule_files: Iterable[Path] = ()) -> dict[str, Policy]:
    """Shipped profiles, then those found beside the rules (which win on a name clash)."""
    policies = builtin_policies()
    for folder in policy_dirs(rule_files):
        files = sorted(folder.glob("*.yml"))
        policies.update(_load_files((p.read_text(encoding="utf-8"), str(p), p.stem) for p in files))
    return policies
