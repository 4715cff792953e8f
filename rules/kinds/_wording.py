"""What a kind's ``describe`` reads from an alert and how it words a finding ("idle 27m > 15m").

An alert is the document the alert builder writes; ``params`` is the rule's parameters as a
mapping (the values as written, so a limit reads as the rule author wrote it: ``15m``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Alert = Mapping[str, Any]
Limits = Mapping[str, Any]


def alert_field(doc: Any, dotted: str) -> Any:
    """``alert_field(alert, "rule.category")``: the nested value, or None where a level is missing."""
    for part in dotted.split("."):
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(part)
    return doc


def fact(alert: Alert, name: str) -> Any:
    """An evidence fact by its name without the ``sessionwatch.`` prefix (``session.idle_seconds``)."""
    facts = alert_field(alert, "sessionwatch.evidence.facts") or {}
    return facts.get(f"sessionwatch.{name}")


def count(alert: Alert, name: str) -> Any:
    """A per-entity count of the evidence (``sessions``, ``addresses``)."""
    return (alert_field(alert, "sessionwatch.evidence.counts") or {}).get(name)


def human_duration(seconds: Any) -> str:
    """``1200`` → ``20m``, ``901`` → ``15m 1s``, ``97200`` → ``1d 3h``: the two largest units."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "?"
    left = int(seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
        if parts and (len(parts) == 2 or not left):
            break
    return " ".join(parts)


def limit_text(params: Limits, name: str) -> str:
    """The rule's value of ``name`` as written, ``?`` when it is unset."""
    value = params.get(name)
    return "?" if value is None else str(value)


def over(actual: str, params: Limits, name: str) -> str:
    """``actual > limit`` when the rule sets the limit ``name``, else ``actual`` alone."""
    return f"{actual} > {limit_text(params, name)}" if name in params else actual


def duration_over(label: str, seconds: Any, params: Limits, name: str) -> str:
    """``idle 27m > 15m``: a measured duration against the duration limit ``name``."""
    return over(f"{label} {human_duration(seconds)}".strip(), params, name)


def listed(values: Any) -> str:
    """A list parameter as ``a, b``."""
    return ", ".join(str(v) for v in values) if isinstance(values, list | tuple) else str(values)
