"""``render --target kibana``: Elastic Security detection rules in Kibana's import format.

* one alert per offending event (search hits) → a ``query`` rule, its alerts suppressed per
  session over the rule's lookback (per session and account where an event may have no session:
  those fold per account);
* one alert per session (or token: a composite on the entity) → a ``threshold`` rule grouped
  by that field with value 1: one signal per entity and run; where the grouping keeps events
  lacking a field (``missing_bucket``, e.g. a sign-in logged without a session), which Kibana's
  threshold would drop, a ``query`` rule suppressed by the same fields instead;
* one alert per account over a per-entity threshold → a ``threshold`` rule grouped by the
  account with a ``cardinality`` condition (``max_sessions`` + 1 distinct sessions).

The search is the rule's Query DSL (the ``--target query`` body) as one custom filter, with the
time window taken out: Kibana gives every execution its own window (``from``/``to``, manual runs,
gap fills), so no ``now`` stays in a filter. A kind counted per period (``within``) sets ``from``
to one period and one interval instead. ``tests/integration/test_kibana_live.py`` replays that
search on the fixtures.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import TemplateError

from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.renderer.environment import environment
from sessionwatch.renderer.kibana_guide import (
    evidence_fields,
    investigation_guide,
    related_integrations,
    required_fields,
    setup_guide,
)
from sessionwatch.renderer.render import Window, render_query
from sessionwatch.renderer.watcher import schema_errors
from sessionwatch.rules.alert_shapes import SHAPES, THRESHOLDS, Shape
from sessionwatch.rules.durations import format_duration, parse_duration
from sessionwatch.rules.errors import RenderError
from sessionwatch.rules.kinds import Kind, Status
from sessionwatch.rules.model import Rule

MITRE = "https://attack.mitre.org"
TACTICS: Mapping[str, str] = {
    "TA0001": "Initial Access",
    "TA0003": "Persistence",
    "TA0004": "Privilege Escalation",
    "TA0005": "Defense Evasion",
    "TA0006": "Credential Access",
    "TA0008": "Lateral Movement",
    "TA0009": "Collection",
}
# ATT&CK techniques the pack uses: name and the tactics they belong to (ATT&CK v15).
TECHNIQUES: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "T1078": ("Valid Accounts", ("TA0005", "TA0003", "TA0004", "TA0001")),
    "T1078.001": ("Default Accounts", ("TA0005", "TA0003", "TA0004", "TA0001")),
    "T1078.002": ("Domain Accounts", ("TA0005", "TA0003", "TA0004", "TA0001")),
    "T1078.003": ("Local Accounts", ("TA0005", "TA0003", "TA0004", "TA0001")),
    "T1078.004": ("Cloud Accounts", ("TA0005", "TA0003", "TA0004", "TA0001")),
    "T1185": ("Browser Session Hijacking", ("TA0009",)),
    "T1528": ("Steal Application Access Token", ("TA0006",)),
    "T1539": ("Steal Web Session Cookie", ("TA0006",)),
    "T1550": ("Use Alternate Authentication Material", ("TA0005", "TA0008")),
    "T1550.001": ("Application Access Token", ("TA0005", "TA0008")),
    "T1550.004": ("Web Session Cookie", ("TA0005", "TA0008")),
}
MAX_SIGNALS = 100
SESSION = "sessionwatch.session.id"
ACTOR = "sessionwatch.actor.name"


def _reference(technique: str) -> str:
    return f"{MITRE}/techniques/{technique.replace('.', '/')}/"


def threat(rule: Rule) -> list[dict[str, Any]]:
    """Kibana's ``threat``: one entry per tactic, its techniques with sub-techniques nested."""
    by_tactic: dict[str, dict[str, set[str]]] = {}
    for technique in rule.attack:
        parent = technique.split(".")[0]
        if technique not in TECHNIQUES or parent not in TECHNIQUES:
            raise RenderError(f"no ATT&CK name known for {technique}", rule.locate("/attack"))
        for tactic in TECHNIQUES[technique][1]:
            subs = by_tactic.setdefault(tactic, {}).setdefault(parent, set())
            if technique != parent:
                subs.add(technique)
    entries = []
    for tactic, techniques in sorted(by_tactic.items()):
        listed = []
        for parent, subs in sorted(techniques.items()):
            item: dict[str, Any] = {
                "id": parent,
                "name": TECHNIQUES[parent][0],
                "reference": _reference(parent),
            }
            if subs:
                item["subtechnique"] = [
                    {"id": s, "name": TECHNIQUES[s][0], "reference": _reference(s)} for s in sorted(subs)
                ]
            listed.append(item)
        entries.append(
            {
                "framework": "MITRE ATT&CK",
                "tactic": {"id": tactic, "name": TACTICS[tactic], "reference": f"{MITRE}/tactics/{tactic}/"},
                "technique": listed,
            }
        )
    return entries


