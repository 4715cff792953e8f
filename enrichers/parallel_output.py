"""How a worker's output lines reach the output of a partitioned run (see ``parallel``).

Through the parent: not one ``str`` per line but, per message, all of them joined into one text
with the length of each (0 for a dead letter, whose ``DeadLetter`` travels beside). The parent
cuts the text at the lengths where the order of outputs moves to another source and writes what
is due in one call: a few hundred large strings to unpickle and write instead of one per event.

Written by the workers themselves (``Unwritten``), when the output is a regular file: a worker
sends only the length in bytes of each line and keeps the bytes; the parent, which knows the
order of outputs, tells it where in the file its next lines go (``Places``), and the worker
writes them there (``pwrite``). The parent never holds the text.
"""

from __future__ import annotations

import os
from array import array
from collections import deque
from itertools import accumulate
from typing import Generic, TypeAlias, TypeVar

from sessionwatch.enrichers.output import DeadLetter

# the output lines of one message: (their text joined, the length of each; 0 for a dead letter).
# Written by the worker: no text, and each length in bytes
Packed = tuple[str, "array[int]"]
# where a worker writes its next outputs: pairs (offset in the file, how many outputs), flat
Places: TypeAlias = "array[int]"
Chunk = TypeVar("Chunk")


def pack(written: list[str]) -> Packed:
    """``written`` (output lines with their newline, "" for a dead letter) as one message."""
    return "".join(written), array("L", map(len, written))


def _starts(lengths: array[int]) -> array[int]:
    """Where each output starts in its chunk, and where the last one ends (one more entry)."""
    return array("q", accumulate(lengths, initial=0))


class _Outputs(Generic[Chunk]):
    """A worker's outputs, chunk by chunk (each with ``_starts``), read in order: ``span`` gives
    the next run of them within one chunk."""

    def __init__(self, empty: Chunk) -> None:
        self.chunks: deque[tuple[Chunk, array[int]]] = deque()
        self.chunk = empty  # the chunk being read from,
        self.starts: array[int] = array("q", [0])  # where its outputs start,
        self.next = 0  # and the index of its next output

    def span(self, count: int) -> tuple[int, int, int, int] | None:
        """The next at most ``count`` outputs (``count`` > 0) of the current chunk, moving on
        to the next chunk when this one is done: (first index, index after, start, end in the
        chunk); None when no chunk is left."""
        while self.next == len(self.starts) - 1:
            if not self.chunks:
                return None
            self.chunk, self.starts = self.chunks.popleft()
            self.next = 0
        first = self.next
        stop = self.next = min(len(self.starts) - 1, first + count)
        return first, stop, self.starts[first], self.starts[stop]


class Returned(_Outputs[tuple[str, "array[int] | None"]]):
    """A worker's outputs that arrived and are not written yet, in its order. A chunk: its text,
    and the lengths when it holds dead letters (else None: nothing to look for)."""

    def __init__(self) -> None:
        super().__init__(("", None))
        self.dead: deque[DeadLetter] = deque()

    def add(self, packed: Packed, dead: list[DeadLetter]) -> None:
        text, lengths = packed
        self.chunks.append(((text, lengths if dead else None), _starts(lengths)))
        self.dead.extend(dead)

    def take(self, count: int, texts: list[str] | None, dead: list[DeadLetter]) -> tuple[int, int]:
        """Up to ``count`` next outputs: their text to ``texts`` (one piece per chunk; None: the
        worker writes them), their dead letters to ``dead``. Returns how many there were (fewer:
        the rest has not arrived) and their length."""
        taken = size = 0
        while taken < count:
            found = self.span(count - taken)
            if found is None:
                break
            first, stop, begin, end = found
            text, lengths = self.chunk
            if end > begin and texts is not None:
                texts.append(text[begin:end])
            if lengths is not None:
                for _ in range(lengths[first:stop].count(0)):
                    dead.append(self.dead.popleft())
            taken += stop - first
            size += end - begin
        return taken, size


class Unwritten(_Outputs[memoryview]):
    """A worker's output lines that it writes into the output file ``fd`` itself, kept as bytes
    until the parent names their place."""

    def __init__(self, fd: int) -> None:
        super().__init__(memoryview(b""))
        self.fd = fd

    def keep(self, written: list[str]) -> Packed:
        """``written`` (as ``pack`` takes it) kept here: the message for the parent (no text)."""
        text = "".join(written)
        data = text.encode("utf-8")
        if len(data) == len(text):  # all ASCII: a character is a byte
            lengths = array("L", map(len, written))
        else:
            lengths = array("L", [len(line.encode("utf-8")) for line in written])
        self.chunks.append((memoryview(data), _starts(lengths)))
        return "", lengths

    def write(self, places: Places) -> None:
        """Write the next outputs where ``places`` says (see ``Places``)."""
        fd, pwrite = self.fd, os.pwrite
        for index in range(0, len(places), 2):
            offset, count = places[index], places[index + 1]
            while count:
                found = self.span(count)
                if found is None:  # (the parent names places only for outputs it was sent)
                    raise RuntimeError("places named for outputs this worker does not hold")
                first, stop, begin, end = found
                data = self.chunk[begin:end]
                if end > begin and pwrite(fd, data, offset) < end - begin:
                    write_at(fd, data, offset)  # (written short: again, whole)
                count -= stop - first
                offset += end - begin


def write_at(fd: int, data: bytes | memoryview, offset: int) -> None:
    """All of ``data`` at ``offset`` of the file ``fd`` (``pwrite`` may write less)."""
    while data:
        done = os.pwrite(fd, data, offset)
        data, offset = data[done:], offset + done
