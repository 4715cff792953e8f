"""Every check sessionwatch reports, described once: the lint codes (``SW…``), the error classes
(``syntax``, ``schema``, …) and failed fixture cases.

SARIF turns each into a reporting descriptor (short and full description, Markdown help, a link
into the docs); docs/checks.md is generated from this table (``checks_markdown``) and a test keeps
them equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sessionwatch.project import DOCS_URL

CHECKS_DOC = "docs/checks.md"


@dataclass(frozen=True)
class Check:
    id: str  # the lint code, or the error class / "case"
    name: str  # PascalCase, as SARIF's ``name`` suggests
    level: str  # default level: error, warning or note
    short: str  # one sentence
    full: str  # what it means and why it matters
    fix: str  # Markdown: how to make it go away

    @property
    def anchor(self) -> str:
        return self.id.lower()

    @property
    def help_uri(self) -> str:
        return f"{DOCS_URL}/checks.md#{self.anchor}"

    def help_markdown(self) -> str:
        return (
            f"**{self.short}**\n\n{self.full}\n\n**How to fix:** {self.fix}\n\n"
            f"[Documentation]({self.help_uri})"
        )


def _checks(*items: Check) -> Mapping[str, Check]:
    return {c.id: c for c in items}


CHECKS: Mapping[str, Check] = _checks(
    # --- lint codes (rules/lint.py and validate's build checks) ---
    Check(
        "SW101",
        "UnknownScopeField",
        "error",
        "A scope filter names a field the events do not have.",
        "The field is not a sessionwatch fact, an ECS field of the events mapping or a field an input "
        "profile reads, so the filter can never match and the rule silently checks nothing.",
        "Use a field listed in `docs/facts.md`, or an ECS field of the events mapping (check the spelling).",
    ),
    Check(
        "SW102",
        "FieldNotIndexed",
        "warning",
        "A scope filter names a vendor field that is not indexed.",
        "Input profiles read this field, but enriched events keep it in `_source` only (the mapping is "
        "not dynamic): a filter on it matches nothing.",
        "Filter on the canonical `sessionwatch.*` fact the profile maps the field to.",
    ),
    Check(
        "SW110",
        "BroadIndexScope",
        "error",
        "The rule's scope reaches every index or system indices.",
        "`scope.index` is what the runner's role may read: a pattern such as `*` or one that reaches "
        "dot (system) indices would give the runner read access to all of them.",
        "Name the event indices (e.g. `sessionwatch-events-*`), or, if the site really means it, list "
        "the pattern in the site configuration's `[site] allowed_index_patterns`.",
    ),
    Check(
        "SW201",
        "UnknownPolicy",
        "error",
        "The rule names a policy profile that does not exist.",
        "`policy` must name a shipped profile or one in a `policies/` directory beside the rules; "
        "otherwise nothing checks the rule's thresholds against the policy.",
        "Use one of the names the message lists, or add the profile under `policies/`.",
    ),
    Check(
        "SW202",
        "PolicyMismatch",
        "error",
        "A parameter disagrees with the threshold its policy sets.",
        "The rule claims to enforce a policy whose threshold differs from the rule's parameter: the "
        "rule on paper and the rule that runs would not be the same.",
        "Set the parameter to the policy's value, or name the policy the value comes from.",
    ),
    Check(
        "SW203",
        "PolicySetsNothing",
        "warning",
        "The policy sets none of the rule's parameters.",
        "The rule names a policy, but that policy has no threshold for any of its parameters, so the "
        "link between them is not checked.",
        "Name the policy whose thresholds the rule applies, or remove `policy`.",
    ),
    Check(
        "SW301",
        "UnknownTechnique",
        "error",
        "An ATT&CK technique id is not in the catalogue.",
        "`attack` lists MITRE ATT&CK technique ids the rule detects; an id that is not in the shipped "
        "catalogue is a typo or a technique the coverage report cannot place.",
        "Use an id such as `T1550.004`; the catalogue is `rules/catalog/attack.json`.",
    ),
    Check(
        "SW302",
        "UnknownFramework",
        "error",
        "A compliance framework has no catalogue.",
        "`compliance` keys name frameworks (`nist-800-53`, `pci-dss-4.0`, …); controls of a framework "
        "without a catalogue cannot be checked or shown in the coverage report.",
        "Use a framework of `rules/catalog/compliance.json`.",
    ),
    Check(
        "SW303",
        "UnknownControl",
        "error",
        "A compliance control is not in its framework's catalogue.",
        "Each control must exist in the framework's catalogue, so auditors can trust the mapping.",
        "Check the control id (e.g. `AC-12`, `8.2.8`) against `rules/catalog/compliance.json`.",
    ),
    Check(
        "SW401",
        "NoPositiveCase",
        "error",
        "No test case expects an alert.",
        "Every rule proves it fires: at least one case replays a fixture that must raise an alert.",
        "Add a case with a fixture that breaks the rule and list the alert under `expect`.",
    ),
    Check(
        "SW402",
        "NoNegativeCase",
        "error",
        "No test case expects silence.",
        "Every rule proves it stays quiet on clean traffic: at least one case must expect no alert.",
        "Add a case whose fixture stays within the limits, with `expect: []`.",
    ),
    Check(
        "SW403",
        "OneCaseEachWay",
        "warning",
        "Only one test case each way.",
        "Two cases that must alert and two that must stay quiet catch far more mistakes than one: "
        "near misses on both sides of the threshold.",
        "Add a second case on each side, ideally just over and just under the limit.",
    ),
    Check(
        "SW404",
        "AccountAlertExpectation",
        "error",
        "An expectation of an account-level alert is wrong.",
        "Alerts about many sessions of one account name the account (`user`) and no session.",
        "Expect `user:` and no `session:` in this rule's cases.",
    ),
    Check(
        "SW405",
        "SessionAlertExpectation",
        "error",
        "An expectation lacks the session it is about.",
        "Alerts of session-scoped kinds name the session; an expectation without one matches too much.",
        "Add `session:` to the expectation.",
    ),
    Check(
        "SW501",
        "IdleNotShorterThanLifetime",
        "error",
        "The idle timeout is not shorter than the lifetime.",
        "A session cannot be idle for longer than it may live: such a pair of limits is a mistake.",
        "Make `idle_timeout` shorter than `max_lifetime`.",
    ),
    Check(
        "SW502",
        "InvalidCidr",
        "error",
        "An address range is not a valid CIDR.",
        "`allowed_cidrs` entries must be network addresses with a prefix length, host bits zero.",
        "Write ranges like `10.0.0.0/8` or `2001:db8::/32`.",
    ),
    Check(
        "SW503",
        "WithinLongerThanLookback",
        "error",
        "`within` is longer than the schedule's lookback.",
        "The search window is the lookback; a rule counting over a longer span cannot see it.",
        "Shorten `within` or lengthen `schedule.lookback`.",
    ),
    Check(
        "SW504",
        "IdleNotShorterThanPolicyLifetime",
        "error",
        "An idle timeout is not shorter than a lifetime under the same policy.",
        "Rules under one policy must agree with each other: an idle timeout at or above another rule's "
        "lifetime means one of them is wrong.",
        "Fix the rule whose value differs from the policy's thresholds.",
    ),
    Check(
        "SW601",
        "RuleDoesNotBuild",
        "error",
        "A fixture is missing or the rule cannot be rendered.",
        "A test case names a fixture file that cannot be found, or the rule cannot be rendered to an "
        "Elasticsearch query.",
        "Check the fixture path (relative to the nearest `fixtures/` above the rule) and the message.",
    ),
    # --- error classes ---
    Check(
        "syntax",
        "YamlSyntax",
        "error",
        "The rule file is not valid YAML, or uses YAML features rules forbid.",
        "Rules are plain YAML: no duplicate keys, anchors, aliases, tags or multiple documents.",
        "Fix the YAML at the position given.",
    ),
    Check(
        "schema",
        "RuleSchema",
        "error",
        "The rule does not match the rule JSON Schema.",
        "A field is missing, unknown, of the wrong type or out of range (e.g. a duration that is not "
        "`15m`, `1h`, `30d`), or a constraint across rules (unique ids and names) is broken.",
        "Read the message and the JSON pointer; `docs/rules.md` lists every field.",
    ),
    Check(
        "render",
        "Render",
        "error",
        "The rule could not be rendered to an Elasticsearch query.",
        "The renderer could not build a query, a watch or a Kibana rule from this rule.",
        "Read the message; it names the parameter or target that failed.",
    ),
    Check(
        "enrich",
        "Enrich",
        "error",
        "A fixture event could not be enriched.",
        "A line of the fixture is not JSON, or lacks the fields its input profile needs.",
        "Fix the fixture line named in the message.",
    ),
    Check(
        "plugin",
        "Plugin",
        "error",
        "An entry point could not be loaded.",
        "A rule pack, enricher or profile registered by an installed package failed to load or "
        "clashes with another of the same name.",
        "Reinstall or remove the package named in the message.",
    ),
    Check(
        "elasticsearch",
        "Elasticsearch",
        "error",
        "Elasticsearch could not be reached.",
        "The cluster did not answer or refused the request.",
        "Check `--es-url` / `SESSIONWATCH_ES_URL` and the credentials.",
    ),
    Check(
        "case",
        "FixtureCase",
        "error",
        "A test case raised other alerts than it expects.",
        "The rule's fixture was replayed into Elasticsearch and the alerts differ from `expect`, or "
        "the case could not be run (e.g. a fixture event rejected by the mapping).",
        "Read the diff: `missing` alerts were expected, `unexpected` ones were not.",
    ),
    Check(
        "error",
        "Error",
        "error",
        "Another problem.",
        "A problem without a more specific check.",
        "Read the message.",
    ),
)


def check(check_id: str) -> Check:
    """The check ``check_id``; a generic one for an id this table does not know."""
    return CHECKS.get(check_id) or Check(
        check_id,
        "".join(p.capitalize() for p in check_id.replace("_", "-").split("-")) or "Error",
        "error",
        f"sessionwatch check {check_id}.",
        f"sessionwatch check {check_id}.",
        "Read the message.",
    )


def checks_markdown() -> str:
    """docs/checks.md: every check with its anchor (the SARIF ``helpUri`` points here)."""
    lines = [
        "# Checks",
        "",
        "Generated from `sessionwatch/reports/checks.py`; do not edit. Every problem `validate` and",
        "`test` report carries one of these ids (`sessionwatch/<id>` in SARIF, `check` in JSON).",
        "",
    ]
    for item in CHECKS.values():
        lines += [
            f"## {item.id}",
            "",
            f"**{item.name}** ({item.level}). {item.short}",
            "",
            item.full,
            "",
            f"How to fix: {item.fix}",
            "",
        ]
    return "\n".join(lines)
