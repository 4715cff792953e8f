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
from typing import TypeAlias

from sessionwatch.enrichers.output import DeadLetter

# the output lines of one message: (their text joined, the length of each; 0 for a dead letter).
# Written by the worker: no text, and each length in bytes
Packed = tuple[str, "array[int]"]
# where a worker writes its next outputs: pairs (offset in the file, how many outputs), flat
Places: TypeAlias = "array[int]"


def pack(written: list[str]) -> Packed:
    """``written`` (output lines with their newline, "" for a dead letter) as one message."""
    return "".join(written), array("L", map(len, written))


def _starts(lengths: array[int]) -> array[int]:
    """Where each output starts in its chunk, and where the last one ends (one more entry)."""
    return array("q", accumulate(lengths, initial=0))


class Returned:
    """A worker's outputs that arrived and are not written yet, in its order."""

    def __init__(self) -> None:
        # per chunk: its text, where each output starts in it (``_starts``), and the lengths
        # when it holds dead letters (else None: nothing to look for)
        self.chunks: deque[tuple[str, array[int], array[int] | None]] = deque()
        self.text = ""  # the chunk being taken from,
        self.starts: array[int] = array("q", [0])  # where its outputs start,
        self.lengths: array[int] | None = None  # its lengths, when it holds dead letters,
        self.next = 0  # and the index of its next output
        self.dead: deque[DeadLetter] = deque()

    def add(self, packed: Packed, dead: list[DeadLetter]) -> None:
        text, lengths = packed
        self.chunks.append((text, _starts(lengths), lengths if dead else None))
        self.dead.extend(dead)

    def take(self, count: int, texts: list[str] | None, dead: list[DeadLetter]) -> tuple[int, int]:
        """Up to ``count`` next outputs: their text to ``texts`` (one piece per chunk; None: the
        worker writes them), their dead letters to ``dead``. Returns how many there were (fewer:
        the rest has not arrived) and their length."""
        taken = size = 0
        while taken < count:
            starts, first = self.starts, self.next
            if first == len(starts) - 1:
                if not self.chunks:
                    break
                self.text, self.starts, self.lengths = self.chunks.popleft()
                self.next = 0
                continue
            stop = min(len(starts) - 1, first + count - taken)
            begin, end = starts[first], starts[stop]
            if end > begin and texts is not None:
                texts.append(self.text[begin:end])
            if self.lengths is not None:
                for _ in range(self.lengths[first:stop].count(0)):
                    dead.append(self.dead.popleft())
            taken += stop - first
            size += end - begin
            self.next = stop
        return taken, size


class Unwritten:
    """A worker's output lines that it writes into the output file ``fd`` itself, kept as bytes
    until the parent names their place."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.chunks: deque[tuple[bytes, array[int]]] = deque()  # (data, ``_starts``)
        self.data = memoryview(b"")  # the chunk being written from,
        self.starts: array[int] = array("q", [0])  # where its outputs start,
        self.next = 0  # and the index of its next output

    def keep(self, written: list[str]) -> Packed:
        """``written`` (as ``pack`` takes it) kept here: the message for the parent (no text)."""
        text = "".join(written)
        data = text.encode("utf-8")
        if len(data) == len(text):  # all ASCII: a character is a byte
            lengths = array("L", map(len, written))
        else:
            lengths = array("L", [len(line.encode("utf-8")) for line in written])
        self.chunks.append((data, _starts(lengths)))
        return "", lengths

    def write(self, places: Places) -> None:
        """Write the next outputs where ``places`` says (see ``Places``)."""
        fd, pwrite = self.fd, os.pwrite
        for index in range(0, len(places), 2):
            offset, count = places[index], places[index + 1]
            while count:
                starts, first = self.starts, self.next
                if first == len(starts) - 1:
                    data, self.starts = self.chunks.popleft()
                    self.data, self.next = memoryview(data), 0
                    continue
                stop = min(len(starts) - 1, first + count)
                begin, end = starts[first], starts[stop]
                if end > begin and pwrite(fd, self.data[begin:end], offset) < end - begin:
                    write_at(fd, self.data[begin:end], offset)  # (written short: again, whole)
                count -= stop - first
                offset += end - begin
                self.next = stop


def write_at(fd: int, data: bytes | memoryview, offset: int) -> None:
    """All of ``data`` at ``offset`` of the file ``fd`` (``pwrite`` may write less)."""
    while data:
        done = os.pwrite(fd, data, offset)
        data, offset = data[done:], offset + done
