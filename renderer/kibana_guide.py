"""What a Kibana detection rule carries besides its search: the investigation guide (``note``),
the ``setup`` guide, ``required_fields``, ``related_integrations`` and ``investigation_fields``.

Everything is derived from the rule, the facts vocabulary and the rule's own fixtures (the
vendor integrations whose events its cases replay); nothing here reads a cluster.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from sessionwatch.enrichers import FACTS
from sessionwatch.enrichers.facts import ECS_FIELDS
from sessionwatch.enrichers.profiles import ProfileRegistry
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.rules.alert_shapes import EVIDENCE_FACTS, SHAPES, Shape
from sessionwatch.rules.errors import SessionwatchError
from sessionwatch.rules.kinds import Kind
from sessionwatch.rules.model import Rule

FIELD_TYPES: Mapping[str, str] = {**dict(ECS_FIELDS), **{f.name: f.type for f in FACTS}}
FACT_SOURCES: Mapping[str, str] = {f.name: f.source for f in FACTS}
# Enrichers that need a value only the site can give (passed to `sessionwatch enrich`).
SITE_INPUTS: Mapping[str, str] = {
    "account_status": "an account inventory: `sessionwatch enrich --inventory FILE` "
    "(or `--inventory-index INDEX`); without it the account facts stay empty",
    "geoip": "MaxMind databases: `sessionwatch enrich --geoip-city FILE --geoip-asn FILE`",
}
RESPONSE: Mapping[Shape, tuple[str, ...]] = {
    Shape.EVENTS: (
        "Confirm with the source system that the request was accepted (not a log artefact).",
        "Ask the account owner whether they made the request; if not, terminate the session "
        "and reset the account's credentials.",
        "Check the application's session timeout settings: an accepted request here means the "
        "control is not enforced.",
    ),
    Shape.SESSIONS: (
        "List the session's requests around the alert time (filter on `sessionwatch.session.id`).",
        "If the session is not the owner's, terminate it at the identity provider and revoke its tokens.",
        "Fix the session or token settings that let the session live on.",
    ),
    Shape.TOKENS: (
        "Look up the token (`sessionwatch.token.id`) and the client that requested it.",
        "Revoke the token if its lifetime breaks the policy, and correct the client's token settings.",
    ),
    Shape.ACTORS: (
        "List the account's sessions (filter on `sessionwatch.actor.name`) and their source addresses.",
        "Ask the account owner whether every session is theirs; terminate the ones that are not "
        "and reset the account's credentials.",
    ),
}


def _fields_in(node: Any) -> Iterator[str]:
    """Field names a Query DSL clause reads (term, terms, range, exists, match, …)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in {"term", "terms", "range", "match", "prefix", "wildcard"} and isinstance(value, dict):
                yield from (name for name in value if name != "boost")
            elif key == "exists" and isinstance(value, dict) and "field" in value:
                yield str(value["field"])
            yield from _fields_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from _fields_in(value)


def required_fields(
    query: Mapping[str, Any], extra: tuple[str, ...] = (), scope_fields: tuple[str, ...] = ()
) -> list[dict[str, str]]:
    """Kibana's ``required_fields`` (``RequiredFieldInput``: name and type) for what ``query``
    and the threshold fields read, typed from the events mapping. ``@timestamp`` first, then the
    fields the kind reads, then those only the rule's own scope names, in the rule's order: a field
    name written in a rule never moves the others."""
    read = {*_fields_in(query), *extra} - {"@timestamp"}
    own = sorted(read - set(scope_fields))
    names = ["@timestamp", *own, *(f for f in dict.fromkeys(scope_fields) if f in read and f not in own)]
    return [{"name": name, "type": FIELD_TYPES.get(name, "keyword")} for name in names]


def _datasets(path: Path) -> tuple[str, ...]:
    """The datasets the events of a fixture file name, read once per state of the file."""
    stat = path.stat()
    return _read_datasets(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1024)
def _read_datasets(path: Path, mtime_ns: int, size: int) -> tuple[str, ...]:
    return tuple(_each_dataset(path))


def _each_dataset(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict):
                continue
            for outer in ("data_stream", "event"):
                value = event.get(f"{outer}.dataset")
                inner = event.get(outer)
                if value is None and isinstance(inner, dict):
                    value = inner.get("dataset")
                if isinstance(value, str):
                    yield value
                    break


def related_integrations(rule: Rule, profiles: ProfileRegistry) -> list[dict[str, str]]:
    """The Elastic integrations (Fleet package and data stream) whose events the rule's fixture
    cases replay, through the profile that claims each dataset. Any package version (``*``):
    the profiles read fields every current version writes."""
    found: set[tuple[str, str]] = set()
    for case in rule.tests:
        try:
            path = fixture_path(rule, case)
        except SessionwatchError:
            continue
        for dataset in _datasets(path):
            profile = profiles.for_dataset(dataset)
            # only datasets a vendor profile names exactly (not the generic catch-all patterns)
            if profile is None or dataset not in profile.datasets or "." not in dataset:
                continue
            package, _, integration = dataset.partition(".")
            found.add((package, integration))
    return [{"package": p, "version": "*", "integration": i} for p, i in sorted(found)]


def enrichers_for(fields: list[dict[str, str]]) -> list[str]:
    sources = {FACT_SOURCES.get(f["name"], "profile") for f in fields}
    return sorted(sources - {"profile"})


def _policy_value(value: Any) -> str:
    """A parameter as written in the rule (a list as its items), never Python's repr."""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def setup_guide(rule: Rule, fields: list[dict[str, str]]) -> str:
    """Kibana's ``setup``: the enrichment the rule's facts need, site inputs and parameters."""
    enrichers = enrichers_for(fields)
    lines = [
        "## Setup",
        "",
        f"This rule reads facts that `sessionwatch enrich` computes per session: index the enriched "
        f"events into `{rule.scope.index}` (`sessionwatch enrich --follow` keeps them current).",
    ]
    if enrichers:
        lines.append(f"Enrichers whose facts it reads: {', '.join(f'`{e}`' for e in enrichers)}.")
    site = [SITE_INPUTS[e] for e in enrichers if e in SITE_INPUTS]
    if site:
        lines += ["", "Site values the enrichment needs:", *(f"- {item}" for item in site)]
    if rule.params:
        shown = ", ".join(f"`{k}` = `{_policy_value(v)}`" for k, v in sorted(rule.params.items()))
        lines += [
            "",
            f"Policy values (set in the sessionwatch rule `{rule.name}`; re-render after a change): {shown}.",
        ]
    return "\n".join(lines)


def evidence_fields(rule: Rule) -> list[str]:
    return list(EVIDENCE_FACTS.get(rule.kind, ()))


def investigation_guide(rule: Rule) -> str:
    """Kibana's ``note`` (Markdown): the description, the evidence fields, response steps."""
    shape = SHAPES[Kind(rule.kind)]
    lines = [f"## Triage and analysis: {rule.title}", "", rule.description, ""]  # verbatim
    evidence = evidence_fields(rule)
    if evidence:
        lines += ["### Evidence", "", *(f"- `{name}`" for name in evidence), ""]
    lines += ["### Response", "", *(f"{i}. {step}" for i, step in enumerate(RESPONSE[shape], 1))]
    return "\n".join(lines)
