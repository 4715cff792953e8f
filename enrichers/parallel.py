"""Run the engine over a stream: in one process, or with the work spread over N workers.

With ``workers > 1`` (``parallel_front``, ``parallel_worker``) each worker maps whole blocks of
raw lines (parse, profile, admission, canonical values: most of the cost; from an input file it
reads its blocks itself) and owns the sessions whose key hashes to it (CRC-32, stable across
processes), for which it runs the session-scoped enrichers (the back) and makes the output
lines (``parallel_output``: joined, one text per message). This process only hands out the blocks, runs
the reorder window and the stream-scoped enrichers (state keyed by token or actor needs one
global time order) on the canonical values the workers send, and writes the workers' output
lines in the order one process would have written them: the result is the same, line for line.
When the output is a regular file, the workers write their lines into it themselves, where the
parent tells them (``parallel_output``): the parent never holds the text.
"""

from __future__ import annotations

import codecs
import fcntl
import gc
import multiprocessing
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import IO, Any, cast

from sessionwatch.enrichers.base import Enricher
from sessionwatch.enrichers.engine import (
    Engine,
    EngineOptions,
    Front,
    check_state,
    configure,
    split_enrichers,
)
from sessionwatch.enrichers.output import Counts, DeadLetter
from sessionwatch.enrichers.parallel_front import PROGRESS_EVERY, Parent, input_file
from sessionwatch.enrichers.parallel_worker import (
    Channels,
    Source,
    WorkerSetup,
    _shipped,
    partition,
    stream_fields,
    unship,
    work,
)
from sessionwatch.enrichers.profiles import Profile, ProfileRegistry
from sessionwatch.enrichers.state import STATE_FORMAT
from sessionwatch.rules.errors import EnrichError

Progress = Callable[[Counts], None]
__all__ = ["Job", "Progress", "Result", "_shipped", "partition", "run", "unship"]


@dataclass
class Result:
    counts: Counts
    state: dict[str, Any] = field(default_factory=dict)
    open_sessions: int = 0


@dataclass(frozen=True, kw_only=True)
class Job:
    """One enrichment run: where its output goes, what it enriches with, and what it starts from."""

    write: Callable[[str], Any]  # whole NDJSON lines, newline included (with workers: many a call)
    dead: Callable[[DeadLetter], Any]
    profiles: ProfileRegistry
    enrichers: tuple[Enricher, ...]
    forced_profile: Profile | None = None
    options: EngineOptions = field(default_factory=EngineOptions)
    workers: int = 1
    state: Mapping[str, Any] | None = None
    progress: Progress | None = None
    output: IO[str] | None = None  # the file ``write`` writes to, for the workers (``run``)
    keep_state: bool = True  # False: ``Result.state`` is left empty (with workers: not gathered)


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
    output: IO[str] | None = None,
    keep_state: bool = True,
) -> Result:
    """Enrich ``lines``: documents to ``write`` (whole NDJSON lines, newline included: one a call
    in one process, many with workers), bad lines to ``dead``. Returns the counts and the state to save.

    ``output``: the text file whose ``write`` is ``write``, when the caller lets the workers
    write their lines into it themselves (it must not translate newlines). They do when it is a
    regular file opened for writing in UTF-8 without ``O_APPEND``; then ``write`` is not called
    and the file stands after the output at the end (as if ``write`` had written it).

    ``keep_state=False``: the caller does not save the state (``Result.state`` stays empty; the
    workers do not send their sessions back at the end, a serial step of the run)."""
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
        output=output,
        keep_state=keep_state,
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
    return Result(engine.counts, engine.state() if job.keep_state else {}, engine.open_sessions)


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


PIPE_BYTES = 1 << 20  # a channel's pipe buffer (Linux's default largest; 64 KiB otherwise)


def _widen(channel: Any) -> None:
    """Give a queue's pipe a buffer that holds a whole message (a block's answer with its output
    lines: a few hundred KiB): one write and one read per message instead of one per 64 KiB,
    each of which woke a thread of the other process and handed the lock of the interpreter
    over. Where the system refuses (not Linux, or a lower limit), the pipe keeps its size."""
    setter = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setter is None:
        return
    with suppress(OSError, AttributeError):  # (``_writer``: the queue's end of its pipe)
        fcntl.fcntl(channel._writer.fileno(), setter, PIPE_BYTES)