def _grouping(rule: Rule, query: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[str] | None]:
    """How Kibana groups the rule's alerts: ``(threshold, None)`` for a threshold rule, ``(None,
    fields)`` for a query rule suppressed by the rule's own group-by fields, ``(None, None)`` for
    a per-event rule. A one-alert-per-group rule whose grouping keeps events lacking a field
    (``missing_bucket``) is the second kind: Kibana's threshold would drop those events."""
    groups = (query.get("aggs") or query.get("aggregations") or {}).get("groups")
    if groups is None:
        return None, None
    # the terms sources group (entity, then e.g. the application); a period source (a
    # date_histogram) has no Kibana counterpart: the rule's ``from`` reaches back one period instead
    terms = [
        source[name]["terms"]
        for source in groups["composite"]["sources"]
        for name in source
        if "terms" in source[name]
    ]
    fields = [source["field"] for source in terms]
    if rule.kind in THRESHOLDS:
        threshold = THRESHOLDS[rule.kind]
        distinct = groups["aggs"][threshold.metric]["cardinality"]["field"]
        limit = threshold.limit(rule.params) + 1
        return {"field": fields, "value": 1, "cardinality": [{"field": distinct, "value": limit}]}, None
    if any(source.get("missing_bucket") for source in terms):
        return None, fields
    return {"field": fields, "value": 1}, None  # one signal per entity (session, token, …) and run


def _is_time_range(clause: Any) -> bool:
    return isinstance(clause, dict) and set(clause) == {"range"} and set(clause["range"]) == {"@timestamp"}


def _now_offset(bound: Any, rule: Rule) -> int:
    text = str(bound)
    if not text.startswith("now-"):
        raise RenderError(f"time range bound {text!r} is not relative to now", rule.location)
    return parse_duration(text.removeprefix("now-"))


def split_window(rule: Rule, query: Mapping[str, Any]) -> tuple[dict[str, Any], int]:
    """The query without its ``@timestamp`` ranges, and how far back Kibana's ``from`` must
    reach (seconds): the narrowest ``gte`` of the removed ranges (the lookback, or ``within``)."""
    clauses = query.get("bool", {}).get("filter", [])
    kept = [c for c in clauses if not _is_time_range(c)]
    offsets = [
        _now_offset(c["range"]["@timestamp"]["gte"], rule)
        for c in clauses
        if _is_time_range(c) and "gte" in c["range"]["@timestamp"]
    ]
    if not offsets:
        raise RenderError("rendered query has no @timestamp window to hand to Kibana", rule.location)
    stripped = {**query, "bool": {**query["bool"], "filter": kept}}
    if '"now' in json.dumps(stripped):
        raise RenderError("a now-relative value is left in the Kibana rule's filter", rule.location)
    return stripped, min(offsets)


