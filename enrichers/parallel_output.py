"""How a worker's output lines travel to the parent of a partitioned run (see ``parallel``): not
one ``str`` per line but, per message, all of them joined into one text with the length of
each (0 for a dead letter, whose ``DeadLetter`` travels beside). The parent cuts the text at
the lengths where the order of outputs moves to another source and writes what is due in one
call: a few hundred large strings to unpickle and write instead of one per event.
"""

from __future__ import annotations

from array import array
from collections import deque

from sessionwatch.enrichers.output import DeadLetter

# the output lines of one message: (their text joined, the length of each; 0 for a dead letter)
Packed = tuple[str, "array[int]"]


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

    def take(self, count: int, texts: list[str], dead: list[DeadLetter]) -> int:
        """Up to ``count`` next outputs: their text to ``texts`` (one piece per chunk), their
        dead letters to ``dead``. Returns how many there were (fewer: the rest has not arrived)."""
        taken = 0
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
            if self.at > start:
                texts.append(self.text[start : self.at])
            for _ in range(part.count(0)):
                dead.append(self.dead.popleft())
            taken += stop - first
            self.next = stop
        return taken
