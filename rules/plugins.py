"""Entry points, loaded one way: sorted, deduplicated, and each failure a located ``PluginError``."""

from __future__ import annotations

from importlib import metadata
from typing import Any

from sessionwatch.rules.errors import Location, PluginError


def entry_points(group: str) -> list[metadata.EntryPoint]:
    """The entry points of ``group`` by name and value, each once (a distribution found twice on
    ``sys.path`` lists its entry points twice)."""
    unique = {(e.name, e.value, e.dist.name if e.dist else ""): e for e in metadata.entry_points(group=group)}
    return sorted(unique.values(), key=lambda e: (e.name, e.value))


def where(entry: metadata.EntryPoint) -> Location:
    """``entry point GROUP:NAME``, where a plugin's errors are reported."""
    return Location(f"entry point {entry.group}:{entry.name}")


def load(entry: metadata.EntryPoint, what: str) -> Any:
    """The object ``entry`` names; ``PluginError`` naming the plugin when importing it fails."""
    try:
        return entry.load()
    except Exception as exc:  # third-party code may fail in any way: say which plugin failed
        raise PluginError(
            f"{what} entry point {entry.name!r} ({entry.value}) failed: {exc}", where(entry)
        ) from None
