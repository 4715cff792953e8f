"""What identifies the content of a rule: its normalised form and the hash of it.

Formatting, comments, key order and spelling of durations (``15m`` or ``900s``) do not change the
hash; anything that changes what is enforced, or how its alerts read, does. Test cases, the file
path and source positions are not part of it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sessionwatch.rules.kinds import Duration
from sessionwatch.rules.model import Rule, ScopeFilter


def _filter(item: ScopeFilter) -> dict[str, Any]:
    return {"field": item.field, "any_of": list(item.any_of), "exists": item.exists}


def normalised(rule: Rule) -> dict[str, Any]:
    """The rule as plain JSON values, independent of how its file is written."""
    params = {
        name: getattr(rule.params, name).seconds
        if isinstance(getattr(rule.params, name), Duration)
        else value
        for name, value in rule.params.items()
    }
    return {
        "id": str(rule.id),
        "name": rule.name,
        "title": rule.title,
        "kind": rule.kind.value,
        "description": rule.description,
        "severity": rule.severity.value,
        "status": rule.status.value,
        "version": rule.version,
        "policy": rule.policy,
        "params": params,
        "scope": {
            "index": rule.scope.index,
            "filters": [_filter(f) for f in rule.scope.filters],
            "exclude": [_filter(f) for f in rule.scope.exclude],
        },
        "schedule": {
            "interval_seconds": rule.schedule.interval_seconds,
            "lookback_seconds": rule.schedule.lookback_seconds,
        },
        "compliance": {k: list(v) for k, v in sorted(rule.compliance.items())},
        "attack": list(rule.attack),
        "references": list(rule.references),
    }


def rule_hash(rule: Rule) -> str:
    """``sha256:<hex>`` of the normalised rule: which exact rule was enforced."""
    text = json.dumps(normalised(rule), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
