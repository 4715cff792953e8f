"""Enrichers are found through the ``sessionwatch.enrichers`` entry point (built-ins too)."""

from __future__ import annotations

from importlib import metadata

from sessionwatch.enrichers.base import Enricher
from sessionwatch.rules.errors import Location, PluginError

ENTRY_POINT_GROUP = "sessionwatch.enrichers"


def discover_enrichers() -> list[Enricher]:
    """One instance of every registered enricher, in name order; duplicate names are an error."""
    found: dict[str, Enricher] = {}
    entries = sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name)
    for entry in entries:
        name, value = entry.name, entry.value
        where = Location(f"entry point {ENTRY_POINT_GROUP}:{name}")
        try:
            enricher = entry.load()()
        except Exception as exc:  # third-party code: report which plugin failed
            raise PluginError(f"cannot load enricher {value}: {exc}", where) from None
        if not isinstance(enricher, Enricher):
            raise PluginError(f"{value} does not implement the Enricher protocol", where)
        if enricher.name in found:
            raise PluginError(f"duplicate enricher name {enricher.name!r}", where)
        found[enricher.name] = enricher
    return list(found.values())
