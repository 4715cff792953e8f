"""Fields Elasticsearch would refuse: found before an event is written, repaired or dropped.

One value Elasticsearch cannot index under the facts mapping (``"client": {"ip": "-"}``, a
``@timestamp`` with a space instead of ``T``, an object where a keyword is mapped, a metadata
field name such as ``_id``) makes it reject the *whole* event. The engine calls ``admit`` on
every parsed event: ``@timestamp`` in a form Python reads but Elasticsearch does not is rewritten
as ISO-8601 UTC; any other refused field is removed. Each repaired path and its original value
is recorded on the event (``sessionwatch.quality.repaired_fields`` /
``sessionwatch.quality.original_values``), so nothing is lost and the event is still evaluated.

The rules follow what a real 8.19 node does with the mapping of ``events_mapping()``
(``dynamic: false``): unmapped fields are kept in ``_source`` unparsed, mapped ones must fit
their type. The fuzz test in tests/hardening checks a sample of outputs against a real node.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from sessionwatch.enrichers.facts import ECS_FIELDS, FACTS, EsType
from sessionwatch.enrichers.timefmt import has_iso_form, isoformat

REPAIRED_FIELDS = "sessionwatch.quality.repaired_fields"
ORIGINAL_VALUES = "sessionwatch.quality.original_values"

# Top-level names Elasticsearch reserves ("... is a metadata field and cannot be added inside a
# document"), as observed on 8.19.
METADATA_FIELDS = frozenset(
    {
        "_id",
        "_index",
        "_source",
        "_ignored",
        "_ignored_source",
        "_routing",
        "_field_names",
        "_seq_no",
        "_version",
        "_nested_path",
        "_data_stream_timestamp",
        "_tier",
    }
)
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
EPOCH_MILLIS_MAX = 10**15  # ±33,000 years: well inside what a date field holds
_ES_DATE = re.compile(  # the part of strict_date_optional_time this module lets through as is
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,]\d{1,9})?)?)?"
    r"(?:Z|[+-](?P<oh>\d{2}):?(?P<om>\d{2}))?"
)


@cache
def _mapping() -> tuple[dict[str, EsType], frozenset[str]]:
    """(leaf path -> type, object paths) of the facts mapping."""
    leaves: dict[str, EsType] = dict(ECS_FIELDS)
    leaves.update((f.name, f.type) for f in FACTS)
    objects = {name.rsplit(".", cut)[0] for name in leaves for cut in range(1, name.count(".") + 1)}
    return leaves, frozenset(objects)


# the form nearly every event has (``2026-03-02T09:00:00.123Z``): minutes and seconds valid by
# the pattern, so only the hour needs checking, once per distinct hour
_COMMON_DATE = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}):[0-5]\d:[0-5]\d(?:\.\d{1,9})?Z")
_VALID_HOURS: dict[str, bool] = {}


def es_date_text(value: str) -> bool:
    """Whether Elasticsearch's default date format reads ``value`` (for the forms written here)."""
    common = _COMMON_DATE.fullmatch(value)
    if common is None:
        return _es_date_text(value)
    if len(value) == 24 and value.isascii():  # three digits of fraction: the form ``iso`` writes
        has_iso_form(value)
    hour = common[1]
    known = _VALID_HOURS.get(hour)
    if known is None:
        if len(_VALID_HOURS) >= 65536:
            _VALID_HOURS.clear()
        known = _VALID_HOURS[hour] = _es_date_text(hour + ":00:00Z")
    return known


def _es_date_text(value: str) -> bool:
    found = _ES_DATE.fullmatch(value)
    if found is None:
        return False
    try:
        datetime(
            int(found["y"]), int(found["mo"]), int(found["d"]), int(found["h"] or 0), int(found["mi"] or 0)
        )
    except ValueError:
        return False
    return int(found["s"] or 0) < 60 and int(found["oh"] or 0) < 24 and int(found["om"] or 0) < 60


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _each(value: Any) -> list[Any]:
    """The values of a field, arrays (of arrays) flattened, as Elasticsearch reads them."""
    if not isinstance(value, list):
        return [value]
    out: list[Any] = []
    for item in value:
        out.extend(_each(item))
    return out


def _number_ok(value: Any, low: float, high: float) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return low <= value <= high
    if isinstance(value, float):
        return math.isfinite(value) and low <= value <= high
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return False
        return math.isfinite(number) and low <= number <= high
    return False


def _ip_ok(value: Any) -> bool:
    if not isinstance(value, str) or value != value.strip() or value.endswith("%"):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _date_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -EPOCH_MILLIS_MAX <= value <= EPOCH_MILLIS_MAX
    return isinstance(value, str) and es_date_text(value)


