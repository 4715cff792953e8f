"""The parent of a partitioned run (see ``parallel``): it hands out chunks of raw lines, takes the
workers' answers back in line order through the reorder window and the stream-scoped enrichers,
tells each event's owner its stream-scoped facts, and writes the owners' output lines in the
order one process would have written them.

The order is kept in ``order``: one entry per output of one process (an enriched line, a line
passed through, a dead letter), naming where it comes from (a worker, or this process for the
lines the workers pass through or cannot map). Each worker returns its outputs in that same
order, so writing means popping the next output of the source ``order`` names.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import queue
import stat
import threading
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, cast

from sessionwatch.enrichers.engine import Front, Released
from sessionwatch.enrichers.output import Counts, DeadLetter, Output
from sessionwatch.enrichers.parallel_output import Returned, write_at
from sessionwatch.enrichers.parallel_worker import (
    BACK,
    DONE,
    END,
    FAILED,
    LINE_BITS,
    MAP,
    STOP,
    Answer,
    Block,
    Result,
    Source,
    stream_event_type,
)
from sessionwatch.enrichers.timefmt import remember
from sessionwatch.rules.errors import EnrichError

PROGRESS_EVERY = 10_000  # lines mapped between two calls of the run's ``progress``
BLOCK = 1 << 18  # bytes of input a worker maps at a time (about 400 lines)
CHUNK = 256  # lines a worker maps at a time, when the input is not a binary stream
IN_FLIGHT = 3  # blocks per worker sent and not yet answered
AHEAD = 6  # blocks per worker handed out beyond the oldest not taken yet (answers held meanwhile)
BATCH = 1024  # events sent to a worker at a time


def _blocks(source: Iterable[bytes | str], file: Source | None) -> Iterator[Block]:
    """The input in blocks (see ``Block``): byte ranges of the input ``file`` (the workers read
    them: this process never touches the bytes), whole lines of a binary stream (a pipe: never
    split here; the worker splits them at ``\\n`` as iterating the stream would), or lists of
    up to ``CHUNK`` lines of any other iterable."""
    if file is not None:
        yield from _ranges(*file)
        return
    read = getattr(source, "read1", None)
    if read is None:
        iterator = iter(source)
        while chunk := list(itertools.islice(iterator, CHUNK)):
            yield chunk
        return
    pending = bytearray()
    while data := read(BLOCK):
        cut = data.rfind(b"\n") + 1
        if not cut:  # no line ends here: a line longer than a block
            pending += data
            continue
        if pending:
            pending += data[:cut]
            block, pending = bytes(pending), bytearray(data[cut:])
        else:
            block, pending = data[:cut], bytearray(data[cut:])
        yield block
    if pending:
        yield bytes(pending)


def _ranges(fd: int, start: int) -> Iterator[tuple[int, int]]:
    """``BLOCK`` bytes at a time from ``start`` to the end of the file (as long as it grows)."""
    while start < (size := os.fstat(fd).st_size):
        while start < size:
            yield start, min(start + BLOCK, size)
            start += BLOCK
        start = size


def input_file(source: Iterable[bytes | str]) -> Source | None:
    """The input as a ``Source`` when it is a regular file read as bytes (the workers then read
    their blocks from it themselves), else None."""
    if getattr(source, "read1", None) is None:
        return None
    try:
        fd = cast(Any, source).fileno()
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd, cast(Any, source).tell()
    except (AttributeError, OSError, ValueError):  # no descriptor (BytesIO), or not seekable
        pass
    return None


class Parent:
    def __init__(
        self,
        job: Any,
        front: Front,
        counts: Counts,
        processes: list[Any],
        inboxes: list[Any],
        outboxes: list[Any],
        shipped: tuple[str, ...] | None = None,
        file: Source | None = None,
        output: Source | None = None,
    ) -> None:
        self.job, self.front, self.counts = job, front, counts
        self.processes, self.inboxes, self.outboxes = processes, inboxes, outboxes
        self.view = stream_event_type(shipped)  # the parent's copy of an event
        workers = self.workers = len(processes)
        # an event's text in the reorder window: this tag, naming the worker holding the real text
        self.tags = [f"(held by enrich worker {i})" for i in range(workers)]
        self.owner_of = {tag: index for index, tag in enumerate(self.tags)}
        self.batches: list[list[tuple[int, Any]]] = [[] for _ in range(workers)]
        self.order: array[int] = array("H")  # up to 65,535 workers
        self.written = 0  # outputs of ``order`` written so far
        # outputs waiting for their turn: each worker's, then this process's (a line or a dead letter)
        self.returned = [Returned() for _ in range(workers)]
        self.own: deque[str | DeadLetter] = deque()
        self.received: queue.SimpleQueue[tuple[int, Any]] = queue.SimpleQueue()  # from every worker
        self.file = file  # the input file, when the workers read it (``input_file``)
        self.firsts = [1]  # per block answered, then the next: the number of its first line
        # the output file, when the workers write their lines into it (``parallel_output``), and
        # where the next output goes in it
        self.output = output
        self.offset = output[1] if output is not None else 0
        # per worker, where its next outputs go (``Places``: sent with the next message to it),
        # and where the last of them ends (the next place may just extend it)
        self.places: list[array[int]] = [array("q") for _ in range(workers)]
        self.ends = [-1] * workers

    def run(self, lines: Iterable[bytes | str], progress: Any = None) -> list[dict[str, Any]]:
        """Feed every line through (calling ``progress(counts)`` each time another
        ``PROGRESS_EVERY`` lines have been mapped); the workers' final results.

        Blocks go to whichever worker has answered (at most ``IN_FLIGHT`` unanswered each, and
        at most ``AHEAD`` blocks beyond the oldest one not taken yet): a worker that gets less
        of the machine (one of the cores also runs this process) maps fewer blocks instead of
        holding the other one back. Answers are taken in block order whoever sent them."""
        workers = self.workers
        for index, outbox in enumerate(self.outboxes):  # (see ``_receive``)
            name = f"enrich-{index}-outbox"
            threading.Thread(
                target=_pump, args=(index, outbox, self.received), name=name, daemon=True
            ).start()
        blocks = _blocks(lines, self.file)
        sent = taken = 0  # blocks handed out; blocks taken, in order
        busy = [0] * workers  # blocks handed to each worker and not answered yet
        early: dict[int, tuple[int, list[Any]]] = {}  # answers ahead of the next block to take
        ahead = AHEAD * workers
        more = True
        report = PROGRESS_EVERY
        while True:
            while more and sent - taken < ahead:
                target = min(range(workers), key=busy.__getitem__)
                if busy[target] >= IN_FLIGHT:
                    break
                block = next(blocks, None)
                if block is None:
                    more = False
                    break
                self._send(target, (MAP, (sent, block)))
                busy[target] += 1
                sent += 1
            if taken == sent:
                break
            worker, answer = self._receive()
            _, number, count, mapped, written, dead = cast(Answer, answer)
            busy[worker] -= 1
            self.returned[worker].add(written, dead)  # (each worker's outputs come in its order)
            early[number] = (count, mapped)
            while taken in early:
                count, mapped = early.pop(taken)
                self.firsts.append(self.firsts[-1] + count)
                self._take(mapped)
                taken += 1
            self._write()
            if progress is not None and self.counts.read >= report:
                progress(self.counts)
                report = (self.counts.read // PROGRESS_EVERY + 1) * PROGRESS_EVERY
        release = self.front._release
        for held in self.front.buffer.flush():
            event: Any = held
            self._route(release(event.line, event, self.tags[event.owner], event.repaired))
        for target in range(workers):
            if self.batches[target]:
                self._send(target, (BACK, self.batches[target]))
            self._send(target, (STOP, None))
        results: list[dict[str, Any]] = [{} for _ in range(workers)]
        for _ in range(workers):
            worker, last = self._receive()
            _, written, dead, result = cast(Result, last)
            self.returned[worker].add(written, dead)
            results[worker] = result
        self._write()
        for target in range(workers):  # (with where their last lines go)
            self._send(target, (END, None))
        for _ in range(workers):  # every line written (or the error writing one)
            self._receive()
        if self.written != len(self.order):
            raise EnrichError(f"enrich workers returned {self.written} of {len(self.order)} outputs")
        return results

    def _take(self, mapped: list[Any]) -> None:
        """A worker's answer, in line order: events into the reorder window (what leaves it to
        the stream-scoped enrichers and on to the event's owner), and the lines it passed
        through or dead-lettered into the order of outputs. (``Front.push`` and ``_route``
        with the steps between them inlined: this is the parent's hot loop.)"""
        counts = self.counts
        counts.read += len(mapped)
        view, new, tags = self.view, tuple.__new__, self.tags
        # the reorder window holds the parent's copy of each event itself (no ``Mapped``)
        hold: Any = self.front.buffer.push
        release, route = self.front._release, self._route
        batches, order, send = self.batches, self.order, self._send
        own, waiting = self.workers, self.own
        for entry in mapped:
            if type(entry) is tuple:
                event: Any = new(view, entry)
                if event.stamp is not None:
                    remember(event.timestamp, event.stamp)  # as mapping it here would have
                for held in hold(event.timestamp, event.line, event):
                    released = release(held.line, held, tags[held.owner], held.repaired)
                    if type(released) is not Released:
                        route(released)
                        continue
                    owner = held.owner
                    order.append(owner)
                    batch = batches[owner]
                    batch.append((held.line, released.facts))
                    if len(batch) >= BATCH:
                        send(owner, (BACK, batch))
                        batches[owner] = []
                continue
            output = cast(Output, entry)
            if output.dead is not None:
                counts.dead_letter += 1
                waiting.append(output.dead)
            else:
                counts.passed_through += 1
                counts.repaired += output.facts is not None
                waiting.append(output.text() + "\n")
            order.append(own)

    def _route(self, item: Released | Output) -> None:
        """What leaves the reorder window, to the worker holding the event: its stream-scoped
        facts, or the reason a stream-scoped enricher failed (the dead letter needs its text)."""
        entry: tuple[int, Any]
        if type(item) is Released:
            owner, entry = self.owner_of[item.raw], (item.line, item.facts)
        else:
            dead = cast(Output, item).dead
            assert dead is not None  # the front's only other output
            owner, entry = self.owner_of[dead.raw], (dead.line, dead.reason)
        self.order.append(owner)
        batch = self.batches[owner]
        batch.append(entry)
        if len(batch) >= BATCH:
            self._send(owner, (BACK, batch))
            self.batches[owner] = []

    def _write(self) -> None:
        """Write the outputs whose turn has come and which have arrived: the lines in one call
        (or, when the workers write them, where each worker's go), then the dead letters."""
        order, returned, own = self.order, self.returned, self.workers
        direct = self.output is not None
        texts: list[str] | None = None if direct else []
        places, ends, offset = self.places, self.ends, self.offset
        dead: list[DeadLetter] = []
        at, end = self.written, len(order)
        while at < end:
            source, run = order[at], at + 1
            while run < end and order[run] == source:
                run += 1
            if source == own:  # this process's outputs: always there
                for _ in range(run - at):
                    output = self.own.popleft()
                    if type(output) is not str:
                        dead.append(output)  # type: ignore[arg-type]
                    elif texts is not None:
                        texts.append(output)
                    else:
                        data = output.encode("utf-8")
                        write_at(cast(Source, self.output)[0], data, offset)
                        offset += len(data)
                at = run
                continue
            taken, size = returned[source].take(run - at, texts, dead)
            if direct and taken:
                found = places[source]
                if ends[source] == offset:  # right after its last place (dead letters between)
                    found[-1] += taken
                else:
                    found.extend((offset, taken))
                offset += size
                ends[source] = offset
            at += taken
            if at < run:
                break
        if texts:
            self.job.write("".join(texts))
        self.offset = offset
        firsts, mask = self.firsts, (1 << LINE_BITS) - 1
        for letter in dead:  # numbered: a line's key is its block's, then its place in it
            line = firsts[letter.line >> LINE_BITS] + (letter.line & mask)
            self.job.dead(dataclasses.replace(letter, line=line))
        if at > 1 << 16 and at * 2 > end:  # forget what was written
            del order[:at]
            at = 0
        self.written = at

    def _receive(self) -> tuple[int, Any]:
        """The next message of any worker, and which one sent it. A thread per worker reads its
        outbox (``_pump``): a worker that dies while writing a message leaves it cut short, and
        reading it would never end."""
        while True:
            try:
                worker, message = self.received.get(timeout=1.0)
            except queue.Empty:
                self._check()
                continue
            if isinstance(message, BaseException):
                raise EnrichError(f"enrich worker {worker}: its answer cannot be read ({message!r})")
            if message[0] == FAILED:  # as writing the output here would have failed
                _, number, reason = message
                raise OSError(number, f"{reason} (writing the output)")
            return worker, message

    def _send(self, worker: int, message: tuple[int, Any]) -> None:
        """``message`` to ``worker``, with where its next output lines go (if anywhere yet)."""
        inbox, places = self.inboxes[worker], self.places[worker]
        if places:
            self.places[worker], self.ends[worker] = array("q"), -1
        sent = (*message, places or None)
        while True:
            try:
                inbox.put(sent, timeout=1.0)
                return
            except queue.Full:
                self._check()

    def _check(self) -> None:
        """Stop when a worker has failed (the others may be waiting for it). One that ended
        well has sent everything (its last act), which its ``_pump`` delivers."""
        for process in self.processes:
            if process.exitcode not in (None, 0):
                raise EnrichError(f"enrich worker {process.name} stopped (exit code {process.exitcode})")


def _pump(index: int, outbox: Any, received: queue.SimpleQueue[tuple[int, Any]]) -> None:
    """Move worker ``index``'s messages to ``received`` until its last (DONE or FAILED; or a
    message that cannot be read: then that error)."""
    while True:
        try:
            message = outbox.get()
        except BaseException as exc:
            received.put((index, exc))
            return
        received.put((index, message))
        if message[0] in (DONE, FAILED):
            return
