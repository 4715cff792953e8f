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


class Returned:
    """A worker's outputs that arrived and are not written yet, in its order."""

    def __init__(self) -> None:
        self.chunks: deque[Packed] = deque()
        self.text = ""  # the chunk being taken from,
        self.lengths: array[int] = array("L")  # its outputs' lengths,
        self.next = 0  # the index of its next output in ``lengths``,
        self.at = 0  # and where that output starts in ``text``
        self.dead: deque[DeadLetter] = deque()

    def add(self, packed: Packed, dead: list[DeadLetter]) -> None:
        self.chunks.append(packed)
        self.dead.extend(dead)

    def take(self, count: int, texts: list[str] | None, dead: list[DeadLetter]) -> tuple[int, int]:
        """Up to ``count`` next outputs: their text to ``texts`` (one piece per chunk; None: the
        worker writes them), their dead letters to ``dead``. Returns how many there were (fewer:
        the rest has not arrived) and their length."""
        taken = size = 0
        while taken < count:
            lengths, first = self.lengths, self.next
            if first == len(lengths):
                if not self.chunks:
                    break
                self.text, self.lengths = self.chunks.popleft()
                self.next = self.at = 0
                continue
            stop = min(len(lengths), first + count - taken)
            part = lengths[first:stop]
            start, self.at = self.at, self.at + sum(part)
            if self.at > start and texts is not None:
                texts.append(self.text[start : self.at])
            for _ in range(part.count(0)):
                dead.append(self.dead.popleft())
            taken += stop - first
            size += self.at - start
            self.next = stop
        return taken, size


class Unwritten:
    """A worker's output lines that it writes into the output file ``fd`` itself, kept as bytes
    until the parent names their place."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.chunks: deque[tuple[bytes, array[int]]] = deque()
        self.data = b""  # the chunk being written from,
        self.lengths: array[int] = array("L")  # its outputs' lengths in bytes,
        self.next = 0  # the index of its next output,
        self.at = 0  # and where that output starts in ``data``

    def keep(self, written: list[str]) -> Packed:
        """``written`` (as ``pack`` takes it) kept here: the message for the parent (no text)."""
        text = "".join(written)
        data = text.encode("utf-8")
        if len(data) == len(text):  # all ASCII: a character is a byte
            lengths = array("L", map(len, written))
        else:
            lengths = array("L", [len(line.encode("utf-8")) for line in written])
        self.chunks.append((data, lengths))
        return "", lengths

    def write(self, places: Places) -> None:
        """Write the next outputs where ``places`` says (see ``Places``)."""
        view = memoryview(self.data)
        for index in range(0, len(places), 2):
            offset, count = places[index], places[index + 1]
            while count:
                if self.next == len(self.lengths):
                    self.data, self.lengths = self.chunks.popleft()
                    self.next = self.at = 0
                    view = memoryview(self.data)
                stop = min(len(self.lengths), self.next + count)
                size = sum(self.lengths[self.next : stop])
                write_at(self.fd, view[self.at : self.at + size], offset)
                count -= stop - self.next
                self.next, self.at, offset = stop, self.at + size, offset + size


def write_at(fd: int, data: bytes | memoryview, offset: int) -> None:
    """All of ``data`` at ``offset`` of the file ``fd`` (``pwrite`` may write less)."""
    while data:
        done = os.pwrite(fd, data, offset)
        data, offset = data[done:], offset + done
