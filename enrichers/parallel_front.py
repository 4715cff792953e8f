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

import itertools
import queue
import threading
from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any, cast

from sessionwatch.enrichers.base import CanonicalEvent
from sessionwatch.enrichers.engine import Front, Released
from sessionwatch.enrichers.mapper import Mapped
from sessionwatch.enrichers.output import Counts, DeadLetter, Output
from sessionwatch.enrichers.parallel_worker import (
    BACK,
    MAP,
    RESULT,
    STOP,
    Answer,
    Result,
    stream_event_type,
)
from sessionwatch.rules.errors import EnrichError

CHUNK = 256  # raw lines a worker maps at a time
IN_FLIGHT = 3  # chunks per worker sent and not yet answered
BATCH = 512  # events sent to a worker at a time


def _chunks(lines: Iterable[bytes | str]) -> Iterator[tuple[int, list[bytes | str]]]:
    """(number of the first line, up to ``CHUNK`` lines)."""
    source = iter(lines)
    first = 1
    while chunk := list(itertools.islice(source, CHUNK)):
        yield first, chunk
        first += len(chunk)


class Parent:
    def __init__(
        self,
        job: Any,
        front: Front,
        counts: Counts,
        processes: list[Any],
        inboxes: list[Any],
        outboxes: list[Any],
    ) -> None:
        self.job, self.front, self.counts = job, front, counts
        self.processes, self.inboxes, self.outboxes = processes, inboxes, outboxes
        workers = self.workers = len(processes)
        # an event's text in the reorder window: this tag, naming the worker holding the real text
        self.tags = [f"(held by enrich worker {i})" for i in range(workers)]
        self.owner_of = {tag: index for index, tag in enumerate(self.tags)}
        self.batches: list[list[tuple[int, Any]]] = [[] for _ in range(workers)]
        self.order: array[int] = array("H")  # up to 65,535 workers
        self.written = 0  # outputs of ``order`` written so far
        # per source (each worker, then this process): outputs waiting for their turn
        self.waiting: list[deque[Any]] = [deque() for _ in range(workers + 1)]
        self.dead: list[deque[DeadLetter]] = [deque() for _ in range(workers)]  # the workers' ""
        self.received: list[queue.SimpleQueue[Any]] = [queue.SimpleQueue() for _ in range(workers)]

    def run(self, lines: Iterable[bytes | str]) -> list[dict[str, Any]]:
        """Feed every line through; the workers' final results."""
        workers = self.workers
        for index, outbox in enumerate(self.outboxes):  # (see ``_receive``)
            name = f"enrich-{index}-outbox"
            threading.Thread(
                target=_pump, args=(outbox, self.received[index]), name=name, daemon=True
            ).start()
        chunks = _chunks(lines)
        sent = answered = 0
        while True:
            while sent - answered < IN_FLIGHT * workers:
                chunk = next(chunks, None)
                if chunk is None:
                    break
                self._send(sent % workers, (MAP, chunk))
                sent += 1
            if answered == sent:
                break
            _, mapped, written, dead = cast(Answer, self._receive(answered % workers))
            self._returned(answered % workers, written, dead)
            self._take(mapped)
            self._write()
            answered += 1
        for item in self.front.flush():
            self._route(item)
        for target in range(workers):
            if self.batches[target]:
                self._send(target, (BACK, self.batches[target]))
            self._send(target, (STOP, None))
        results = []
        for target in range(workers):
            _, written, dead, result = cast(Result, self._receive(target))
            self._returned(target, written, dead)
            results.append(result)
        self._write()
        if self.written != len(self.order):
            raise EnrichError(f"enrich workers returned {self.written} of {len(self.order)} outputs")
        return results

    def _take(self, mapped: list[Any]) -> None:
        """A worker's answer, in line order: events into the reorder window, and the lines it
        passed through or dead-lettered into the order of outputs."""
        counts = self.counts
        counts.read += len(mapped)
        view, new, tags = stream_event_type(), tuple.__new__, self.tags
        push, route = self.front.push, self._route
        own, waiting = self.workers, self.waiting[self.workers]
        for entry in mapped:
            if type(entry) is tuple:
                event = cast(CanonicalEvent, new(view, entry))
                for item in push(Mapped(entry[0], event, tags[entry[1]], entry[2])):
                    route(item)
                continue
            output = cast(Output, entry)
            if output.dead is not None:
                counts.dead_letter += 1
                waiting.append(output.dead)
            else:
                counts.passed_through += 1
                counts.repaired += output.facts is not None
                waiting.append(output.text())
            self.order.append(own)

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

    def _returned(self, worker: int, written: list[str], dead: list[DeadLetter]) -> None:
        self.waiting[worker].extend(written)
        self.dead[worker].extend(dead)

    def _write(self) -> None:
        """Write the outputs whose turn has come and which have arrived."""
        order, waiting, own = self.order, self.waiting, self.workers
        write, dead = self.job.write, self.job.dead
        at, end = self.written, len(order)
        while at < end:
            source = order[at]
            outputs = waiting[source]
            if not outputs:
                break
            output = outputs.popleft()
            if source == own:
                if type(output) is DeadLetter:
                    dead(output)
                else:
                    write(output + "\n")
            elif output:
                write(output + "\n")
            else:
                dead(self.dead[source].popleft())
            at += 1
        if at > 1 << 16 and at * 2 > end:  # forget what was written
            del order[:at]
            at = 0
        self.written = at

    def _receive(self, worker: int) -> Any:
        """The worker's next message. A thread per worker reads its outbox (``_pump``): a worker
        that dies while writing a message leaves it cut short, and reading it would never end."""
        received = self.received[worker]
        while True:
            try:
                message = received.get(timeout=1.0)
            except queue.Empty:
                self._check()
                continue
            if isinstance(message, BaseException):
                raise EnrichError(f"enrich worker {worker}: its answer cannot be read ({message!r})")
            return message

    def _send(self, worker: int, message: Any) -> None:
        inbox = self.inboxes[worker]
        while True:
            try:
                inbox.put(message, timeout=1.0)
                return
            except queue.Full:
                self._check()

    def _check(self) -> None:
        """Stop when a worker has failed (the others may be waiting for it). One that ended
        well has sent everything (its last act), which its ``_pump`` delivers."""
        for process in self.processes:
            if process.exitcode not in (None, 0):
                raise EnrichError(f"enrich worker {process.name} stopped (exit code {process.exitcode})")


def _pump(outbox: Any, received: queue.SimpleQueue[Any]) -> None:
    """Move a worker's messages to ``received`` until its ``Result`` (or a message that cannot be
    read: then that error)."""
    while True:
        try:
            message = outbox.get()
        except BaseException as exc:
            received.put(exc)
            return
        received.put(message)
        if message[0] == RESULT:
            return