def direct_output(output: IO[str] | None, write: Callable[[str], Any]) -> Source | None:
    """Where the workers can write their lines themselves (``parallel_output``): the descriptor
    of ``output`` and where its next byte goes, when ``write`` is its ``write`` and it is a
    regular file opened for writing in strict UTF-8, not appending; else None (a pipe, a
    terminal, another encoding: the parent writes through ``write``)."""
    if output is None or write != getattr(output, "write", None):
        return None
    try:
        encoding = codecs.lookup(cast(Any, output).encoding).name
        fd = output.fileno()
        plain = stat.S_ISREG(os.fstat(fd).st_mode) and not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_APPEND
        if encoding != "utf-8" or getattr(output, "errors", None) != "strict" or not plain:
            return None
        if not output.writable() or os.linesep != "\n":
            return None
        output.flush()
        return fd, os.lseek(fd, 0, os.SEEK_CUR)
    except (AttributeError, LookupError, OSError, ValueError):  # no descriptor, not seekable
        return None


def _run_parallel(lines: Iterable[bytes | str], job: Job) -> Result:
    profiles, options, workers, state = job.profiles, job.options, job.workers, job.state
    stream, session = split_enrichers(job.enrichers, options.facts)
    configure(stream, options)
    counts = Counts()
    front = Front(profiles, stream, job.forced_profile, options, counts)
    shipped = stream_fields(stream)
    initial: list[dict[str, Any]] = [{"sessions": {}, "tombstones": {}} for _ in range(workers)]
    if state:
        check_state(state, "state")
        for name, value in state.get("stream", {}).items():
            if name in front.state:
                front.state[name] = value
        for key in ("sessions", "tombstones"):
            for sid, value in state.get(key, {}).items():
                initial[partition(sid, 0, workers)][key][sid] = value
    file = input_file(lines)
    output = direct_output(job.output, job.write)
    context = multiprocessing.get_context("fork")
    inboxes = [context.Queue(maxsize=32) for _ in range(workers)]
    outboxes = [context.Queue() for _ in range(workers)]  # never more than IN_FLIGHT answers each
    peers = [context.Queue() for _ in range(workers)]
    for channel in (*inboxes, *outboxes, *peers):
        _widen(channel)
    processes = [
        context.Process(
            target=work,
            args=(
                WorkerSetup(
                    i,
                    workers,
                    session,
                    options,
                    initial[i],
                    profiles,
                    job.forced_profile,
                    bool(stream),
                    shipped,
                    file,
                    output[0] if output is not None else None,
                    job.keep_state,
                ),
                Channels(inboxes[i], outboxes[i], peers),
            ),
            name=f"enrich-{i}",
            daemon=True,
        )
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        parent = Parent(job, front, counts, processes, inboxes, outboxes, shipped, file, output)
        results = parent.run(lines, job.progress)
    except BaseException:
        for process in processes:
            process.terminate()
        for channel in (*inboxes, *peers):  # what is still queued for them would never be read:
            channel.cancel_join_thread()  # without this, exiting would wait for it forever
        raise
    for process in processes:
        process.join()
    failed = [p for p in processes if p.exitcode != 0]
    if failed:
        raise EnrichError(f"enrich worker {failed[0].name} failed (exit code {failed[0].exitcode})")
    if job.output is not None and output is not None:  # after the output, as ``write`` leaves it
        job.output.seek(parent.offset)
    merged_state: dict[str, Any] = {
        "format": STATE_FORMAT,
        "stream": front.state,
        "sessions": {},
        "tombstones": {},
    }
    open_sessions = 0
    for result in results:
        counts.out_of_order += result["out_of_order"]
        counts.state_evicted += result["state_evicted"]
        counts.enriched -= result["dead_letter"]
        counts.dead_letter += result["dead_letter"]
        counts.evicted_for_memory += result["evicted_for_memory"]
        usage, found = counts.profiles, result["profiles"]
        usage.events += found.events
        usage.unclaimed += found.unclaimed
        usage.datasets.update(found.datasets)
        usage.raw.update(found.raw)
        open_sessions += result["open_sessions"]
        if job.keep_state:
            merged_state["sessions"].update(result["store"]["sessions"])
            merged_state["tombstones"].update(result["store"]["tombstones"])
    return Result(counts, merged_state if job.keep_state else {}, open_sessions)
