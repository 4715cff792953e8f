"""Account inventory: who exists, in which status, last seen when — from JSON, NDJSON or CSV.

Each record has ``user`` (required), ``status`` (active, disabled, deprovisioned, …; default
active), ``last_seen`` (ISO-8601 with offset, optional) and ``disabled_at`` (optional: the status
applies from then on; without it the status applies to every event). User names are compared
case-insensitively.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sessionwatch.enrichers.canonical import BadEvent, parse_token_time
from sessionwatch.rules.errors import EnrichError, Location

FIELDS = ("user", "status", "last_seen", "disabled_at")


@dataclass(frozen=True)
class Account:
    status: str
    last_seen: float | None
    disabled_at: float | None


def _account(record: Mapping[str, Any], where: Location) -> tuple[str, Account]:
    if not isinstance(record, Mapping):
        raise EnrichError("inventory record is not an object", where)
    unknown = sorted(set(record) - set(FIELDS))
    if unknown:
        raise EnrichError(
            f"unknown inventory field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}", where
        )
    user = record.get("user")
    if not isinstance(user, str) or not user:
        raise EnrichError("inventory record has no 'user'", where)
    status = record.get("status") or "active"
    if not isinstance(status, str):
        raise EnrichError("'status' must be a string", where)
    try:
        last_seen = parse_token_time(record.get("last_seen") or None, "last_seen")
        disabled_at = parse_token_time(record.get("disabled_at") or None, "disabled_at")
    except BadEvent as exc:
        raise EnrichError(str(exc), where) from None
    return user.lower(), Account(status.lower(), last_seen, disabled_at)


def accounts_from_records(records: Iterable[tuple[Location, Mapping[str, Any]]]) -> dict[str, Account]:
    return dict(_account(record, where) for where, record in records)


def _records(path: Path, text: str) -> Iterable[tuple[Location, Mapping[str, Any]]]:
    name = str(path)
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        for row in reader:
            yield Location(name, reader.line_num, 1), {k: v for k, v in row.items() if k is not None}
        return
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise EnrichError(f"malformed JSON: {exc.msg}", Location(name, exc.lineno, exc.colno)) from None
        for index, record in enumerate(data):
            yield Location(name, pointer=f"/{index}"), record
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield Location(name, number, 1), json.loads(line)
        except json.JSONDecodeError as exc:
            raise EnrichError(f"malformed JSON: {exc.msg}", Location(name, number, exc.colno)) from None


def load_inventory(path: str | Path) -> dict[str, Account]:
    """Accounts by lower-cased user name; a bad record raises ``EnrichError`` with its line."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise EnrichError(f"cannot read inventory: {exc.strerror}", Location(str(file))) from None
    return accounts_from_records(_records(file, text))
