"""The facts a set of rules needs, for ``enrich --facts enabled``: what each rule's kind reads
in its query and copies into its alerts as evidence (declared once per kind)."""

from __future__ import annotations

from collections.abc import Iterable

from sessionwatch.rules.model import Rule


def facts_read_by(rules: Iterable[Rule]) -> frozenset[str]:
    """Every ``sessionwatch.*`` fact that the kinds of ``rules`` read or copy as evidence."""
    needed: set[str] = set()
    for rule in rules:
        spec = rule.kind.spec
        needed |= spec.reads
        needed.update(spec.evidence)
    return frozenset(needed)
