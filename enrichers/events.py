"""Reading and writing dotted field paths in events (nested objects or flat dotted keys)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_MISSING = object()


def get_path(doc: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` (``"a.b.c"``), whether stored nested, flat, or mixed; else None."""
    value = _get(doc, path.split("."))
    return None if value is _MISSING else value


def _get(node: Any, parts: list[str]) -> Any:
    if not parts:
        return node
    if not isinstance(node, Mapping):
        return _MISSING
    # Try the longest dotted key first: {"event.action": x} as well as {"event": {"action": x}}.
    for cut in range(len(parts), 0, -1):
        key = ".".join(parts[:cut])
        if key in node:
            found = _get(node[key], parts[cut:])
            if found is not _MISSING:
                return found
    return _MISSING


def first_present(doc: Mapping[str, Any], paths: tuple[str, ...]) -> Any:
    """The first non-empty value among ``paths``."""
    for path in paths:
        value = get_path(doc, path)
        if value not in (None, "", [], {}):
            return value
    return None


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"a.b": 1, "a.c": 2}`` into ``{"a": {"b": 1, "c": 2}}`` (None values dropped)."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        if value is None:
            continue
        node = out
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
