"""What a deployment should put into the cluster, for a set of rules and a mode."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sessionwatch.deploy.model import OWNER_KEY, Kind, Resource
from sessionwatch.deploy.roles import roles
from sessionwatch.indices import ALERTS_INDEX, index_templates
from sessionwatch.renderer import Window, render_query
from sessionwatch.renderer.watcher import WatchOptions, render_watch, validate_watch, watch_id
from sessionwatch.rules.durations import format_duration
from sessionwatch.rules.errors import RenderError
from sessionwatch.rules.model import Rule

MODES = ("runner", "watcher")


@dataclass
class Desired:
    resources: list[Resource] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


ENV_OWNER = "SESSIONWATCH_PACK_OWNER"


def pack_root(rule: Rule) -> Path:
    """The rule pack a rule belongs to: the nearest folder above it with a ``fixtures/`` folder."""
    for folder in rule.source.resolve().parents:
        if (folder / "fixtures").is_dir():
            return folder
    return rule.source.resolve().parent


def pack_owner(rules: Sequence[Rule]) -> str:
    """Who owns what this deployment puts in: ``$SESSIONWATCH_PACK_OWNER``, else the name of the
    rule pack's folder (``a+b`` for rules from two packs). ``deploy --prune`` removes only
    entries recorded with the same owner."""
    configured = os.environ.get(ENV_OWNER, "").strip()
    if configured:
        return configured
    return "+".join(sorted({pack_root(rule).name for rule in rules})) or "sessionwatch"


def runner_entry(rule: Rule, owner: str = "") -> dict[str, Any]:
    """The runner's record of one deployed rule: identity, owner, schedule and the query it runs."""
    return {
        "owner": owner or pack_owner([rule]),
        "id": str(rule.id),
        "name": rule.name,
        "version": rule.version,
        "kind": rule.kind.value,
        "severity": rule.severity.value,
        "index": rule.scope.index,
        "schedule": {
            "interval": format_duration(rule.schedule.interval_seconds),
            "lookback": format_duration(rule.schedule.lookback_seconds),
        },
        "query": render_query(rule, Window.trailing(rule)),
    }


def desired(
    rules: Sequence[Rule], mode: str, *, terminate: str | None = None, with_roles: bool = True
) -> Desired:
    """Index templates, roles (when the cluster has security), and watches or runner entries."""
    out = Desired()
    owner = pack_owner(rules)
    out.resources += [Resource(Kind.INDEX_TEMPLATE, n, b) for n, b in sorted(index_templates().items())]
    if with_roles:
        out.resources += [Resource(Kind.ROLE, n, b) for n, b in sorted(roles(rules, mode).items())]
    for rule in rules:
        if mode == "runner":
            out.resources.append(Resource(Kind.RUNNER_RULE, rule.name, runner_entry(rule, owner)))
            continue
        try:
            watch = render_watch(rule, WatchOptions(alerts_index=ALERTS_INDEX, terminate=terminate))
        except RenderError as exc:
            out.notes.append(
                f"! {rule.name}: not deployable as a watch ({exc.message}); deploy it with --mode runner"
            )
            continue
        problems = validate_watch(watch)
        if problems:
            raise RenderError(f"watch for {rule.name} breaks the watch schema: {problems[0]}", rule.location)
        watch["metadata"] = {**watch.get("metadata", {}), OWNER_KEY: owner}
        out.resources.append(Resource(Kind.WATCH, watch_id(rule), watch))
    return out