def suppression_duration(seconds: int) -> dict[str, Any]:
    """Kibana's ``AlertSuppressionDuration`` (units s, m, h)."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return {"value": seconds // size, "unit": unit}
    return {"value": seconds, "unit": "s"}


def _suppression(rule: Rule, threshold: Mapping[str, Any] | None, groups: list[str] | None) -> dict[str, Any]:
    duration = suppression_duration(rule.schedule.lookback_seconds)
    if threshold is not None:  # threshold rules suppress by their own group-by fields
        return {"duration": duration}
    if groups is not None:  # the rule's own grouping, events lacking a field folded together
        return {"group_by": groups, "duration": duration, "missing_fields_strategy": "suppress"}
    shape = SHAPES[Kind(rule.kind)]
    if shape is Shape.ACTORS:
        return {"group_by": [ACTOR], "duration": duration, "missing_fields_strategy": "doNotSuppress"}
    if rule.spec.session_optional:
        # an event may carry no session (a refresh logged with the client only): group by session
        # and account, a missing session counting as a value, so such alerts fold per account
        return {"group_by": [SESSION, ACTOR], "duration": duration, "missing_fields_strategy": "suppress"}
    return {"group_by": [SESSION], "duration": duration, "missing_fields_strategy": "doNotSuppress"}


def render_kibana_rule(rule: Rule, profiles: ProfileRegistry | None = None) -> dict[str, Any]:
    """The detection rule for ``rule``, checked against schemas/kibana-rule.schema.json."""
    full = render_query(rule, Window.trailing(rule))
    threshold, groups = _grouping(rule, full)
    query, reach = split_window(rule, full["query"])
    period = rule.spec.period_seconds(rule.params)
    if period is not None:
        # a threshold counted per period: each execution looks back one period and one interval,
        # so every period lies whole inside some execution's window (the first one after it ends)
        # and no period detect reports is missed; sessions straddling two periods may still be
        # counted together (docs/deploy.md, "Concurrency in Kibana")
        reach = period + rule.schedule.interval_seconds
    extra = (
        tuple(threshold["field"]) + tuple(c["field"] for c in threshold.get("cardinality", []))
        if threshold
        else tuple(groups or ())
    )
    scope = tuple(item.field for item in (*rule.scope.filters, *rule.scope.exclude))
    fields = required_fields(query, extra, scope)
    context = rule.as_template_context()
    context.update(references=list(rule.references), description=rule.description, status=rule.status.value)
    tags = ["sessionwatch", rule.kind.value, *(f"{k}:{c}" for k, v in rule.compliance.items() for c in v)]
    try:
        text = (
            environment()
            .get_template("kibana/rule.json.j2")
            .render(
                rule=context,
                query=query,
                type="threshold" if threshold else "query",
                threshold=threshold,
                interval=format_duration(rule.schedule.interval_seconds),
                reach=format_duration(reach),
                enabled=rule.status is Status.STABLE,
                max_signals=MAX_SIGNALS,
                threat=threat(rule),
                tags=tags,
                note=investigation_guide(rule),
                setup=setup_guide(rule, fields),
                required_fields=fields,
                related_integrations=related_integrations(rule, profiles or ProfileRegistry.discover()),
                investigation_fields=evidence_fields(rule),
                alert_suppression=_suppression(rule, threshold, groups),
            )
        )
        document: dict[str, Any] = json.loads(text)
    except (TemplateError, json.JSONDecodeError) as exc:
        raise RenderError(f"template kibana/rule.json.j2 failed: {exc}", rule.location) from None
    problems = schema_errors(document, "kibana-rule.schema.json")
    if problems:
        raise RenderError(f"rendered Kibana rule breaks the import format: {problems[0]}", rule.location)
    return document


def to_ndjson(rules: Iterable[Rule]) -> str:
    """The import file: one rule per line (``POST /api/detection_engine/rules/_import``)."""
    profiles = ProfileRegistry.discover()
    return "".join(
        json.dumps(render_kibana_rule(r, profiles), sort_keys=True, ensure_ascii=False) + "\n" for r in rules
    )
