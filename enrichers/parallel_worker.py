"""One worker of a partitioned run (see ``parallel``): it maps blocks of raw lines for the parent
(reading them from the input file itself when there is one), and it runs the session stage for
the sessions it owns.

What travels, per event: the worker that maps it sends the parent only its canonical values (no
text; the document, as its line, only when a stream-scoped enricher may read it: ``LazyDoc``)
and keeps the event for the session stage: in its own ``held`` events when it owns the event's
session, else sent straight to the owner (one message per block and owner, never through the
parent). The parent answers each owner, in time order, with the event's line
key and its stream-scoped facts; the owner appends the facts to the line and returns its
output lines with its next answer (joined: ``parallel_output``), for the parent to write in order.
"""

from __future__ import annotations

import dataclasses
import io
import operator
import os
import zlib
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent, Enricher, event_maker
from sessionwatch.enrichers.canonical import BadEvent
from sessionwatch.enrichers.engine import Back, EngineOptions, configure
from sessionwatch.enrichers.lazy_doc import LazyDoc
from sessionwatch.enrichers.mapper import Mapped, Mapper
from sessionwatch.enrichers.output import (
    Counts,
    DeadLetter,
    Output,
    append_facts,
    appendable,
    dead_reason,
    splice,
)
from sessionwatch.enrichers.parallel_output import Packed, Unwritten, pack
from sessionwatch.enrichers.profiles import Profile, ProfileRegistry
from sessionwatch.enrichers.timefmt import isoformat
from sessionwatch.rules.errors import EnrichError

# what a worker's inbox holds: lines to map, events to enrich, the end of the input (answer the
# ``Result``), the end of the run; each message with where to write its next output lines (when
# it writes them itself: ``parallel_output``), or None
MAP, BACK, STOP, END = 0, 1, 2, 3
# what its outbox holds: an ``Answer`` to a chunk, its ``Result`` (after STOP), (DONE,) when it
# has written its last lines (after END); or, when it cannot write into the output file,
# (FAILED, errno, message) before it stops
ANSWER, RESULT, FAILED, DONE = 0, 1, 2, 3
# the document the parent's copy of an event shows when no stream-scoped enricher reads it
NO_DOC: Mapping[str, Any] = MappingProxyType({})

# a mapped event as the owner holds it: (its canonical values but the document, its line
# right-stripped, the document when the facts cannot simply be appended to the line else None,
# the line as a dead letter shows it). Not the event itself: its document, nearly always not
# needed, would stay in memory until the event's turn comes (thousands of events: the memory
# they take costs more than rebuilding the event, whose document is then read from its line
# only if an enricher looks at it: ``LazyDoc``)
Held = tuple[tuple[Any, ...], str, Mapping[str, Any] | None, str]
# a mapped event sent to its owner: (line number, canonical values but the document, line
# right-stripped, the document or None, the line when it differs from the stripped one else None)
Forwarded = tuple[int, tuple[Any, ...], str, Mapping[str, Any] | None, str | None]
# an answer to a block: its number, how many lines it held; per non-blank line its parent's copy (a tuple:
# line key, owner, repaired fields, the timestamp as ``isoformat`` writes it or None, then the
# canonical values)
# or its ``Output`` (a dead letter, or a line passed through); then the output lines written
# since the last answer (``Packed``: a dead letter's is empty), and those dead letters
Answer = tuple[int, int, int, list[Any], Packed, list[DeadLetter]]
# the end of the input: (RESULT, the last output lines, their dead letters, counts and state)
Result = tuple[int, Packed, list[DeadLetter], dict[str, Any]]


def partition(session_id: str | None, line: int, workers: int) -> int:
    """The worker owning an event's session (CRC-32: stable across processes); an event without
    a session goes to any worker, by its line."""
    if session_id is None:
        return line % workers
    return zlib.crc32(session_id.encode("utf-8", "surrogatepass")) % workers


@cache
def _shipped() -> tuple[Callable[[CanonicalEvent], tuple[Any, ...]], int]:
    """A reader of every ``CanonicalEvent`` field but ``doc`` (as one tuple), and where ``doc``
    goes back in."""
    names = [f.name for f in dataclasses.fields(CanonicalEvent)]
    at = names.index("doc")
    return operator.attrgetter(*names[:at], *names[at + 1 :]), at


