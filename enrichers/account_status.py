"""Account status: the actor's account status and how long it had been dormant."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent
from sessionwatch.enrichers.inventory import Account, accounts_from_records, load_inventory
from sessionwatch.enrichers.rounding import round4
from sessionwatch.enrichers.timefmt import isoformat

MAX_ACTORS = 5_000_000
DAY = 86400.0
LIFECYCLE = frozenset({"account_disable", "account_enable"})


class AccountStatus:
    """Facts: ``sessionwatch.account.{status,dormant_days,last_seen}`` for the event's actor.

    Status comes from the inventory (option ``inventory``: a JSON / NDJSON / CSV file, or
    ``inventory_records``: already-read records, e.g. from an index), overridden by the stream's
    accepted admin lifecycle events for the account they act on (``account_target`` — never the
    actor: the admin who suspends someone stays active): ``account_disable`` makes it
    ``disabled`` from that event's time on, ``account_enable`` (unsuspend, activate, unlock)
    makes it ``active`` again. An event without a target changes no account. Without either
    source: ``unknown``.
    ``dormant_days`` is the time since the account's previous accepted activity — the later of
    the inventory's ``last_seen`` and the stream's own history — absent when neither is known.
    Stream-scoped: an account spans sessions. Names compare case-insensitively.
    """

    name = "account_status"
    scope = "stream"
    reads = ("timestamp", "actor", "action", "outcome", "account_target")

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
        actors: dict[str, list[Any]] | None = state.get("actors")
        if actors is None:  # (not ``setdefault``: that builds a dict per event)
            actors = state["actors"] = {}
        ts = event.timestamp
        accepted = event.outcome != "failure"
        out: dict[str, Any] = {}
        actor = event.actor
        if actor is not None:
            key = actor.lower()
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
                elif len(record) > 3 and record[3] is not None and record[3] <= ts:
                    since = account.disabled_at if account is not None else None
                    if since is None or record[3] >= since:
                        status = "active"  # re-enabled in the stream after the inventory's word
                if last is not None and last <= ts and (previous is None or last > previous):
                    previous = last
            out["sessionwatch.account.status"] = status
            if previous is not None:
                if record is not None and previous == record[0]:
                    out["sessionwatch.account.last_seen"] = record[2]
                else:
                    out["sessionwatch.account.last_seen"] = isoformat(previous)
                out["sessionwatch.account.dormant_days"] = round4((ts - previous) / DAY)
            acted_on_self = event.action in LIFECYCLE and key == (event.account_target or "").lower()
            if accepted and not acted_on_self:  # an admin's action is the admin's activity
                if record is None:
                    record = self._new(actors, key)
                if record[0] is None or ts > record[0]:
                    record[0] = ts
                    record[2] = isoformat(ts)
        if accepted and event.action in LIFECYCLE and event.account_target is not None:
            key = event.account_target.lower()
            record = actors.get(key) or self._new(actors, key)
            if len(record) < 4:
                record.append(None)  # state saved before re-enable events existed
            if event.action == "account_disable":
                if record[1] is None:
                    record[1] = ts
            else:  # account_enable restores the account from now on
                record[1] = None
                record[3] = ts
        return out

    @staticmethod
    def _new(actors: dict[str, list[Any]], key: str) -> list[Any]:
        if len(actors) >= MAX_ACTORS:
            del actors[next(iter(actors))]
        # last accepted activity, disabled at, last as text, re-enabled at
        record: list[Any] = [None, None, None, None]
        actors[key] = record
        return record
