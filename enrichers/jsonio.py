"""The engine's JSON: orjson on the hot path, with exactly the standard library's results.

Where the two differ, the standard library decides: orjson refuses lone surrogates, ``NaN`` and
``1e400`` when parsing, and surrogates or integers beyond 64 bits when writing; it writes a float
below 1e-4 as ``0.00001`` / ``1.5e-7`` where ``json`` writes ``1e-05`` / ``1.5e-07``, and NaN
as ``null``. Each of those cases is handed to ``json``. orjson parses an integer beyond 64 bits
as a float: the engine re-parses with ``json`` whenever a value it reads is refused
(``loads_exact``) and when it writes the whole input document.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson

_SMALL_FLOAT = re.compile(rb"\de-|0\.0000|null")


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``, faster."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # accepts what orjson refuses, or raises json's own error


def loads_exact(text: str) -> Any:
    """The standard library's parse (integers beyond 64 bits stay integers)."""
    return json.loads(text)


def dumps_compact(doc: Mapping[str, Any]) -> str:
    """``json.dumps(doc, ensure_ascii=False, separators=(",", ":"))``, faster."""
    try:
        out = orjson.dumps(doc)
    except TypeError:  # lone surrogate, integer beyond 64 bits, non-string key
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    if (b"e-" in out or b"0.0000" in out or b"null" in out) and _SMALL_FLOAT.search(out):
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return out.decode("utf-8")


_BIG_INT = re.compile(r"\d{20}|-\d{19}")


def has_big_int(text: str) -> bool:
    """Whether ``text`` may hold an integer that orjson would read as a float (rare: checked
    only on the paths where it matters)."""
    return _BIG_INT.search(text) is not None
