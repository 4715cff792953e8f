"""Account status: the actor's account status and how long it had been dormant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent
from sessionwatch.enrichers.inventory import Account, accounts_from_records, load_inventory
from sessionwatch.enrichers.timefmt import isoformat

MAX_ACTORS = 5_000_000
DAY = 86400.0


class AccountStatus:
    """Facts: ``sessionwatch.account.{status,dormant_days,last_seen}`` for the event's actor.

    Status comes from the inventory (option ``inventory``: a JSON / NDJSON / CSV file, or
    ``inventory_records``: already-read records, e.g. from an index), overridden by an accepted
    ``account_disable`` event in the stream for the account it names (``account_target``, else
    the actor) from that event's time on: then ``disabled``. Without either: ``unknown``.
    ``dormant_days`` is the time since the account's previous accepted activity — the later of
    the inventory's ``last_seen`` and the stream's own history — absent when neither is known.
    Stream-scoped: an account spans sessions. Names compare case-insensitively.
    """

    name = "account_status"
    scope = "stream"

    def __init__(self) -> None:
        self.inventory: dict[str, Account] = {}

    def configure(self, options: Mapping[str, Any]) -> None:
        path = options.get("inventory")
        if path:
            self.inventory = load_inventory(path)
        records = options.get("inventory_records")
        if records:
            self.inventory.update(accounts_from_records(records))

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        actors: dict[str, list[Any]] = state.setdefault("actors", {})
        ts = event.timestamp
        out: dict[str, Any] = {}
        if event.actor is not None:
            key = event.actor.lower()
            record = actors.get(key)
            account = self.inventory.get(key)
            status = "unknown"
            previous: float | None = None
            if account is not None:
                status = account.status
                if account.disabled_at is not None and ts < account.disabled_at:
                    status = "active"
                previous = (
                    account.last_seen if account.last_seen is not None and account.last_seen <= ts else None
                )
            if record is not None:
                last, disabled = record[0], record[1]
                if disabled is not None and disabled <= ts:
                    status = "disabled"
                if last is not None and last <= ts and (previous is None or last > previous):
                    previous = last
            out["sessionwatch.account.status"] = status
            if previous is not None:
                if record is not None and previous == record[0]:
                    out["sessionwatch.account.last_seen"] = record[2]
                else:
                    out["sessionwatch.account.last_seen"] = isoformat(previous)
                out["sessionwatch.account.dormant_days"] = round((ts - previous) / DAY, 4)
            if event.accepted and event.action != "account_disable":
                if record is None:
                    record = self._new(actors, key)
                if record[0] is None or ts > record[0]:
                    record[0] = ts
                    record[2] = isoformat(ts)
        if event.action == "account_disable" and event.accepted:
            target = event.account_target or event.actor
            if target is not None:
                key = target.lower()
                record = actors.get(key) or self._new(actors, key)
                if record[1] is None or ts < record[1]:
                    record[1] = ts
        return out

    @staticmethod
    def _new(actors: dict[str, list[Any]], key: str) -> list[Any]:
        if len(actors) >= MAX_ACTORS:
            del actors[next(iter(actors))]
        record: list[Any] = [None, None, None]  # last accepted activity, disabled at, last as text
        actors[key] = record
        return record
