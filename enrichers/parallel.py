"""Run the engine over a stream: in one process, or with the work spread over N workers.

With ``workers > 1`` this process only reads lines, reorders and runs the stream-scoped
enrichers (the front's ordered part) and numbers every output. The workers do the rest: each
maps whole chunks of raw lines (parse, profile, admission, canonical values: most of the cost)
and sends back the canonical values, and each owns the sessions whose key hashes to it (CRC-32,
stable across processes) and runs the session-scoped enrichers (the back) on the events this
process routes to it. Outputs are merged back by number, so the result is the same, line for
line, as with one process.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import json
import multiprocessing
import operator
import pickle
import queue
import tempfile
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any

from sessionwatch.enrichers.base import CanonicalEvent, Enricher
from sessionwatch.enrichers.canonical import BadEvent
from sessionwatch.enrichers.engine import (
    Back,
    Engine,
    EngineOptions,
    Front,
    Released,
    check_state,
    configure,
    split_enrichers,
)
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
from sessionwatch.enrichers.profiles import Profile, ProfileRegistry
from sessionwatch.enrichers.state import STATE_FORMAT
from sessionwatch.rules.errors import EnrichError

BATCH = 512
CHUNK = 256  # raw lines a worker maps at a time
IN_FLIGHT = 3  # chunks per worker sent and not yet mapped back
MAP, BACK, DROP = 0, 1, 2  # what a worker's inbox holds: lines to map, events to enrich, a dead letter
# the document of a mapped event whose facts are simply appended to its line (nearly all): it
# stays with the worker that mapped it
APPENDABLE: Mapping[str, Any] = MappingProxyType({})
# the text of a mapped event that stays with the worker that mapped it, because it also owns
# the event's session: only the canonical values travel to this process, and only the
# stream-scoped facts travel back
KEPT = "(kept by its worker)"
PROGRESS_EVERY = 10_000
Progress = Callable[[Counts], None]


@dataclass
class Result:
    counts: Counts
    state: dict[str, Any] = field(default_factory=dict)
    open_sessions: int = 0


@dataclass(frozen=True, kw_only=True)
class Job:
    """One enrichment run: where its output goes, what it enriches with, and what it starts from."""

    write: Callable[[str], Any]  # one NDJSON line each, newline included
    dead: Callable[[DeadLetter], Any]
    profiles: ProfileRegistry
    enrichers: tuple[Enricher, ...]
    forced_profile: Profile | None = None
    options: EngineOptions = field(default_factory=EngineOptions)
    workers: int = 1
    state: Mapping[str, Any] | None = None
    progress: Progress | None = None


def partition(session_id: str | None, line: int, workers: int) -> int:
    if session_id is None:
        return line % workers
    return zlib.crc32(session_id.encode("utf-8", "surrogatepass")) % workers


def run(
    lines: Iterable[bytes | str],
    write: Callable[[str], Any],
    dead: Callable[[DeadLetter], Any],
    *,
    profiles: ProfileRegistry,
    enrichers: Iterable[Enricher],
    forced_profile: Profile | None = None,
    options: EngineOptions | None = None,
    workers: int = 1,
    state: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> Result:
    """Enrich ``lines``: documents to ``write`` (one NDJSON line each, newline included), bad
    lines to ``dead``. Returns the counts and the state to save."""
    job = Job(
        write=write,
        dead=dead,
        profiles=profiles,
        enrichers=tuple(enrichers),
        forced_profile=forced_profile,
        options=options or EngineOptions(),
        workers=workers,
        state=state,
        progress=progress,
    )
    with _fewer_collections():
        return _run_single(lines, job) if job.workers <= 1 else _run_parallel(lines, job)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Session state is millions of small acyclic dicts and lists: the cyclic collector's full
    passes over them cost ~15 % of the run and find nothing, so collect far less often."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _run_single(lines: Iterable[bytes | str], job: Job) -> Result:
    engine = Engine(job.profiles, job.enrichers, forced_profile=job.forced_profile, options=job.options)
    if job.state:
        engine.load_state(job.state)
    for out in engine.process(_reporting(lines, engine.counts, job.progress)):
        if out.dead is not None:
            job.dead(out.dead)
        else:
            job.write(out.text() + "\n")
    engine.counts.evicted_for_memory = engine.back.store.evicted_cap
    return Result(engine.counts, engine.state(), engine.open_sessions)


def _reporting(
    lines: Iterable[bytes | str], counts: Counts, progress: Progress | None
) -> Iterator[bytes | str]:
    """``lines``, calling ``progress`` every ``PROGRESS_EVERY`` lines consumed."""
    if progress is None:
        yield from lines
        return
    for number, line in enumerate(lines, start=1):
        yield line
        if number % PROGRESS_EVERY == 0:
            progress(counts)


@cache
def _shipped() -> tuple[Callable[[CanonicalEvent], tuple[Any, ...]], int]:
    """A reader of every ``CanonicalEvent`` field but ``doc`` (as one tuple), and where ``doc``
    goes back in: the front sends workers the event it mapped, never the input to map again."""
    names = [f.name for f in dataclasses.fields(CanonicalEvent)]
    at = names.index("doc")
    return operator.attrgetter(*names[:at], *names[at + 1 :]), at


Shipped = tuple[tuple[Any, ...], str, dict[str, Any], Mapping[str, Any] | None, int]


def ship(item: Released) -> Shipped | tuple[int, dict[str, Any]]:
    """What a worker needs of a released event: its canonical values, its line (right-stripped
    when the facts can simply be appended, which is nearly always; then the document stays
    here), the stream-scoped facts, the document only when it has to be written whole, and its
    input line number (for a dead letter)."""
    if item.raw is KEPT:
        return item.line, item.facts
    fields, _ = _shipped()
    text = item.raw.rstrip()
    if item.event.doc is APPENDABLE or appendable(text, item.event.doc):
        return fields(item.event), text, item.facts, None, item.line
    return fields(item.event), item.raw, item.facts, item.event.doc, item.line


def unship(fields: tuple[Any, ...], doc: Mapping[str, Any] | None) -> CanonicalEvent:
    _, at = _shipped()
    make: Callable[..., CanonicalEvent] = CanonicalEvent
    return make(*fields[:at], doc if doc is not None else {}, *fields[at:])


MappedBack = tuple[int, tuple[Any, ...], str | None, dict[str, Any] | None, Mapping[str, Any] | None]
# what a worker keeps of the events it mapped and owns: line -> (event, text, document or None)
Kept = dict[int, tuple[CanonicalEvent, str, Mapping[str, Any] | None]]


def map_chunk(
    mapper: Mapper, chunk: tuple[int, list[bytes | str]], owner: tuple[int, int], kept: Kept
) -> list[Output | MappedBack]:
    """Map raw lines (numbered from the chunk's first): per non-blank line, its ``Output`` (a
    dead letter or a line passed through, written by the front) or its mapped event as (line,
    canonical values, text, repaired fields, the document only when the facts cannot simply be
    appended). ``owner``: (this worker, workers); the text and document of an event whose
    session this worker owns stay in ``kept`` and travel as None."""
    fields, _ = _shipped()
    index, workers = owner
    first, raws = chunk
    out: list[Output | MappedBack] = []
    for number, raw in enumerate(raws, start=first):
        mapped = mapper.map(number, raw)
        if type(mapped) is Mapped:
            event, text = mapped.event, mapped.text
            stripped = text.rstrip()
            doc = None if appendable(stripped, event.doc) else event.doc
            if partition(event.session_id, number, workers) == index:
                kept[number] = (event, stripped, None) if doc is None else (event, text, doc)
                out.append((number, fields(event), None, mapped.repaired, None))
            else:
                out.append((number, fields(event), text, mapped.repaired, doc))
        elif isinstance(mapped, Output):
            if mapped.dead is None:  # passed through: its text is all the front needs
                mapped = Output(mapped.line, raw=mapped.raw, facts=mapped.facts, written=mapped.written)
            out.append(mapped)
    return out


def remap(item: MappedBack) -> Mapped:
    """A worker's mapped event as the front holds it (the document: ``APPENDABLE`` when it stayed)."""
    line, fields, text, repaired, doc = item
    event = unship(fields, doc if doc is not None else APPENDABLE)
    return Mapped(line, event, KEPT if text is None else text, repaired)


