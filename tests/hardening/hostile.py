"""Hostile strings and tree comparison shared by the hardening tests.

``hostile_text()`` mixes hand-picked payloads (template syntax, JSON fragments that try to close
a string and open a new clause, quotes, backslashes, control and non-BMP characters) with
arbitrary Unicode text, so a property test sees both the known tricks and what nobody thought of.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Payloads that break naive string splicing into JSON or Jinja.
PAYLOADS: tuple[str, ...] = (
    '"',
    "'",
    "\\",
    '\\"',
    "{{ 7*7 }}",
    "{{ ''.__class__.__mro__ }}",
    "{% raw %}",
    "{% endraw %}",
    "{%- if true %}x{% endif %}",
    "{# comment",
    '"},"query":{"match_all":{}}',
    '"}]}},{"match_all":{}},{"term":{"a":"',
    '", "size": 10000, "x": "',
    "}}]}",
    "\x00",
    "\x1b[31m",
    "\r\n",
    "\u2028\u2029",
    "\ufeff",
    "\U0001f600",
    "\U0010ffff",
    "*",
    "?",
    "now-1d",
    "null",
    "true",
    "1e309",
    "<script>alert(1)</script>",
    "${jndi:ldap://x/a}",
    "../../etc/passwd",
    "a" * 300,
)

# Every code point except lone surrogates (which no UTF-8 file or JSON text can carry).
_CHARS = st.characters(codec="utf-8")


def hostile_text(max_size: int = 60) -> st.SearchStrategy[str]:
    """A string built from payload fragments and arbitrary characters."""
    piece = st.one_of(st.sampled_from(PAYLOADS), st.text(_CHARS, max_size=8))
    return st.lists(piece, min_size=1, max_size=6).map("".join).map(lambda s: s[: max_size * 8]) | st.text(
        _CHARS, min_size=1, max_size=max_size
    )


MARKER = "\u2603sw-marker-7f3a\u2603"


def normalise(node: Any) -> Any:
    """``node`` with strings that hold JSON objects/arrays parsed (targets may embed JSON as text)."""
    if isinstance(node, dict):
        return {key: normalise(value) for key, value in node.items()}
    if isinstance(node, list):
        return [normalise(value) for value in node]
    if isinstance(node, str) and node[:1] in ("{", "["):
        try:
            parsed = json.loads(node)
        except ValueError:
            return node
        if isinstance(parsed, dict | list):
            return {"<json text>": normalise(parsed)}
    return node


def substitute(node: Any, marker: str, value: str) -> Any:
    """``node`` with ``marker`` replaced by ``value`` inside every key and string."""
    if isinstance(node, dict):
        return {key.replace(marker, value): substitute(item, marker, value) for key, item in node.items()}
    if isinstance(node, list):
        return [substitute(item, marker, value) for item in node]
    if isinstance(node, str):
        return node.replace(marker, value)
    return node


def expected_after_injection(baseline: Any, value: str, marker: str = MARKER) -> Any:
    """What a render with ``value`` must equal: the marker render with the value put in its place.

    Equality with this tree proves both that the structure is unchanged (same keys, same nesting,
    same types) and that the value arrived verbatim wherever the marker did.
    """
    return normalise(substitute(normalise(baseline), marker, value))


def _escaped(value: str) -> tuple[str, ...]:
    """``value`` as it appears inside a JSON string literal (targets that emit JSON as text):
    plain ``json.dumps``, ASCII-only, or Jinja's ``tojson`` (which also escapes ``<>&'``)."""
    plain = json.dumps(value, ensure_ascii=False)[1:-1]
    jinja = plain.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (plain, json.dumps(value)[1:-1], jinja.replace("'", "\\u0027"))


def injection_difference(actual: Any, baseline: Any, value: str, marker: str = MARKER) -> str | None:
    """Where ``actual`` differs from ``baseline`` with ``marker`` replaced by ``value``; None if nowhere.

    Keys take the value verbatim. A string takes it verbatim, or JSON-escaped when the string is
    itself JSON text (a Watcher body, a Kibana ``esQuery``): either way it cannot leave its place.
    """
    return _difference(normalise(actual), normalise(baseline), value, marker, "")


def _difference(actual: Any, base: Any, value: str, marker: str, path: str) -> str | None:
    if isinstance(base, dict):
        if not isinstance(actual, dict):
            return f"{path}: {type(actual).__name__} instead of an object"
        wanted = {key.replace(marker, value): item for key, item in base.items()}
        if set(actual) != set(wanted):
            return f"{path}: keys {sorted(actual)} instead of {sorted(wanted)}"
        for key, item in wanted.items():
            found = _difference(actual[key], item, value, marker, f"{path}/{key}")
            if found:
                return found
        return None
    if isinstance(base, list):
        if not isinstance(actual, list) or len(actual) != len(base):
            return f"{path}: not a list of {len(base)} items"
        for i, (got, item) in enumerate(zip(actual, base, strict=True)):
            found = _difference(got, item, value, marker, f"{path}/{i}")
            if found:
                return found
        return None
    if isinstance(base, str):
        candidates = [base.replace(marker, value)] + [base.replace(marker, e) for e in _escaped(value)]
        if actual in candidates or normalise(actual) in [normalise(c) for c in candidates]:
            return None
        return f"{path}: {actual!r:.200} instead of {candidates[0]!r:.200}"
    if actual != base or type(actual) is not type(base):
        return f"{path}: {actual!r} instead of {base!r}"
    return None


def shape(node: Any) -> Any:
    """The tree's skeleton: keys and nesting, leaves replaced by their type name."""
    if isinstance(node, dict):
        return {key: shape(value) for key, value in node.items()}
    if isinstance(node, list):
        return [shape(value) for value in node]
    return type(node).__name__
