"""Several ``enrich --follow`` processes sharing one source (``--partitions P``).

Each member holds leases on some of the P partitions (``follow_leases``) and runs, for each,
a ``Follower`` restricted to that partition's events (``follow_partitions.Share``) with its own
checkpoint, ``follow:<group>:p<p>of<P>``. Turns are short (``pages_per_turn`` pages) and the
leases are rebalanced between turns, so a dead member's partitions are taken by the others
within the lease time plus a turn. Safety does not rest on the leases: a checkpoint is written
with the version its writer read, so a member that lost a partition fails its next checkpoint
write and lets it go; and every enriched event is indexed under its own id, so what a new
owner replays from the last checkpoint overwrites the same documents with the same content.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from os import getpid

from elasticsearch import Elasticsearch

from sessionwatch.enrichers.engine import Engine
from sessionwatch.enrichers.profiles import Profile, ProfileRegistry
from sessionwatch.es import describe_error
from sessionwatch.follow import NODE_ERRORS, DeadSink, Follower, FollowSummary
from sessionwatch.follow_leases import LeaseBook, LeaseLost
from sessionwatch.follow_partitions import Share
from sessionwatch.index_settings import site_cluster_settings
from sessionwatch.rules.errors import ElasticsearchUnavailable, SessionwatchError
from sessionwatch.runner.backoff import Backoff
from sessionwatch.runner.state import CheckpointConflict, ensure_indices

log = logging.getLogger("sessionwatch.follow")


def default_member_id() -> str:
    return f"{socket.gethostname()}-{getpid()}"


class GroupFollower:
    def __init__(
        self,
        client: Elasticsearch,
        engine_factory: Callable[[], Engine],
        *,
        profiles: ProfileRegistry,
        forced: Profile | None,
        source: str,
        dest: str,
        group: str,
        member: str,
        partitions: int,
        state_index: str,
        lease_seconds: float = 30.0,
        batch_size: int = 1000,
        settle_seconds: float = 30.0,
        dead: DeadSink | None = None,
        pages_per_turn: int = 5,
    ) -> None:
        self.client, self.engine_factory = client, engine_factory
        self.profiles, self.forced = profiles, forced
        self.source, self.dest, self.group = source, dest, group
        self.partitions, self.state_index = partitions, state_index
        self.batch_size, self.settle_seconds = batch_size, settle_seconds
        self.dead = dead
        self.pages_per_turn = pages_per_turn
        self.book = LeaseBook(
            client,
            state_index,
            group=group,
            member=member,
            partitions=partitions,
            lease_seconds=lease_seconds,
        )
        self.heartbeat_seconds = lease_seconds / 3
        self.stop = threading.Event()
        self.summary = FollowSummary()
        self.followers: dict[int, Follower] = {}
        self.retry = Backoff(base=1.0, cap=min(30.0, lease_seconds))

    def _follower(self, partition: int) -> Follower:
        follower = self.followers.get(partition)
        if follower is None:
            follower = Follower(
                self.client,
                self.engine_factory,
                source=self.source,
                dest=self.dest,
                follower_id=self.group,
                batch_size=self.batch_size,
                settle_seconds=self.settle_seconds,
                state_index=self.state_index,
                dead=self.dead,
                share=Share(partition, self.partitions, self.profiles, self.forced),
                checkpoint_id=f"follow:{self.group}:p{partition}of{self.partitions}",
                fence=self.book.fence(partition),
            )
            follower.summary = self.summary  # one set of counts for the member
            follower.stop = self.stop
            self.followers[partition] = follower
        return follower

    def _heartbeat(self) -> None:
        failures = 0
        while not self.stop.wait(self.heartbeat_seconds if failures == 0 else 1.0):
            try:
                self.book.heartbeat()
                failures = 0
            except (*NODE_ERRORS, SessionwatchError) as exc:  # the leases expire: others take over
                failures += 1
                log.warning("follow: heartbeat failed: %s", describe_error(exc))

    def run(self, *, once: bool, poll_seconds: float = 10.0, give_up_after: float = 600.0) -> FollowSummary:
        """Turn after turn until stopped (``once``: until this member's partitions are caught up)."""
        beat = threading.Thread(target=self._heartbeat, name="sessionwatch-follow-heartbeat", daemon=True)
        failures, failing_since, joined = 0, 0.0, False
        try:
            while not self.stop.is_set():
                try:
                    if not joined:  # the state index exists and this member is on the roster
                        ensure_indices(self.client, self.state_index, site_cluster_settings())
                        self.book.join()
                        joined = True
                        beat.start()
                    read = self._round()
                except NODE_ERRORS as exc:
                    self.summary.errors += 1
                    self.followers.clear()  # reload positions and engines from the checkpoints
                    failing_since = failing_since or time.monotonic()
                    if once and time.monotonic() - failing_since >= give_up_after:
                        raise ElasticsearchUnavailable(
                            f"follow kept failing: {describe_error(exc)}"
                        ) from None
                    delay = self.retry.delay(failures)
                    failures += 1
                    log.warning("follow: %s; retry %d in %.1f s", describe_error(exc), failures, delay)
                    self.stop.wait(delay)
                    continue
                failures, failing_since = 0, 0.0
                if read == 0 and once:  # caught up on the partitions this member holds
                    self.client.indices.refresh(index=self.dest, ignore_unavailable=True)
                    break
                if read == 0:
                    self.stop.wait(min(poll_seconds, self.heartbeat_seconds))
        finally:
            self.stop.set()
            if joined:
                beat.join(timeout=5)
                self._leave()
        return self.summary

    def _round(self) -> int:
        """Rebalance, then one turn per partition held (rebalancing between turns)."""
        read = 0
        for partition in self._rebalance():
            if self.stop.is_set():
                break
            if not self.book.holds(partition):
                self.followers.pop(partition, None)
                continue
            try:
                read += self._follower(partition).run_pass(max_pages=self.pages_per_turn)
            except (LeaseLost, CheckpointConflict) as exc:
                log.warning("follow: partition %d: %s; letting it go", partition, exc.message)
                self.followers.pop(partition, None)  # a later owner starts from the checkpoint
                if isinstance(exc, LeaseLost):
                    self.book.drop(partition)
            self._rebalance()
        return read

    def _rebalance(self) -> list[int]:
        taken, extra = self.book.balance()
        for partition in extra:  # its last checkpoint is written: the next owner resumes there
            self.followers.pop(partition, None)
            self.book.release(partition)
        if taken:
            log.info("follow: %s holds partitions %s", self.book.member, self.book.partitions_held())
        return self.book.partitions_held()

    def _leave(self) -> None:
        """Release every lease and leave the roster, so the others take over at once."""
        try:
            for partition in list(self.book.held):
                self.book.release(partition)
            self.book.join(leaving=True)
        except NODE_ERRORS as exc:  # the leases expire by themselves
            log.warning("follow: could not release the leases: %s", describe_error(exc))