def unship(fields: tuple[Any, ...], doc: Mapping[str, Any] | None) -> CanonicalEvent:
    _, at = _shipped()
    make: Callable[..., CanonicalEvent] = CanonicalEvent
    return make(*fields[:at], doc if doc is not None else {}, *fields[at:])


# a block of input lines: whole lines as bytes (read from a stream: split here), a list of lines
# (from any other iterable), or (start, end): the lines of the input file that start in that
# byte range, for the worker to read (``read_block``)
Block = bytes | list[bytes | str] | tuple[int, int]
# the input file the workers read their blocks from: (its descriptor, where its first line starts)
Source = tuple[int, int]
# a line's key: its block's number, then its place in the block (from 0). Keys sort as lines
# do; the parent turns them into line numbers, which it learns block by block (``Answer``)
LINE_BITS = 32


def read_block(source: Source, start: int, end: int) -> bytes:
    """The lines of the input file that start in the byte range [start, end), whole (the last
    one read to its newline, or to the end of the file)."""
    fd, origin = source
    first = start if start == origin else _line_end(fd, start - 1)
    if first >= end:  # one line started before this range and runs through it
        return b""
    return os.pread(fd, _line_end(fd, end - 1) - first, first)


def _line_end(fd: int, at: int) -> int:
    """Where the line holding byte ``at`` of the file ends: after its newline, or at the end."""
    step = 1 << 12
    while True:
        data = os.pread(fd, step, at)
        found = data.find(b"\n")
        if found >= 0:
            return at + found + 1
        if len(data) < step:
            return at + len(data)
        at, step = at + step, min(step * 4, 1 << 20)


def block_lines(block: bytes) -> list[bytes | str]:
    """The lines of a block of whole lines, as iterating a binary stream gives them (each with
    its ``\\n``; ``readlines`` finds them with ``memchr``, where ``split`` tests byte by byte)."""
    lines: list[Any] = io.BytesIO(block).readlines()  # (the buffer is the block's: not copied)
    return lines


def _no_stamp(moment: float) -> None:
    return None


def stream_fields(enrichers: Iterable[Enricher]) -> tuple[str, ...]:
    """The ``CanonicalEvent`` fields of the parent's copy of an event: the timestamp (for the
    reorder window) and those the stream-scoped ``enrichers`` declare they read (``reads``), in
    field order; every field, ``doc`` included, when one of them declares nothing (or its
    ``facts`` was replaced on the instance: the declaration is its class's)."""
    names = [f.name for f in dataclasses.fields(CanonicalEvent)]
    wanted = {"timestamp"}
    for enricher in enrichers:
        reads = getattr(enricher, "reads", None)
        if reads is None or "facts" in getattr(enricher, "__dict__", {}):
            return tuple(names)
        unknown = set(reads) - set(names)
        if unknown:
            raise EnrichError(f"enricher {enricher.name} reads {sorted(unknown)}: not event fields")
        wanted.update(reads)
    return tuple(name for name in names if name in wanted)


def _reader(names: tuple[str, ...]) -> Callable[[CanonicalEvent], tuple[Any, ...]]:
    """``names`` of an event, as one tuple."""
    if len(names) == 1:
        (name,) = names
        return lambda event: (getattr(event, name),)
    return operator.attrgetter(*names)


@cache
def stream_event_type(names: tuple[str, ...] | None = None) -> type[tuple[Any, ...]]:
    """The parent's copy of an event: a named tuple (line, owner, repaired, stamp, then the
    ``CanonicalEvent`` fields ``names``, by default every one) that reads like a
    ``CanonicalEvent`` (its properties; ``doc`` empty when it is not among ``names``). Built
    straight from a worker's answer tuple, it costs a fraction of a frozen dataclass."""
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(CanonicalEvent))
    base = namedtuple("StreamEvent", ["line", "owner", "repaired", "stamp", *names])  # type: ignore[misc]
    members: dict[str, Any] = {"__slots__": ()} if "doc" in names else {"__slots__": (), "doc": NO_DOC}
    members.update({k: v for k, v in vars(CanonicalEvent).items() if isinstance(v, property)})
    made: type[tuple[Any, ...]] = type("StreamEvent", (base,), members)
    return made