@dataclass(frozen=True)
class WorkerSetup:
    index: int
    enrichers: list[Enricher]  # the session-scoped ones
    options: EngineOptions
    sessions: dict[str, Any]  # the saved state of the sessions this worker owns
    folder: str
    profiles: ProfileRegistry
    forced_profile: Profile | None
    workers: int


def _worker(setup: WorkerSetup, inbox: Any, outbox: Any) -> None:
    counts = Counts()
    configure(setup.enrichers, setup.options)
    back = Back(setup.enrichers, setup.options.limits, counts)
    back.store.load(setup.sessions)
    mapper = Mapper(setup.profiles, setup.forced_profile, Counts())
    kept: Kept = {}
    owner = (setup.index, setup.workers)
    facts_of = back.facts
    folder, index = setup.folder, setup.index
    with (
        open(Path(folder, f"shard-{index}"), "w", encoding="utf-8") as shard,
        open(Path(folder, f"dead-{index}"), "w", encoding="utf-8") as dead,
    ):
        write = shard.write
        while True:
            message = inbox.get()
            if message is None:
                break
            kind, payload = message
            if kind == MAP:
                outbox.put(map_chunk(mapper, payload, owner, kept))
                continue
            if kind == DROP:  # an event of ours the front dead-lettered (a stream-scoped enricher failed)
                line, reason = payload
                found = kept.pop(line, None)
                if found is not None:
                    dead.write(DeadLetter(line, reason, found[1]).to_json() + "\n")
                continue
            for shipped in payload:
                if len(shipped) == 2:  # mapped here: only its line and stream-scoped facts came back
                    line, stream_facts = shipped
                    event, raw, doc = kept.pop(line)
                else:
                    fields, raw, stream_facts, doc, line = shipped
                    event = unship(fields, doc)
                try:  # a failure here is this event's alone
                    facts = facts_of(event, stream_facts)
                    written = append_facts(raw, facts) if doc is None else splice(raw, doc, facts)
                except Exception as exc:
                    reason = str(exc) if isinstance(exc, BadEvent) else dead_reason(exc)
                    dead.write(DeadLetter(line, reason, raw).to_json() + "\n")
                    counts.dead_letter += 1
                    write("\n")  # its place in the output order, left empty
                    continue
                write(written + "\n")
    result = {
        "out_of_order": counts.out_of_order,
        "state_evicted": counts.state_evicted,
        "dead_letter": counts.dead_letter,
        "evicted_for_memory": back.store.evicted_cap,
        "store": back.store.to_json(),
        "profiles": mapper.counts.profiles,
    }
    Path(folder, f"result-{index}.pickle").write_bytes(pickle.dumps(result))


