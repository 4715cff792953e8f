"""Where each key of a TOML document is written, so configuration errors can name a line.

``tomllib`` gives values without positions. This scan reads the same text line by line and records,
for every table header and every ``key = value`` line, the JSON pointer it defines and its 1-based
line and column. It only has to be right for documents ``tomllib`` already accepted.
"""

from __future__ import annotations

import re

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_BASIC = re.compile(r'"((?:[^"\\]|\\.)*)"')
_LITERAL = re.compile(r"'([^']*)'")


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _read_key(text: str, start: int) -> tuple[list[str], int] | None:
    """A dotted key starting at ``start``: its parts and the index after it (None: not a key)."""
    parts: list[str] = []
    pos = start
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        for pattern in (_BARE, _BASIC, _LITERAL):
            match = pattern.match(text, pos)
            if match:
                raw = match.group(1) if match.groups() else match.group(0)
                parts.append(raw.encode().decode("unicode_escape") if pattern is _BASIC else raw)
                pos = match.end()
                break
        else:
            return None
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos < len(text) and text[pos] == ".":
            pos += 1
            continue
        return parts, pos


def _depth_change(value: str, in_string: str | None) -> tuple[int, str | None]:
    """Net count of open brackets in ``value`` outside strings, and the multi-line string left open."""
    depth = 0
    i = 0
    while i < len(value):
        if in_string is not None:
            if value.startswith(in_string, i):
                i += len(in_string)
                in_string = None
                continue
            if in_string == '"""' and value[i] == "\\":
                i += 2
                continue
            i += 1
            continue
        char = value[i]
        if char == "#":
            break
        for quote in ('"""', "'''"):
            if value.startswith(quote, i):
                in_string = quote
                i += 3
                break
        else:
            if char in "\"'":
                end = _BASIC.match(value, i) if char == '"' else _LITERAL.match(value, i)
                i = end.end() if end else len(value)
                continue
            depth += char in "[{"
            depth -= char in "]}"
            i += 1
    return depth, in_string


def _item_offsets(text: str, pos: int) -> list[int]:
    """Offsets of the scalar items of an array that opens at ``text[pos]`` (on this line)."""
    offsets: list[int] = []
    if pos >= len(text) or text[pos] != "[":
        return offsets
    pos += 1
    while True:
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text) or text[pos] in "]#[{":
            return offsets
        offsets.append(pos)
        string = _BASIC.match(text, pos) or _LITERAL.match(text, pos)
        if string:
            pos = string.end()
        else:
            while pos < len(text) and text[pos] not in ",]#":
                pos += 1
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        if pos >= len(text) or text[pos] != ",":
            return offsets
        pos += 1


def key_positions(text: str) -> dict[str, tuple[int, int]]:
    """JSON pointer → (line, column) of the key or table header that defines it."""
    positions: dict[str, tuple[int, int]] = {}
    table: list[str] = []
    depth = 0
    open_string: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if depth > 0 or open_string is not None:
            change, open_string = _depth_change(line, open_string)
            depth = max(depth + change, 0)
            continue
        stripped = line.lstrip()
        column = len(line) - len(stripped) + 1
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("["):
            array = stripped.startswith("[[")
            found = _read_key(stripped, 2 if array else 1)
            if found is None:
                continue
            table = found[0]
            for i in range(1, len(table) + 1):
                positions.setdefault("".join(f"/{_escape(p)}" for p in table[:i]), (number, column))
            continue
        found = _read_key(stripped, 0)
        if found is None:
            continue
        parts, after = found
        if not stripped[after:].startswith("="):
            continue
        full = table + parts
        for i in range(len(table) + 1, len(full) + 1):
            positions.setdefault("".join(f"/{_escape(p)}" for p in full[:i]), (number, column))
        value = after + 1 + len(stripped[after + 1 :]) - len(stripped[after + 1 :].lstrip())
        pointer = "".join(f"/{_escape(p)}" for p in full)
        for index, offset in enumerate(_item_offsets(stripped, value)):
            positions.setdefault(f"{pointer}/{index}", (number, column + offset))
        change, open_string = _depth_change(stripped[after + 1 :], None)
        depth = max(change, 0)
    return positions
