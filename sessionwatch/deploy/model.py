"""What deploy manages: resources with a content hash, and the plan that brings a cluster to them."""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MANAGED_BY = "sessionwatch"
HASH_KEY = "sessionwatch_hash"
OWNER_KEY = "sessionwatch_owner"  # in watch metadata; runner entries carry "owner"


class Kind(StrEnum):
    INDEX_TEMPLATE = "index_template"
    ROLE = "role"
    WATCH = "watch"
    RUNNER_RULE = "runner_rule"


PRUNABLE = frozenset({Kind.WATCH, Kind.RUNNER_RULE})  # rules; templates and roles are never removed


def content_hash(body: Any) -> str:
    """SHA-256 of the canonical JSON of ``body`` (placeholders unfilled: no secret is hashed)."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Resource:
    """One thing deploy puts into the cluster; ``body`` may hold ``${NAME}`` placeholders."""

    kind: Kind
    name: str
    body: dict[str, Any]

    @property
    def hash(self) -> str:
        return content_hash(self.body)

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.name}"


@dataclass(frozen=True)
class Deployed:
    """What the cluster holds for a resource: its hash, and the recorded body (for diffs)."""

    kind: Kind
    name: str
    hash: str | None
    recorded: dict[str, Any] | None = None
    owner: str | None = None  # the pack that deployed it (None: recorded before owners existed)


def owner_of(resource: Resource) -> str | None:
    found: Any = None
    if resource.kind is Kind.RUNNER_RULE:
        found = resource.body.get("owner")
    elif resource.kind is Kind.WATCH:
        found = resource.body.get("metadata", {}).get(OWNER_KEY)
    return found if isinstance(found, str) else None


class Action(StrEnum):
    ADD = "+"
    CHANGE = "~"
    REMOVE = "-"
    KEEP = "="
    ORPHAN = "!"  # no longer in the pack, kept because --prune was not given


@dataclass(frozen=True)
class Change:
    action: Action
    kind: Kind
    name: str
    desired: Resource | None = None
    deployed: Deployed | None = None

    def describe(self) -> list[str]:
        head = f"{self.action.value} {self.kind.value} {self.name}"
        if self.action is Action.ORPHAN:
            return [f"{head}  (no longer in the pack; kept: --prune removes it)"]
        if self.action is not Action.CHANGE or self.desired is None:
            return [head]
        before = self.deployed.recorded if self.deployed else None
        if before is None:
            return [f"{head}  (content differs; no earlier record to diff against)"]
        old = json.dumps(before, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
        new = json.dumps(self.desired.body, indent=2, sort_keys=True, ensure_ascii=False).splitlines()
        diff = difflib.unified_diff(old, new, "deployed", "new", n=2, lineterm="")
        return [head, *("    " + line for line in diff)]


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def pending(self) -> list[Change]:
        return [c for c in self.changes if c.action in (Action.ADD, Action.CHANGE, Action.REMOVE)]

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action is action)

    def lines(self) -> list[str]:
        out = [*self.notes]
        for change in sorted(self.changes, key=lambda c: (c.kind.value, c.name)):
            if change.action is not Action.KEEP:
                out += change.describe()
        return out

    def summary(self) -> str:
        if not self.pending():
            return f"no changes: {self.count(Action.KEEP)} resources up to date"
        return (
            f"{self.count(Action.ADD)} to add, {self.count(Action.CHANGE)} to change, "
            f"{self.count(Action.REMOVE)} to remove, {self.count(Action.KEEP)} unchanged"
        )


def plan(desired: list[Resource], deployed: list[Deployed], *, prune: bool) -> Plan:
    """Compare what should be with what is (by kind and name, then by hash)."""
    current = {(d.kind, d.name): d for d in deployed}
    owners = {o for o in map(owner_of, desired) if o is not None}
    result = Plan()
    wanted = set()
    for resource in desired:
        wanted.add((resource.kind, resource.name))
        found = current.get((resource.kind, resource.name))
        if found is None:
            action = Action.ADD
        elif found.hash == resource.hash:
            action = Action.KEEP
        else:
            action = Action.CHANGE
        result.changes.append(Change(action, resource.kind, resource.name, resource, found))
    for (kind, name), found in sorted(current.items()):
        if (kind, name) in wanted or kind not in PRUNABLE:
            continue
        if found.owner not in owners:  # another pack's (or unrecorded): never ours to remove
            result.notes.append(
                f"note: {kind.value} {name} belongs to {found.owner or 'an unknown owner'}: left alone"
            )
            continue
        action = Action.REMOVE if prune else Action.ORPHAN
        result.changes.append(Change(action, kind, name, None, found))
    return result