def value_ok(es_type: EsType, value: Any) -> bool:
    """Whether a field of ``es_type`` accepts ``value`` (``None`` and arrays included)."""
    for item in _each(value):
        if item is None:
            continue
        if es_type == "keyword":
            ok = _scalar(item) and not (isinstance(item, float) and not math.isfinite(item))
        elif es_type == "ip":
            ok = _ip_ok(item)
        elif es_type == "date":
            ok = _date_ok(item)
        elif es_type == "boolean":
            ok = isinstance(item, bool) or item in ("true", "false", "")
        elif es_type == "long":
            ok = _number_ok(item, LONG_MIN, LONG_MAX)
        else:  # double
            ok = _number_ok(item, -1.7976931348623157e308, 1.7976931348623157e308)
        if not ok:
            return False
    return True


def _bad_name(key: str) -> bool:
    return key == "" or key.isspace() or key.startswith(".") or ".." in key


def _normalised_timestamp(value: Any) -> str | None:
    """ISO-8601 UTC for a ``@timestamp`` Python reads with its offset (``2026-03-02 09:00:00Z``,
    a float of epoch milliseconds) but Elasticsearch would refuse; None if unreadable."""
    try:
        if isinstance(value, float) and math.isfinite(value):
            moment = value / 1000.0
        elif isinstance(value, str):
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                return None
            moment = parsed.astimezone(UTC).timestamp()
        else:
            return None
        return isoformat(moment) if 0.0 <= moment <= 253402300799.0 else None
    except (ValueError, OverflowError, OSError):
        return None


def plain_names(text: str) -> bool:
    """Whether no object key in the JSON ``text`` can be a name Elasticsearch refuses (empty,
    blank, starting with a dot or holding ``..``), judged on the text alone: it is ASCII, has no
    escape, and none of ``""``, ``".``, ``" `` or ``..`` anywhere (in a key or not). Cheap and
    conservative: a line it does not clear gets every name checked."""
    return (
        text.isascii()
        and "\\" not in text
        and '""' not in text
        and '".' not in text
        and '" ' not in text
        and ".." not in text
    )


def admit(
    doc: dict[str, Any], keep_bad_timestamp: bool = False, names_checked: bool = False, dotted: bool = True
) -> dict[str, Any]:
    """Repair ``doc`` in place so Elasticsearch accepts it; returns ``{path: original value}``
    for every field rewritten or removed (empty when nothing was wrong). A ``@timestamp`` that
    cannot be read at all is removed, or left for the caller to reject when
    ``keep_bad_timestamp`` (an event a profile claimed: no timestamp makes it a dead letter).
    ``names_checked``: the caller knows no key is a refused name (``plain_names`` of its text),
    so only mapped fields are visited. ``dotted=False``: the caller knows no key holds a dot; with
    ``names_checked`` too, a first pass that changes nothing answers the usual case (no field to
    repair), and only an event it finds a field to repair in is walked again to repair it."""
    repaired: dict[str, Any] = {}
    if names_checked and not dotted and _clean_check()(doc) and METADATA_FIELDS.isdisjoint(doc):
        return repaired
    if not names_checked or not METADATA_FIELDS.isdisjoint(doc):
        _walk(doc, "", repaired, keep_bad_timestamp, top=True, names=True)
    else:
        _walk(doc, "", repaired, keep_bad_timestamp, top=False, names=False)
    return repaired


_OK_IPS: dict[str, bool] = {}


def _fits(es_type: EsType, value: Any) -> bool:
    """``value_ok`` with the common cases answered first."""
    kind = type(value)
    if kind is str:
        if es_type == "keyword":
            return True
        if es_type == "date":
            return es_date_text(value)
        if es_type == "ip":
            known = _OK_IPS.get(value)
            if known is None:
                if len(_OK_IPS) >= 65536:
                    _OK_IPS.clear()
                known = _OK_IPS[value] = _ip_ok(value)
            return known
    elif value is None or (kind is list and es_type == "keyword" and all(type(v) is str for v in value)):
        return True
    return value_ok(es_type, value)


Table = dict[str | None, Any]  # key -> its type (a leaf) or the table of its keys (an object)


@cache
def _tables() -> Table:
    """The mapping as nested tables for ``_clean``; ``None`` marks an object under which a key
    that is not mapped can still fall below a mapped leaf (then ``_clean`` leaves it to ``_walk``)."""
    leaves, objects = _mapping()
    root: Table = {}
    for path in sorted(objects | set(leaves), key=lambda p: p.count(".")):
        *parents, key = path.split(".")
        node = root
        for part in parents:
            node = node[part]
        node[key] = leaves.get(path, {})
        if path in objects and path + "." in _leaf_objects():
            node[key][None] = True
    if "." in _leaf_objects():
        root[None] = True
    return root