def _receive(outbox: Any, process: Any) -> Any:
    while True:
        try:
            return outbox.get(timeout=1.0)
        except queue.Empty:
            if not process.is_alive():
                raise EnrichError(
                    f"enrich worker {process.name} stopped (exit code {process.exitcode})"
                ) from None


def _send(inbox: Any, item: Any, process: Any) -> None:
    while True:
        try:
            inbox.put(item, timeout=1.0)
            return
        except queue.Full:
            if not process.is_alive():
                raise EnrichError(
                    f"enrich worker {process.name} stopped (exit code {process.exitcode})"
                ) from None


def _merge(paths: list[Path], order: array[int]) -> Iterator[str]:
    """The shards' lines in output order: ``order[i]`` is the shard holding the i-th line."""
    handles: list[IO[str]] = [p.open(encoding="utf-8") for p in paths]
    try:
        readers = [handle.readline for handle in handles]
        for shard in order:
            line = readers[shard]()
            if line != "\n":  # an event the worker dead-lettered
                yield line
    finally:
        for handle in handles:
            handle.close()


def _run_parallel(lines: Iterable[bytes | str], job: Job) -> Result:
    profiles, options, workers, state = job.profiles, job.options, job.workers, job.state
    stream, session = split_enrichers(job.enrichers, options.facts)
    configure(stream, options)
    counts = Counts()
    front = Front(profiles, stream, job.forced_profile, options, counts)
    initial: list[dict[str, Any]] = [{"sessions": {}, "tombstones": {}} for _ in range(workers)]
    if state:
        check_state(state, "state")
        for name, value in state.get("stream", {}).items():
            if name in front.state:
                front.state[name] = value
        for key in ("sessions", "tombstones"):
            for sid, value in state.get(key, {}).items():
                initial[partition(sid, 0, workers)][key][sid] = value
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="sessionwatch-enrich-") as folder:
        inboxes = [context.Queue(maxsize=32) for _ in range(workers)]
        outboxes = [context.Queue() for _ in range(workers)]  # never more than IN_FLIGHT chunks each
        processes = [
            context.Process(
                target=_worker,
                args=(
                    WorkerSetup(
                        i, session, options, initial[i], folder, profiles, job.forced_profile, workers
                    ),
                    inboxes[i],
                    outboxes[i],
                ),
                name=f"enrich-{i}",
                daemon=True,
            )
            for i in range(workers)
        ]
        for process in processes:
            process.start()
        try:
            own = Path(folder, "shard-front")
            order = _feed(lines, job, front, (inboxes, outboxes, processes), own, counts)
        except BaseException:
            for process in processes:
                process.terminate()
            raise
        for process in processes:
            process.join()
        failed = [p for p in processes if p.exitcode != 0]
        if failed:
            raise EnrichError(f"enrich worker {failed[0].name} failed (exit code {failed[0].exitcode})")
        merged_state: dict[str, Any] = {
            "format": STATE_FORMAT,
            "stream": front.state,
            "sessions": {},
            "tombstones": {},
        }
        for i in range(workers):
            result = pickle.loads(Path(folder, f"result-{i}.pickle").read_bytes())  # noqa: S301 - our own child's file
            counts.out_of_order += result["out_of_order"]
            counts.state_evicted += result["state_evicted"]
            counts.enriched -= result["dead_letter"]
            counts.dead_letter += result["dead_letter"]
            counts.evicted_for_memory += result["evicted_for_memory"]
            with Path(folder, f"dead-{i}").open(encoding="utf-8") as letters:
                for text in letters:
                    letter = json.loads(text)
                    job.dead(DeadLetter(letter["line"], letter["reason"], letter["raw"]))
            usage, found = counts.profiles, result["profiles"]
            usage.events += found.events
            usage.unclaimed += found.unclaimed
            usage.datasets.update(found.datasets)
            usage.raw.update(found.raw)
            merged_state["sessions"].update(result["store"]["sessions"])
            merged_state["tombstones"].update(result["store"]["tombstones"])
        shards = [*(Path(folder, f"shard-{i}") for i in range(workers)), Path(folder, "shard-front")]
        for line in _merge(shards, order):
            job.write(line)
    return Result(counts, merged_state, len(merged_state["sessions"]))


