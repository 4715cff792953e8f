"""Leases on a follower group's partitions, kept in the state index (no coordinator of ours).

Documents, all read by id (realtime) and written with ``if_seq_no`` / ``if_primary_term``
(``StateStore``), so two followers never both win a write:

* ``followers:<group>``: the group's roster, ``{"partitions": P, "members": {id: expires_ms}}``;
  each member renews its entry by heartbeat; the live members decide each one's fair share,
  ``ceil(P / live)``;
* ``lease:<group>:<p>``: ``{"owner": id, "expires": ms}``; taken when missing, expired or
  released (``owner`` null), renewed by heartbeat, released when a member holds more than its
  share or stops. A write that conflicts means another member won: the lease is not ours.

Expiry times are the members' wall clocks (epoch ms): members on several machines need clocks
synchronised well within the lease time (NTP).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable

from elasticsearch import Elasticsearch

from sessionwatch.rules.errors import SessionwatchError, UsageError
from sessionwatch.runner.clock import iso, utc_now
from sessionwatch.runner.state import CheckpointConflict, StateStore, Stored

log = logging.getLogger("sessionwatch.follow")
Clock = Callable[[], float]


class LeaseLost(SessionwatchError):
    """This member no longer holds the partition it was writing."""


class GroupMismatch(UsageError):
    """The group was started with another number of partitions."""


class LeaseBook:
    """One member's view of its group's leases; thread-safe (a heartbeat thread renews)."""

    def __init__(
        self,
        client: Elasticsearch,
        state_index: str,
        *,
        group: str,
        member: str,
        partitions: int,
        lease_seconds: float = 30.0,
        clock: Clock = time.time,
    ) -> None:
        self.store = StateStore(client, state_index)
        self.group, self.member, self.partitions = group, member, partitions
        self.lease_ms = int(lease_seconds * 1000)
        self.clock = clock
        self.held: dict[int, Stored] = {}
        self.lock = threading.RLock()
        self.live = 1

    def _now(self) -> int:
        return int(self.clock() * 1000)

    def lease_id(self, partition: int) -> str:
        return f"lease:{self.group}:{partition}"

    def holds(self, partition: int) -> bool:
        with self.lock:
            lease = self.held.get(partition)
            return lease is not None and (lease.data or {}).get("expires", 0) > self._now()

    def fence(self, partition: int) -> Callable[[], None]:
        def check() -> None:
            if not self.holds(partition):
                raise LeaseLost(f"lease on partition {partition} of {self.group} lost")

        return check

    # --- the roster -----------------------------------------------------------------------

    def join(self, *, leaving: bool = False) -> int:
        """Renew (or remove) this member's roster entry; returns the live members' count."""
        doc_id = f"followers:{self.group}"
        for _ in range(20):  # members race on one document: read, change, write, again on conflict
            stored = self.store.get(doc_id)
            data = dict(stored.data or {"partitions": self.partitions, "members": {}})
            if data.get("partitions") != self.partitions:
                raise GroupMismatch(
                    f"follower group {self.group} runs with --partitions {data.get('partitions')}, "
                    f"not {self.partitions}: use the same number (or another --follower-id)"
                )
            now = self._now()
            members = {m: t for m, t in dict(data.get("members", {})).items() if t > now}
            if leaving:
                members.pop(self.member, None)
            else:
                members[self.member] = now + self.lease_ms
            try:
                self.store.put(doc_id, "followers", {**data, "members": members}, stored, iso(utc_now()))
            except CheckpointConflict:
                continue
            self.live = max(len(members), 1)
            return self.live
        raise SessionwatchError(f"roster of {self.group} kept changing under this member")

    # --- leases ---------------------------------------------------------------------------

    def share(self) -> int:
        return math.ceil(self.partitions / max(self.live, 1))

    def count_live(self) -> int:
        """Re-read the roster (one GET): members that joined or died since the last heartbeat."""
        data = self.store.get(f"followers:{self.group}").data or {}
        now = self._now()
        members = {m for m, t in dict(data.get("members", {})).items() if t > now} | {self.member}
        self.live = len(members)
        return self.live

    def _write(self, partition: int, owner: str | None, expires: int, previous: Stored) -> Stored | None:
        data = {"owner": owner, "expires": expires, "group": self.group, "partition": partition}
        try:
            return self.store.put(self.lease_id(partition), "lease", data, previous, iso(utc_now()))
        except CheckpointConflict:
            return None

    def heartbeat(self) -> None:
        """Renew the roster entry and every lease held; a conflict drops that lease."""
        self.join()
        with self.lock:
            for partition, lease in list(self.held.items()):
                renewed = self._write(partition, self.member, self._now() + self.lease_ms, lease)
                if renewed is None:
                    log.warning("follow: lease on partition %d taken by another member", partition)
                    del self.held[partition]
                else:
                    self.held[partition] = renewed

    def balance(self) -> tuple[list[int], list[int]]:
        """Release leases beyond this member's share, take free or expired ones up to it.
        Returns (taken, to_release): the caller releases those after checkpointing them."""
        self.count_live()
        share = self.share()
        with self.lock:
            extra = _spread_out(sorted(self.held), share)
            taken: list[int] = []
            if len(self.held) >= share:
                return taken, extra
            now = self._now()
            for partition in range(self.partitions):
                if partition in self.held:
                    continue
                stored = self.store.get(self.lease_id(partition))
                data = stored.data or {}
                if stored.data is not None and data.get("owner") and data.get("expires", 0) > now:
                    continue  # held by a live member
                won = self._write(partition, self.member, now + self.lease_ms, stored)
                if won is not None:
                    self.held[partition] = won
                    taken.append(partition)
                    log.info("follow: %s took partition %d of %s", self.member, partition, self.group)
                if len(self.held) >= share:
                    break
            return taken, extra

    def release(self, partition: int) -> None:
        with self.lock:
            lease = self.held.pop(partition, None)
            if lease is not None and self._write(partition, None, 0, lease) is not None:
                log.info("follow: %s released partition %d of %s", self.member, partition, self.group)

    def drop(self, partition: int) -> None:
        with self.lock:
            self.held.pop(partition, None)

    def partitions_held(self) -> list[int]:
        with self.lock:
            return sorted(p for p in self.held if self.holds(p))


def _spread_out(held: list[int], share: int) -> list[int]:
    """The partitions to let go of to keep ``share``: every other one first (neighbouring
    partitions hold neighbouring characters, so a member keeps a mix), then from the end."""
    if len(held) <= share:
        return []
    odd, even = held[1::2], held[0::2]
    return (odd + even[::-1])[: len(held) - share]