@cache
def _clean_check() -> Callable[[dict[str, Any]], bool]:
    """``_clean(doc, _tables())`` as one generated function: a ``dict.get`` per mapped name, in
    straight-line code (keys appear only as ``repr()`` literals of the mapping's own names)."""
    tables = _tables()
    if _leaf_objects():  # an unmapped key can fall below a leaf: only ``_clean`` knows
        return lambda doc: _clean(doc, tables)
    lines = ["def clean(doc):"]
    _emit(tables, "doc", 1, lines)
    lines.append("    return True")
    namespace: dict[str, Any] = {"fits": _fits, "date_text": es_date_text, "known_ips": _OK_IPS}
    exec(compile("\n".join(lines), "<admission check>", "exec"), namespace)  # noqa: S102 - see docstring
    check: Callable[[dict[str, Any]], bool] = namespace["clean"]
    return check


def _emit(table: Table, node: str, depth: int, lines: list[str]) -> None:
    pad = "    " * depth
    for key, entry in table.items():
        if key is None:
            continue
        if type(entry) is dict:
            child = f"o{depth}"
            lines += [
                f"{pad}{child} = {node}.get({key!r})",
                f"{pad}if {child} is not None:",
                f"{pad}    if type({child}) is not dict:",
                f"{pad}        return False",
            ]
            _emit(entry, child, depth + 1, lines)
        else:  # ``_fits``' answers for a string, without the call: a date's text, a known ip
            check = {
                "keyword": "type(v) is not str and not fits('keyword', v)",
                "date": "(not date_text(v) if type(v) is str else not fits('date', v))",
                "ip": "not (type(v) is str and known_ips.get(v)) and not fits('ip', v)",
            }.get(entry, f"not fits({entry!r}, v)")
            lines += [
                f"{pad}v = {node}.get({key!r})",
                f"{pad}if v is not None and {check}:",
                f"{pad}    return False",
            ]


def _clean(node: dict[str, Any], table: Table) -> bool:
    """Whether ``_walk`` (names not checked, no dotted key) would find nothing to repair in
    ``node``; False also when unsure (a list of objects, a strict table)."""
    for key, value in node.items():
        entry = table.get(key)
        if entry is None:
            if None in table:
                return False
            continue
        if type(entry) is dict:
            if type(value) is dict:
                if not _clean(value, entry):
                    return False
            elif value is not None:
                return False
        elif not _fits(entry, value):
            return False
    return True


def _walk(
    node: dict[str, Any], prefix: str, repaired: dict[str, Any], keep_ts: bool, top: bool, names: bool
) -> None:
    """Visit ``node``'s keys in order (the order ``repaired`` records them in). ``names``:
    check every name, unmapped subtrees included; else only mapped fields are looked at."""
    leaves, objects = _mapping()
    for key in list(node):
        value = node[key]
        path = prefix + key
        if names and (_bad_name(key) or (top and key in METADATA_FIELDS)):
            repaired[path] = node.pop(key)
            continue
        es_type = leaves.get(path)
        if es_type is not None:
            if _fits(es_type, value):
                continue
            if path == "@timestamp":
                fixed = _normalised_timestamp(value)
                if fixed is not None:
                    repaired[path] = value
                    node[key] = fixed
                    continue
                if keep_ts:
                    continue
            repaired[path] = node.pop(key)
        elif path in objects:
            if isinstance(value, dict):
                _walk(value, path + ".", repaired, keep_ts, False, names)
            elif isinstance(value, list) and all(isinstance(v, dict) or v is None for v in value):
                for item in value:
                    if item is not None:
                        _walk(item, path + ".", repaired, keep_ts, False, names)
            elif value is not None:
                repaired[path] = node.pop(key)
        elif ("." in key or prefix in _leaf_objects()) and _under_leaf(path, leaves):
            repaired[path] = node.pop(key)  # "client.ip.x": a mapped ip cannot hold an object
        elif names:
            _check_names(value, path + ".", repaired)


@cache
def _leaf_objects() -> frozenset[str]:
    """Object paths (``"a.b."``) that are leaves too, or lie under one: only under those can a
    key without a dot fall below a mapped leaf."""
    leaves, objects = _mapping()
    return frozenset(o + "." for o in objects if _under_leaf(o + ".x", leaves))


def _under_leaf(path: str, leaves: Mapping[str, EsType]) -> bool:
    parts = path.split(".")
    return any(".".join(parts[:cut]) in leaves for cut in range(1, len(parts)))


def _check_names(value: Any, prefix: str, repaired: dict[str, Any]) -> None:
    """Unmapped objects are not indexed, but Elasticsearch still refuses empty or dotted names."""
    if isinstance(value, list):
        for item in value:
            _check_names(item, prefix, repaired)
        return
    if not isinstance(value, dict):
        return
    for key in list(value):
        if _bad_name(key):
            repaired[prefix + key] = value.pop(key)
        else:
            _check_names(value[key], prefix + key + ".", repaired)


def record(repaired: Mapping[str, Any]) -> dict[str, Any]:
    """The quality facts for a repaired event (flat names, as enrichers return them). The
    original values are kept as one JSON text: unindexed, so any value fits."""
    return {
        REPAIRED_FIELDS: sorted(repaired),
        ORIGINAL_VALUES: json.dumps(dict(repaired), separators=(",", ":")),
    }
