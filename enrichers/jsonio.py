"""The engine's JSON writer: orjson, with exactly the standard library's results.

Where the two differ, the standard library decides: orjson refuses lone surrogates and integers
beyond 64 bits, writes a float below 1e-4 as ``0.00001`` / ``1.5e-7`` where ``json`` writes
``1e-05`` / ``1.5e-07``, and NaN as ``null`` where the engine's ``json`` options refuse it. Each
of those cases is handed to ``json``. (Parsing stays with ``json``: the engine needs its hooks to
report duplicate keys and refuse NaN, which orjson does not offer.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import orjson

_SMALL_FLOAT = re.compile(rb"\de-|0\.0000|null")


def dumps_compact(doc: Mapping[str, Any]) -> str:
    """``json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)``, faster."""
    try:
        out = orjson.dumps(doc)
    except TypeError:  # lone surrogate, integer beyond 64 bits, non-string key
        return _stdlib(doc)
    # (``find``, not ``in``: ``bytes in bytes`` first tries the needle as an integer and raises)
    suspect = out.find(b"e-") >= 0 or out.find(b"0.0000") >= 0 or out.find(b"null") >= 0
    if suspect and _SMALL_FLOAT.search(out):
        return _stdlib(doc)  # a small float or NaN (which the standard library refuses)
    return out.decode("utf-8")


def _stdlib(doc: Mapping[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
