"""Follow mode (``sessionwatch enrich --follow``): enrich new events from Elasticsearch.

Each pass opens a point in time on the source indices and pages through events with
``search_after``, sorted by ``@timestamp`` then ``_shard_doc``, up to ``now - settle``. Events
are enriched by whole instants (all events sharing an ``@timestamp``, in ``index/_id`` order),
indexed under their ``sessionwatch.event.id`` (an idempotent overwrite), and then the
checkpoint is saved in ``STATE_INDEX``: the last
``@timestamp`` read, the source ids already read at exactly that instant, and the engine's
per-session state. A restart resumes from the checkpoint with the same engine state, so no
event is skipped and none is enriched twice (see docs/runner.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, Elasticsearch, TransportError

from sessionwatch.bulk import document_id, index_documents
from sessionwatch.enrichers.engine import Engine
from sessionwatch.es import RETRY_STATUSES, ClusterDown, describe_error
from sessionwatch.follow_fetch import UNREADABLE, fill_sources, search_page
from sessionwatch.follow_partitions import Share, Verdict
from sessionwatch.index_names import EVENTS_DEFAULT, STATE_INDEX
from sessionwatch.index_settings import site_cluster_settings
from sessionwatch.rules.counters import Counters
from sessionwatch.rules.errors import ElasticsearchUnavailable
from sessionwatch.runner.backoff import Backoff
from sessionwatch.runner.clock import iso, utc_now
from sessionwatch.runner.state import StateStore, Stored, ensure_indices

log = logging.getLogger("sessionwatch.follow")
DEFAULT_DEST = EVENTS_DEFAULT
NODE_ERRORS = (ApiError, TransportError, ElasticsearchUnavailable)
SORT: list[dict[str, Any]] = [{"@timestamp": {"order": "asc", "numeric_type": "date"}}, {"_shard_doc": "asc"}]


@dataclass(frozen=True)
class Position:
    """Every event before ``timestamp`` (epoch ms) was read, and those in ``ids`` at it."""

    timestamp: int | None = None
    ids: frozenset[str] = frozenset()

    def skips(self, timestamp: int, key: str) -> bool:
        return self.timestamp is not None and (
            timestamp < self.timestamp or (timestamp == self.timestamp and key in self.ids)
        )

    def after(self, read: Sequence[tuple[int, str]]) -> Position:
        if not read:
            return self
        last = read[-1][0]
        at_last = {key for ts, key in read if ts == last}
        if last == self.timestamp:
            at_last |= self.ids
        return Position(last, frozenset(at_last))

    def as_doc(self) -> dict[str, Any]:
        return {"timestamp": self.timestamp, "ids": sorted(self.ids)}

    @classmethod
    def from_doc(cls, doc: dict[str, Any] | None) -> Position:
        if not doc:
            return cls()
        return cls(doc.get("timestamp"), frozenset(doc.get("ids", ())))


@dataclass
class FollowSummary(Counters):
    pages: int = 0
    read: int = 0
    indexed: int = 0
    dead_letter: int = 0
    errors: int = 0
    foreign: int = 0  # read for another partition (--partitions): skipped, or only observed


EngineFactory = Callable[[], Engine]
Read = tuple[int, str, dict[str, Any]]  # (@timestamp in epoch ms, "index/_id", hit)


def _read(hit: dict[str, Any]) -> Read:
    return int(hit["sort"][0]), f"{hit['_index']}/{hit['_id']}", hit


DeadSink = Callable[[dict[str, Any]], None]


class Follower:
    def __init__(
        self,
        client: Elasticsearch,
        engine_factory: EngineFactory,
        *,
        source: str,
        dest: str,
        follower_id: str,
        batch_size: int = 1000,
        settle_seconds: float = 30.0,
        state_index: str = STATE_INDEX,
        dead: DeadSink | None = None,
        retry: Backoff | None = None,
        share: Share | None = None,
        checkpoint_id: str | None = None,
        fence: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.engine_factory = engine_factory
        self.source, self.dest, self.follower_id = source, dest, follower_id
        self.batch_size = batch_size
        self.settle_ms = int(settle_seconds * 1000)
        self.store = StateStore(client, state_index)
        self.state_index = state_index
        self.dead = dead or (lambda letter: None)
        self.retry = retry or Backoff(base=1.0, cap=60.0)
        self.stop = threading.Event()
        self.summary = FollowSummary()
        self._stored: Stored | None = None
        self._position = Position()
        self._engine: Engine | None = None
        self._prepared = False
        self.share = share  # one partition of the source (``follow_group``), else all of it
        self._checkpoint_id = checkpoint_id
        self.fence = fence or (lambda: None)  # raises when this follower may no longer write

    @property
    def doc_id(self) -> str:
        return self._checkpoint_id or f"follow:{self.follower_id}"

    def run(self, *, once: bool, poll_seconds: float = 10.0, give_up_after: float = 600.0) -> FollowSummary:
        """Pass after pass until stopped (``once``: until one pass ends with nothing left)."""
        failures, failing_since = 0, 0.0
        while not self.stop.is_set():
            try:
                read = self.run_pass()
            except NODE_ERRORS as exc:
                self.summary.errors += 1
                self._engine = None  # reload position and engine state from the checkpoint
                failing_since = failing_since or time.monotonic()
                if once and time.monotonic() - failing_since >= give_up_after:
                    raise ElasticsearchUnavailable(f"follow kept failing: {describe_error(exc)}") from None
                delay = self.retry.delay(failures)
                failures += 1
                log.warning("follow: %s; retry %d in %.1f s", describe_error(exc), failures, delay)
                self.stop.wait(delay)
                continue
            failures, failing_since = 0, 0.0
            if once and read == 0:
                # Make everything written searchable before returning: a `run` started right
                # after `enrich --follow --once` must see it (no waiting on refresh_interval).
                self.client.indices.refresh(index=self.dest, ignore_unavailable=True)
                break
            if read == 0:
                self.stop.wait(poll_seconds)
        return self.summary

    def _load(self) -> Engine:
        if not self._prepared:
            ensure_indices(self.client, self.state_index, site_cluster_settings())
            self._prepared = True
        if self._engine is None:
            stored = self.store.get(self.doc_id)
            engine = self.engine_factory()
            data = stored.data or {}
            if data.get("engine"):
                engine.load_state(json.loads(data["engine"]), origin=f"{self.state_index}/{self.doc_id}")
            self._stored, self._position, self._engine = (
                stored,
                Position.from_doc(data.get("position")),
                engine,
            )
        return self._engine

    def run_pass(self, max_pages: int | None = None) -> int:
        """One point-in-time pass (at most ``max_pages`` pages written); returns how many new
        events were read."""
        engine = self._load()
        horizon = int(utc_now().timestamp() * 1000) - self.settle_ms
        query: dict[str, Any] = {"range": {"@timestamp": {"lt": horizon, "format": "epoch_millis"}}}
        if self._position.timestamp is not None:
            query["range"]["@timestamp"]["gte"] = self._position.timestamp
        pit = self.client.open_point_in_time(index=self.source, keep_alive="2m", ignore_unavailable=True)
        pit_id = pit["id"]
        if self.share is not None:  # mapped fields are read after the point in time is opened
            query = {"bool": {"filter": [query, self.share.query(self.client, self.source)]}}
        total, pages = 0, 0
        carry: list[Read] = []  # the last instant's events: its group may go on in the next page
        try:
            search_after: list[Any] | None = None
            while not self.stop.is_set() and (max_pages is None or pages < max_pages):
                response = search_page(
                    self.client.search,
                    pit={"id": pit_id, "keep_alive": "2m"},
                    query=query,
                    sort=SORT,
                    size=self.batch_size,
                    search_after=search_after,
                    track_total_hits=False,
                    allow_partial_search_results=False,  # a failed shard must not skip events
                )
                pit_id = response.get("pit_id", pit_id)
                hits = response["hits"]["hits"]
                if response.get("_sessionwatch_sourceless"):
                    fill_sources(self.client, hits)
                if not hits:
                    if carry and not self.stop.is_set():
                        total += self._page(engine, carry)
                    break
                search_after = hits[-1]["sort"]
                pending = carry + [
                    read for read in map(_read, hits) if not self._position.skips(read[0], read[1])
                ]
                if not pending:
                    continue
                last = pending[-1][0]
                carry = [read for read in pending if read[0] == last]
                written = self._page(engine, [read for read in pending if read[0] < last])
                total, pages = total + written, pages + (written > 0)
        finally:
            with contextlib.suppress(ApiError, TransportError):  # it expires by itself
                self.client.close_point_in_time(id=pit_id)
        return total

    def _verdict(self, hit: dict[str, Any]) -> Verdict:
        if self.share is None:
            return "own"
        if "_source" not in hit:  # unreadable: no actor known, partition 0 dead-letters it
            return "own" if self.share.partition == 0 else "skip"
        return self.share.classify(hit["_source"])

    def _page(self, engine: Engine, reads: list[Read]) -> int:
        """Enrich, write and checkpoint whole instants: events sharing an ``@timestamp`` are fed
        in ``index/_id`` order, so the facts do not depend on page boundaries or restarts."""
        fresh = sorted(reads, key=lambda read: (read[0], read[1]))
        if not fresh:
            return 0
        letters: list[dict[str, Any]] = []
        lines: list[str] = []
        numbers: list[int] = []  # the position in ``fresh`` of each line
        observed: set[int] = set()  # another partition's events fed for their effect only
        owned = 0
        for number, (_, key, hit) in enumerate(fresh):
            verdict = self._verdict(hit)
            if verdict == "skip":
                continue
            if verdict == "observe":
                observed.add(len(lines))
            else:
                owned += 1
            line = _line(hit)
            if isinstance(line, Unreadable):  # one event never stops the stream
                if verdict == "observe":
                    continue
                letters.append({"source": key, "reason": line.reason, "raw": None})
                continue
            lines.append(line)
            numbers.append(number)
        docs: list[tuple[str, dict[str, Any]]] = []
        origins: dict[str, tuple[str, str]] = {}  # document id -> (source key, input line)
        for out in engine.process(lines, first_line=0):
            if out.line in observed:
                continue
            key = fresh[numbers[out.line]][1]
            if out.dead is not None:
                letters.append({"source": key, "reason": out.dead.reason, "raw": out.dead.raw})
            elif out.doc is not None:
                doc_id = (
                    document_id(out.doc)
                    if out.enriched
                    else "raw-" + hashlib.sha256(key.encode()).hexdigest()[:40]
                )
                docs.append((doc_id, out.doc))
                origins[doc_id] = (key, lines[out.line])
        report = index_documents(self.client, self.dest, docs, refresh=False)
        refused = [f for f in report.failed if 400 <= f["status"] < 500 and f["status"] not in RETRY_STATUSES]
        if len(refused) < len(report.failed):  # the cluster, not the events: retry the page
            failed = next(f for f in report.failed if f not in refused)
            raise ClusterDown(
                f"{len(report.failed) - len(refused)} enriched events not written to {self.dest}: "
                f"{failed['status']} {_error_type(failed['error'])}"
            )
        for item in refused:  # the events themselves (a value the mapping refuses): dead letter
            key, raw = origins[str(item["id"])]
            reason = f"Elasticsearch rejected it: HTTP {item['status']} {_error_type(item['error'])}"
            letters.append({"source": key, "reason": reason, "raw": raw})
        position = self._position.after([(ts, key) for ts, key, _ in fresh])
        data = {
            "position": position.as_doc(),
            "engine": json.dumps(engine.state(), ensure_ascii=False, separators=(",", ":")),
            "source": self.source,
            "dest": self.dest,
        }
        for letter in letters:  # before the checkpoint: a crash may repeat a letter, never lose one
            self.dead(letter)
        self.fence()
        previous = self._stored or Stored(None)
        self._stored = self.store.put(self.doc_id, "follow", data, previous, iso(utc_now()))
        self._position = position
        self.summary.pages += 1
        self.summary.read += owned
        self.summary.foreign += len(fresh) - owned
        self.summary.indexed += report.indexed
        self.summary.dead_letter += len(letters)
        log.info(
            "follow: page of %d, indexed %d, dead %d, up to %d",
            len(fresh),
            report.indexed,
            len(letters),
            position.timestamp or 0,
        )
        return len(fresh)


@dataclass(frozen=True)
class Unreadable:
    reason: str


def _line(hit: dict[str, Any]) -> str | Unreadable:
    """The hit's source as one JSON line, or why it cannot be one."""
    if UNREADABLE in hit:
        return Unreadable(str(hit[UNREADABLE]))
    try:
        return json.dumps(hit["_source"], sort_keys=True, ensure_ascii=False)
    except (RecursionError, ValueError, TypeError) as exc:
        return Unreadable(f"its source cannot be written as JSON ({type(exc).__name__})")


def _error_type(error: Any) -> str:
    return str(error.get("type")) if isinstance(error, dict) else str(error)


def default_follower_id(source: str, dest: str) -> str:
    return hashlib.sha256(f"{source}\x1f{dest}".encode()).hexdigest()[:16]
