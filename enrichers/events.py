"""Reading and writing dotted field paths in events (nested objects or flat dotted keys)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

_MISSING = object()
Getter = Callable[..., Any]  # (doc, dotted=True) -> value or None


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


def has_dotted_keys(doc: Mapping[str, Any]) -> bool:
    """Whether any object in ``doc`` has a key with a dot (then paths need the slow reader)."""
    stack: list[Mapping[str, Any]] = [doc]
    while stack:
        node = stack.pop()
        for key, value in node.items():
            if "." in key:
                return True
            if type(value) is dict:
                stack.append(value)
    return False


def compile_path(path: str) -> Getter:
    """A fast reader for one path. Called as ``read(doc)`` it handles nested and dotted keys;
    ``read(doc, False)`` (the caller knows ``doc`` has no dotted key) only walks nested dicts."""
    parts = tuple(path.split("."))
    split = list(parts)
    if len(parts) <= 2:  # most paths: the same steps, unrolled
        return _read_short(parts, split)

    def read(doc: Mapping[str, Any], dotted: bool = True) -> Any:
        node: Any = doc
        for part in parts:
            if type(node) is dict:
                node = node.get(part, _MISSING)
                if node is _MISSING:
                    break
            else:
                node = _MISSING
                break
        else:
            return node
        if dotted:
            value = _get(doc, split)
            return None if value is _MISSING else value
        return None

    return read


def _read_short(parts: tuple[str, ...], split: list[str]) -> Getter:
    """``compile_path``'s reader for a path of one or two parts."""
    first, second = parts if len(parts) == 2 else (parts[0], None)

    def read(doc: Mapping[str, Any], dotted: bool = True) -> Any:
        if type(doc) is dict:
            node = doc.get(first, _MISSING)
            if second is None:
                if node is not _MISSING:
                    return node
            elif type(node) is dict:
                node = node.get(second, _MISSING)
                if node is not _MISSING:
                    return node
        if dotted:
            value = _get(doc, split)
            return None if value is _MISSING else value
        return None

    return read


def empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


_SPLITS: dict[str, tuple[str, str] | None] = {}


def _split3(path: str) -> tuple[str, str] | None:
    """``("b", "c")`` for ``"sessionwatch.b.c"``, None for any other shape."""
    parts = path.split(".")
    found = (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "sessionwatch" else None
    if len(_SPLITS) < 4096:
        _SPLITS[path] = found
    return found


def nest_facts(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The ``sessionwatch`` object for flat fact names (None values dropped). Every built-in fact
    is ``sessionwatch.<group>.<leaf>``; other shapes go through ``nest``."""
    out: dict[str, Any] = {}
    splits = _SPLITS
    others: dict[str, Any] = {}
    for path, value in flat.items():
        if value is None:
            continue
        try:
            found = splits[path]
        except KeyError:
            found = _split3(path)
        if found is None:
            others[path] = value
            continue
        group = out.get(found[0])
        if group is None:
            out[found[0]] = {found[1]: value}
        else:
            group[found[1]] = value
    if others:
        extra = nest(others).get("sessionwatch", {})
        for key, value in extra.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key].update(value)
            else:
                out[key] = value
    return out


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Turn ``{"a.b": 1, "a.c": 2}`` into ``{"a": {"b": 1, "c": 2}}`` (None values dropped)."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        if value is None:
            continue
        *parents, leaf = path.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out
