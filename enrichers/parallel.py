"""Run the engine over a stream: in one process, or with the session stage in N workers.

With ``workers > 1`` this process parses, reorders and runs the stream-scoped enrichers (the
front) and numbers every output; each worker owns the sessions whose key hashes to it (CRC-32,
stable across processes) and runs the session-scoped enrichers (the back). Outputs are merged
back by number, so the result is the same, line for line, as with one process.
"""

from __future__ import annotations

import gc
import heapq
import json
import multiprocessing
import queue
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sessionwatch.enrichers.base import Enricher
from sessionwatch.enrichers.canonical import BadEvent, canonicalize
from sessionwatch.enrichers.engine import (
    Back,
    Counts,
    DeadLetter,
    Engine,
    EngineOptions,
    Front,
    Output,
    check_state,
    configure,
    dead_reason,
    splice,
    split_enrichers,
)
from sessionwatch.enrichers.profiles import Profile, ProfileRegistry
from sessionwatch.enrichers.state import STATE_FORMAT
from sessionwatch.rules.errors import EnrichError

BATCH = 512
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


def _worker(
    index: int,
    inbox: Any,
    profiles: ProfileRegistry,
    enrichers: list[Enricher],
    options: EngineOptions,
    sessions: dict[str, Any],
    folder: str,
) -> None:
    counts = Counts()
    configure(enrichers, options)
    back = Back(enrichers, options.limits, counts)
    back.store.load(sessions)
    with (
        open(Path(folder, f"shard-{index}"), "w", encoding="utf-8") as shard,
        open(Path(folder, f"dead-{index}"), "w", encoding="utf-8") as dead,
    ):
        while True:
            batch = inbox.get()
            if batch is None:
                break
            for seq, line, profile_name, raw, facts in batch:
                try:  # the front parsed this text already; a failure here is this event's alone
                    source = json.loads(raw)
                    event = canonicalize(source, profiles.get(profile_name), raw)
                    written = splice(raw, source, back.facts(event, facts))
                except Exception as exc:
                    reason = str(exc) if isinstance(exc, BadEvent) else dead_reason(exc)
                    dead.write(DeadLetter(line, reason, raw).to_json() + "\n")
                    counts.dead_letter += 1
                    continue
                shard.write(f"{seq}\t{written}\n")
    result = {
        "out_of_order": counts.out_of_order,
        "state_evicted": counts.state_evicted,
        "dead_letter": counts.dead_letter,
        "evicted_for_memory": back.store.evicted_cap,
        "store": back.store.to_json(),
    }
    Path(folder, f"result-{index}.json").write_text(json.dumps(result), encoding="utf-8")


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


def _merge(paths: list[Path]) -> Iterator[str]:
    handles: list[IO[str]] = [p.open(encoding="utf-8") for p in paths]
    try:
        streams = [((int(line.split("\t", 1)[0]), line) for line in handle) for handle in handles]
        for _, line in heapq.merge(*streams, key=lambda item: item[0]):
            yield line.split("\t", 1)[1]
    finally:
        for handle in handles:
            handle.close()


def _run_parallel(lines: Iterable[bytes | str], job: Job) -> Result:
    profiles, options, workers, state = job.profiles, job.options, job.workers, job.state
    stream, session = split_enrichers(job.enrichers)
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
        processes = [
            context.Process(
                target=_worker,
                args=(i, inboxes[i], profiles, session, options, initial[i], folder),
                name=f"enrich-{i}",
                daemon=True,
            )
            for i in range(workers)
        ]
        for process in processes:
            process.start()
        try:
            _feed(lines, job, front, inboxes, processes, Path(folder, "shard-front"), counts)
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
            result = json.loads(Path(folder, f"result-{i}.json").read_text(encoding="utf-8"))
            counts.out_of_order += result["out_of_order"]
            counts.state_evicted += result["state_evicted"]
            counts.enriched -= result["dead_letter"]
            counts.dead_letter += result["dead_letter"]
            counts.evicted_for_memory += result["evicted_for_memory"]
            with Path(folder, f"dead-{i}").open(encoding="utf-8") as letters:
                for text in letters:
                    letter = json.loads(text)
                    job.dead(DeadLetter(letter["line"], letter["reason"], letter["raw"]))
            merged_state["sessions"].update(result["store"]["sessions"])
            merged_state["tombstones"].update(result["store"]["tombstones"])
        shards = [Path(folder, "shard-front"), *(Path(folder, f"shard-{i}") for i in range(workers))]
        for line in _merge(shards):
            job.write(line)
    return Result(counts, merged_state, len(merged_state["sessions"]))


def _feed(
    lines: Iterable[bytes | str],
    job: Job,
    front: Front,
    inboxes: list[Any],
    processes: list[Any],
    own_shard: Path,
    counts: Counts,
) -> None:
    workers = len(inboxes)
    batches: list[list[tuple[int, int, str, str, dict[str, Any]]]] = [[] for _ in range(workers)]
    seq = 0

    def route(item: Any) -> None:
        nonlocal seq
        seq += 1
        if isinstance(item, Output):
            if item.dead is not None:
                job.dead(item.dead)
            elif item.raw is not None:
                shard.write(f"{seq}\t{item.text()}\n")
            return
        target = partition(item.event.session_id, item.line, workers)
        batch = batches[target]
        batch.append((seq, item.line, item.event.profile, item.raw, item.facts))
        if len(batch) >= BATCH:
            _send(inboxes[target], batch, processes[target])
            batches[target] = []

    with own_shard.open("w", encoding="utf-8") as shard:
        for number, raw in enumerate(_reporting(lines, counts, job.progress), start=1):
            for item in front.feed(number, raw):
                route(item)
        for item in front.flush():
            route(item)
    for target in range(workers):
        if batches[target]:
            _send(inboxes[target], batches[target], processes[target])
        _send(inboxes[target], None, processes[target])
