"""Words for an event the engine repaired: the fields Elasticsearch would refuse as written.

The engine (``enrichers/admission.py``) drops or rewrites such a field and records its path and
original value on the event (``sessionwatch.quality.repaired_fields`` /
``sessionwatch.quality.original_values``); ``detect`` names each repaired line, ``test`` refuses
a fixture that needed one.
"""

from __future__ import annotations

import json
from typing import Any

from sessionwatch.enrichers.admission import ORIGINAL_VALUES, REPAIRED_FIELDS
from sessionwatch.enrichers.events import get_path
from sessionwatch.enrichers.facts import ECS_FIELDS, FACTS

DUPLICATE_KEYS = "(duplicate keys)"  # what the engine records for a key repeated in one object


def repaired_fields(doc: dict[str, Any]) -> list[str]:
    """The paths the engine repaired in ``doc`` (empty when it took the event as written)."""
    found = get_path(doc, REPAIRED_FIELDS)
    return [str(name) for name in found] if isinstance(found, list) else []


def refused_fields(doc: dict[str, Any]) -> str:
    """``field [user.email] of type [keyword] cannot hold {"not": "a keyword"}; …``: each repaired
    field of ``doc`` with the value the input gave it."""
    types: dict[str, str] = {**dict(ECS_FIELDS), **{f.name: f.type for f in FACTS}}
    try:
        originals = json.loads(str(get_path(doc, ORIGINAL_VALUES) or "{}"))
    except ValueError:
        originals = {}
    parts = []
    for name in repaired_fields(doc):
        value = json.dumps(originals.get(name), ensure_ascii=False)
        if name == DUPLICATE_KEYS:
            parts.append("a key appears twice in one object")
        elif name in types:
            parts.append(f"field [{name}] of type [{types[name]}] cannot hold {value}")
        else:
            parts.append(f"field [{name}] is refused by the events mapping ({value})")
    return "; ".join(parts)
