"""Lint beyond the schema: checks across a rule, its policy, the catalogues and the whole pack.

Findings are small values with a code and a severity, separate from exceptions; every finding
of every rule is returned at once, each located at the exact YAML node (``path:line:col`` plus
the JSON pointer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from sessionwatch.rules.catalog import Catalog
from sessionwatch.rules.errors import Location, SessionwatchError
from sessionwatch.rules.model import Rule
from sessionwatch.rules.policies import Policy, threshold_value
from sessionwatch.rules.yaml_source import escape_pointer_token, parse_yaml

IDLE, LIFETIME = "idle_timeout", "max_lifetime"


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Finding:
    location: Location
    code: str
    level: Level
    message: str

    def __str__(self) -> str:
        pointer = f" ({self.location.pointer})" if self.location.pointer else ""
        return f"{self.location}: {self.level.value} {self.code}: {self.message}{pointer}"


@dataclass(frozen=True)
class LintContext:
    indexed_fields: frozenset[str]  # facts vocabulary + ECS fields in the events mapping
    profile_fields: frozenset[str]  # vendor fields that input profiles read (kept in _source only)
    policies: Mapping[str, Policy]
    catalog: Catalog
    # index patterns a site allows although they reach every index or system (dot) indices;
    # none by default (the site configuration will supply them)
    broad_indices_allowed: frozenset[str] = frozenset()


Locator = Callable[[str], Location]


def _locator(rule: Rule) -> Locator:
    """Exact positions inside the rule file (falls back to the top-level field's position)."""
    try:
        doc = parse_yaml(rule.source.read_text(encoding="utf-8"), str(rule.source))
    except (OSError, UnicodeDecodeError, SessionwatchError):
        return lambda pointer: _with_pointer(rule.locate(pointer), pointer)
    return doc.locate


def _with_pointer(location: Location, pointer: str) -> Location:
    return Location(location.path, location.line, location.column, pointer)


def _ptr(*parts: object) -> str:
    return "".join(f"/{escape_pointer_token(str(p))}" for p in parts)


def lint_rule(rule: Rule, ctx: LintContext) -> list[Finding]:
    """Every finding for one rule."""
    at = _locator(rule)
    findings: list[Finding] = []

    def add(pointer: str, code: str, level: Level, message: str) -> None:
        findings.append(Finding(at(pointer), code, level, message))

    _fields(rule, ctx, add)
    _policy(rule, ctx, add)
    _ids(rule, ctx, add)
    _cases(rule, add)
    _params(rule, add)
    _scope(rule, ctx, add)
    return findings


def reaches_system_indices(pattern: str) -> bool:
    """Whether an index pattern can name every index or a system (dot) index: ``*``, ``*foo``,
    ``.security*`` (each comma-separated part is checked)."""
    return any(part.strip().startswith(("*", ".")) for part in pattern.split(","))


def _scope(rule: Rule, ctx: LintContext, add: Add) -> None:
    index = rule.scope.index
    if reaches_system_indices(index) and index not in ctx.broad_indices_allowed:
        add(
            "/scope/index",
            "SW110",
            Level.ERROR,
            f"scope.index {index!r} reaches every index or system indices: the runner's role would "
            "read them all; name the event indices (or allow the pattern in the site configuration)",
        )


Add = Callable[[str, str, Level, str], None]


def _fields(rule: Rule, ctx: LintContext, add: Add) -> None:
    for group in ("filters", "exclude"):
        for i, item in enumerate(getattr(rule.scope, group)):
            pointer = _ptr("scope", group, i, "field")
            if item.field in ctx.indexed_fields:
                continue
            if item.field in ctx.profile_fields:
                add(
                    pointer,
                    "SW102",
                    Level.WARNING,
                    f"field {item.field!r} is read by an input profile but not indexed in enriched "
                    "events (the mapping is not dynamic): this filter matches nothing",
                )
            else:
                add(
                    pointer,
                    "SW101",
                    Level.ERROR,
                    f"unknown field {item.field!r}: not a sessionwatch fact, an ECS field of the "
                    "events mapping, or a profile field",
                )


def _policy(rule: Rule, ctx: LintContext, add: Add) -> None:
    if rule.policy is None:
        return
    policy = ctx.policies.get(rule.policy)
    if policy is None:
        known = ", ".join(sorted(ctx.policies))
        add("/policy", "SW201", Level.ERROR, f"unknown policy {rule.policy!r}; known: {known}")
        return
    governed = [name for name in rule.params if name in policy.thresholds]
    if not governed:
        add(
            "/policy",
            "SW203",
            Level.WARNING,
            f"policy {policy.name!r} sets none of this rule's parameters ({', '.join(rule.params)})",
        )
    for name in governed:
        value, expected = rule.params[name], policy.thresholds[name]
        if _number(value) != threshold_value(expected):
            add(
                _ptr("params", name),
                "SW202",
                Level.ERROR,
                f"{name} is {value!r} but policy {policy.name!r} sets {expected!r} ({policy.locate(name)})",
            )


def _number(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return threshold_value(str(value))
    except ValueError:
        return None


def _ids(rule: Rule, ctx: LintContext, add: Add) -> None:
    for i, technique in enumerate(rule.attack):
        if ctx.catalog.technique_name(technique) is None:
            add(_ptr("attack", i), "SW301", Level.ERROR, f"unknown ATT&CK technique {technique!r}")
    for framework, controls in rule.compliance.items():
        if framework not in ctx.catalog.frameworks:
            add(_ptr("compliance", framework), "SW302", Level.ERROR, f"no catalogue for {framework!r}")
            continue
        for i, control in enumerate(controls):
            if ctx.catalog.control_title(framework, control) is None:
                add(
                    _ptr("compliance", framework, i),
                    "SW303",
                    Level.ERROR,
                    f"unknown {framework} control {control!r}",
                )


def _cases(rule: Rule, add: Add) -> None:
    positive = [c for c in rule.tests if c.expect]
    negative = [c for c in rule.tests if not c.expect]
    for label, cases, code in (("alert", positive, "SW401"), ("stay quiet", negative, "SW402")):
        if not cases:
            add("/tests", code, Level.ERROR, f"no test case that must {label}")
        elif len(cases) < 2:
            add("/tests", "SW403", Level.WARNING, f"only one test case that must {label} (two are expected)")
    spec = rule.spec
    for i, case in enumerate(rule.tests):
        for j, item in enumerate(case.expect):
            pointer = _ptr("tests", i, "expect", j)
            if not spec.names_session and item.user is None:
                add(pointer, "SW404", Level.ERROR, f"{rule.kind.value} alerts name an account: expect a user")
            if not spec.names_session and item.session is not None:
                add(pointer, "SW404", Level.ERROR, f"{rule.kind.value} alerts carry no session")
            if not spec.per_account and item.session is None:
                if not spec.session_optional:
                    add(pointer, "SW405", Level.ERROR, f"{rule.kind.value} alerts name a session: expect one")
                elif item.user is None:
                    add(pointer, "SW405", Level.ERROR, f"{rule.kind.value} alerts name a session or a user")


def _params(rule: Rule, add: Add) -> None:
    """The checks the rule's kind declares (``KindSpec.lint``)."""
    for issue in rule.spec.lint(rule):
        add(issue.pointer, issue.code, Level.ERROR, issue.message)


def lint_policies(policies: Iterable[Policy]) -> list[Finding]:
    """A policy's idle timeout must be shorter than its lifetime."""
    findings: list[Finding] = []
    for policy in policies:
        idle, life = policy.thresholds.get(IDLE), policy.thresholds.get(LIFETIME)
        if idle is not None and life is not None and threshold_value(idle) >= threshold_value(life):
            findings.append(
                Finding(policy.locate(IDLE), "SW501", Level.ERROR, f"{IDLE} must be shorter than {LIFETIME}")
            )
    return findings


def lint_across(rules: Iterable[Rule]) -> list[Finding]:
    """Rules under one policy: each idle timeout shorter than each lifetime of the same policy."""
    by_policy: dict[str, list[Rule]] = {}
    for rule in rules:
        if rule.policy is not None:
            by_policy.setdefault(rule.policy, []).append(rule)
    findings: list[Finding] = []
    for name, group in sorted(by_policy.items()):
        lifetimes = [(r, r.duration(LIFETIME)) for r in group if LIFETIME in r.params]
        for rule in (r for r in group if IDLE in r.params):
            for other, seconds in lifetimes:
                if rule.duration(IDLE) >= seconds:
                    findings.append(
                        Finding(
                            _locator(rule)(_ptr("params", IDLE)),
                            "SW504",
                            Level.ERROR,
                            f"{IDLE} is not shorter than {LIFETIME} of {other.name} under policy {name!r}",
                        )
                    )
    return findings


def lint_rules(rules: list[Rule], ctx: LintContext) -> list[Finding]:
    """Every finding for ``rules`` and the policies they use, sorted by location."""
    used = {r.policy for r in rules if r.policy is not None}
    findings = [f for rule in rules for f in lint_rule(rule, ctx)]
    findings += lint_policies(p for name, p in ctx.policies.items() if name in used)
    findings += lint_across(rules)
    return sorted(findings)


def rule_files(rules: Iterable[Rule]) -> list[Path]:
    return sorted({r.source for r in rules})