@dataclass(frozen=True)
class WorkerSetup:
    index: int
    workers: int
    enrichers: list[Enricher]  # the session-scoped ones
    options: EngineOptions
    sessions: dict[str, Any]  # the saved state of the sessions this worker owns
    profiles: ProfileRegistry
    forced_profile: Profile | None
    stamps: bool = True  # whether the parent runs stream-scoped enrichers (``Answer``'s stamp)
    to_parent: tuple[str, ...] | None = None  # the fields of the parent's copy (``stream_fields``)
    source: Source | None = None  # the input file, when the workers read their blocks from it
    output: int | None = None  # the output file, when the workers write their lines into it
    keep_state: bool = True  # whether the ``Result`` carries the sessions (the state to save)


@dataclass(frozen=True)
class Channels:
    # from the parent: (MAP, (block number, ``Block``), places), (BACK, [(line key, facts or
    # reason)], places), (STOP, None, places), (END, None, places); places: ``Places`` or None
    inbox: Any
    outbox: Any  # to the parent: an ``Answer`` per block, then a ``Result``
    peers: list[Any]  # every worker's inbox of forwarded events (its own included, never used)


class Worker:
    def __init__(self, setup: WorkerSetup, channels: Channels) -> None:
        self.index, self.workers = setup.index, setup.workers
        self.counts = Counts()
        configure(setup.enrichers, setup.options)
        self.back = Back(setup.enrichers, setup.options.limits, self.counts)
        self.back.store.load(setup.sessions)
        self.mapper = Mapper(setup.profiles, setup.forced_profile, Counts())
        self.stamps = setup.stamps
        self.to_parent = _reader(setup.to_parent) if setup.to_parent is not None else _shipped()[0]
        # where the document goes in the parent's copy (sent as its line: ``LazyDoc``), if it does
        wanted = setup.to_parent or ()
        self.doc_at = wanted.index("doc") if "doc" in wanted else None
        self.channels = channels
        self.source = setup.source
        self.keep_state = setup.keep_state
        self.held: dict[int, Held] = {}
        self.written: list[str] = []  # output lines since the last answer; "" for a dead letter
        self.unwritten = Unwritten(setup.output) if setup.output is not None else None
        self.dead: list[DeadLetter] = []  # the dead letters of those ""

    def run(self) -> None:
        inbox, outbox = self.channels.inbox, self.channels.outbox
        while True:
            kind, payload, places = inbox.get()
            if kind == MAP:
                lines, mapped = self.map_chunk(payload)
                outbox.put((ANSWER, payload[0], lines, mapped, *self._take_written()))
            elif kind == BACK:
                self.enrich(payload)
            elif kind == STOP:
                outbox.put((RESULT, *self._take_written(), self._result()))
            if places is not None:  # (after the answer: the parent waits for that, not for this)
                assert self.unwritten is not None
                try:
                    self.unwritten.write(places)
                except OSError as exc:  # (a full disk, a size limit): the run's error, said once
                    outbox.put((FAILED, exc.errno, exc.strerror or str(exc)))
                    raise SystemExit(1) from None
            if kind == END:
                outbox.put((DONE,))
                break

    def _result(self) -> dict[str, Any]:
        store = self.back.store
        return {
            "out_of_order": self.counts.out_of_order,
            "state_evicted": self.counts.state_evicted,
            "dead_letter": self.counts.dead_letter,
            "evicted_for_memory": store.evicted_cap,
            "store": store.to_json() if self.keep_state else None,
            "open_sessions": len(store.sessions),
            "profiles": self.mapper.counts.profiles,
        }

    def _take_written(self) -> tuple[Packed, list[DeadLetter]]:
        written, dead = self.written, self.dead
        self.written, self.dead = [], []
        return (pack(written) if self.unwritten is None else self.unwritten.keep(written)), dead

    def map_chunk(self, chunk: tuple[int, Any]) -> tuple[int, list[Any]]:
        """Map the lines of block number ``block`` (see ``Block``): how many lines it held, and
        the parent's copy of each event (see ``Answer``); each event itself is held here or
        sent to its owner. A line's number here is its key (see ``LINE_BITS``)."""
        fields, _ = _shipped()
        index, workers, held, map_line = self.index, self.workers, self.held, self.mapper.map
        stamp = isoformat if self.stamps else _no_stamp
        to_parent, doc_at = self.to_parent, self.doc_at
        forwarded: dict[int, list[Forwarded]] = {}
        block, given = chunk
        if isinstance(given, tuple):
            assert self.source is not None  # (ranges are sent only when there is a file)
            given = read_block(self.source, *given)
        raws = block_lines(given) if isinstance(given, bytes) else given
        out: list[Any] = []
        append = out.append
        for number, raw in enumerate(raws, start=block << LINE_BITS):
            mapped = map_line(number, raw)
            if type(mapped) is Mapped:
                event, text = mapped.event, mapped.text
                stripped = text.rstrip()
                doc = None if appendable(stripped, event.doc) else event.doc
                values = fields(event)
                owner = partition(event.session_id, number, workers)
                if owner == index:
                    held[number] = (values, stripped, doc, text)
                else:
                    again = None if stripped is text else text
                    found = forwarded.get(owner)
                    if found is None:
                        forwarded[owner] = [(number, values, stripped, doc, again)]
                    else:
                        found.append((number, values, stripped, doc, again))
                # the text of its timestamp, which mapping it noted here: the parent notes it too
                # (``remember``), for the stream-scoped facts that write it
                copy = to_parent(event)
                if doc_at is not None:  # a stream-scoped enricher may read it: its line travels
                    copy = (*copy[:doc_at], LazyDoc(text), *copy[doc_at + 1 :])
                append((number, owner, mapped.repaired, stamp(event.timestamp), *copy))
            elif isinstance(mapped, Output):
                if mapped.dead is None:  # passed through: its text is all the parent writes
                    mapped = Output(mapped.line, raw=mapped.raw, facts=mapped.facts, written=mapped.written)
                append(mapped)
        peers = self.channels.peers
        for owner, events in forwarded.items():
            peers[owner].put(events)  # before the answer: the parent releases them only after it
        return len(raws), out

    def _held(self, line: int) -> Held:
        """The event mapped at ``line``: held here, or still on its way from the worker that
        mapped it (it sent the event before its answer, so it comes)."""
        found = None
        peers = self.channels.peers[self.index]
        while found is None:  # (should the sender die, the parent stops every worker)
            events: list[Forwarded] = peers.get()
            for number, values, stripped, doc, again in events:
                self.held[number] = (values, stripped, doc, stripped if again is None else again)
            found = self.held.pop(line, None)
        return found

    def enrich(self, batch: list[tuple[int, Any]]) -> None:
        """(line, stream-scoped facts) in time order: the session stage, then the output line
        (with its newline). A reason (a str) instead of facts: the parent dead-lettered the
        event (a stream-scoped enricher failed); its dead letter is written here, where its
        text is."""
        facts_of, written, dead, held = self.back.facts, self.written, self.dead, self.held
        make, at = event_maker(), _shipped()[1]
        for line, stream_facts in batch:
            found = held.pop(line, None)
            values, stripped, doc, text = self._held(line) if found is None else found
            if type(stream_facts) is str:
                written.append("")
                dead.append(DeadLetter(line, stream_facts, text))
                continue
            try:  # a failure here is this event's alone
                event = make(*values[:at], LazyDoc(text) if doc is None else doc, *values[at:])
                facts = facts_of(event, stream_facts)
                if doc is None:
                    written.append(append_facts(stripped, facts) + "\n")
                else:
                    written.append(splice(text, doc, facts) + "\n")
            except Exception as exc:
                reason = str(exc) if isinstance(exc, BadEvent) else dead_reason(exc)
                self.counts.dead_letter += 1
                written.append("")
                dead.append(DeadLetter(line, reason, text))


def work(setup: WorkerSetup, channels: Channels) -> None:
    """A worker process's whole life."""
    Worker(setup, channels).run()
