"""Entry points, loaded one way: sorted, deduplicated, and each failure a located ``PluginError``."""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from importlib import metadata
from typing import Any

from sessionwatch.rules.errors import Location, PluginError


def entry_points(group: str) -> list[metadata.EntryPoint]:
    """The entry points of ``group`` by name and value, each once (a distribution found twice on
    ``sys.path`` lists its entry points twice). Looked up again only when the search path or one
    of its folders changed (a package installed or removed): a scan of every installed
    distribution costs ~10 ms, and a Kibana render or a fixture case asks for the profiles."""
    return list(_entry_points(group, metadata.entry_points, _search_path()))


def _search_path() -> tuple[tuple[str, int], ...]:
    """``sys.path`` with each folder's modification time (0 when it cannot be read)."""
    stamped = []
    for folder in sys.path:
        try:
            stamped.append((folder, os.stat(folder or ".").st_mtime_ns))
        except (OSError, TypeError, ValueError):
            stamped.append((str(folder), 0))
    return tuple(stamped)


@lru_cache(maxsize=64)
def _entry_points(
    group: str, lookup: Any, search_path: tuple[tuple[str, int], ...]
) -> tuple[metadata.EntryPoint, ...]:
    """``entry_points`` for one state of the search path (``lookup``: ``metadata.entry_points``,
    part of the key so that a replaced lookup is asked afresh)."""
    unique = {(e.name, e.value, e.dist.name if e.dist else ""): e for e in lookup(group=group)}
    return tuple(sorted(unique.values(), key=lambda e: (e.name, e.value)))


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
