"""Enrichers are found through the ``sessionwatch.enrichers`` entry point (built-ins too)."""

from __future__ import annotations

from sessionwatch.enrichers.base import Enricher
from sessionwatch.rules import plugins
from sessionwatch.rules.errors import PluginError

ENTRY_POINT_GROUP = "sessionwatch.enrichers"


def discover_enrichers() -> list[Enricher]:
    """One instance of every registered enricher, in name order; duplicate names are an error."""
    found: dict[str, Enricher] = {}
    for entry in plugins.entry_points(ENTRY_POINT_GROUP):
        factory = plugins.load(entry, "enricher")
        try:
            enricher = factory()
        except Exception as exc:  # third-party code: report which plugin failed
            raise PluginError(f"enricher {entry.value} failed: {exc}", plugins.where(entry)) from None
        if not isinstance(enricher, Enricher):
            raise PluginError(f"{entry.value} does not implement the Enricher protocol", plugins.where(entry))
        if enricher.name in found:
            raise PluginError(f"duplicate enricher name {enricher.name!r}", plugins.where(entry))
        found[enricher.name] = enricher
    return list(found.values())