def _chunks(lines: Iterable[bytes | str]) -> Iterator[tuple[int, list[bytes | str]]]:
    """(number of the first line, up to ``CHUNK`` lines)."""
    source = iter(lines)
    first = 1
    while chunk := list(itertools.islice(source, CHUNK)):
        yield first, chunk
        first += len(chunk)


def _feed(
    lines: Iterable[bytes | str],
    job: Job,
    front: Front,
    channels: tuple[list[Any], list[Any], list[Any]],
    own_shard: Path,
    counts: Counts,
) -> array[int]:
    """Hand chunks of lines to the workers to map (round robin, at most ``IN_FLIGHT`` each
    unanswered, so a worker never waits to send its answer); take the mapped events back in line
    order through the reorder window and the stream-scoped enrichers, and send each released
    event to the worker owning its session. Returns which shard holds each output line (worker
    index, or ``workers`` for the lines written here)."""
    inboxes, outboxes, processes = channels
    workers = len(inboxes)
    batches: list[list[Shipped | tuple[int, dict[str, Any]]]] = [[] for _ in range(workers)]
    order: array[int] = array("H")  # up to 65,535 workers

    def route(item: Output | Released) -> None:
        if isinstance(item, Output):
            if item.dead is not None and item.dead.raw is KEPT:  # its owner has the text
                for target in range(workers):
                    _send(inboxes[target], (DROP, (item.line, item.dead.reason)), processes[target])
            elif item.dead is not None:
                job.dead(item.dead)
            elif item.raw is not None:
                shard.write(f"{item.text()}\n")
                order.append(workers)
            return
        target = partition(item.event.session_id, item.line, workers)
        order.append(target)
        batch = batches[target]
        batch.append(ship(item))
        if len(batch) >= BATCH:
            _send(inboxes[target], (BACK, batch), processes[target])
            batches[target] = []

    def take(mapped: list[Output | MappedBack]) -> None:
        counts.read += len(mapped)
        for entry in mapped:
            if type(entry) is tuple:
                for item in front.push(remap(entry)):
                    route(item)
                continue
            assert isinstance(entry, Output)
            if entry.dead is not None:
                counts.dead_letter += 1
            else:
                counts.passed_through += 1
                counts.repaired += entry.facts is not None
            route(entry)

    chunks = _chunks(_reporting(lines, counts, job.progress))
    sent = answered = 0
    with own_shard.open("w", encoding="utf-8") as shard:
        while True:
            while sent - answered < IN_FLIGHT * workers:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                _send(inboxes[sent % workers], (MAP, chunk), processes[sent % workers])
                sent += 1
            if answered == sent:
                break
            take(_receive(outboxes[answered % workers], processes[answered % workers]))
            answered += 1
        for item in front.flush():
            route(item)
    for target in range(workers):
        if batches[target]:
            _send(inboxes[target], (BACK, batches[target]), processes[target])
        _send(inboxes[target], None, processes[target])
    return order
