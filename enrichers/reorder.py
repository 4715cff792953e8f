"""A bounded reorder window: events are held until the stream has moved ``window`` seconds past
them, then released in (timestamp, line) order. What arrives later than that is released at
once; the session stage then flags it when its session has already moved past it."""

from __future__ import annotations

import heapq
from typing import Generic, TypeVar

T = TypeVar("T")


class ReorderBuffer(Generic[T]):
    def __init__(self, window: float, max_items: int = 1_000_000) -> None:
        self.window = window
        self.max_items = max_items
        self._heap: list[tuple[float, int, T]] = []
        self._newest = float("-inf")

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, ts: float, line: int, item: T) -> list[T]:
        """Add one item; return the items now due, oldest first."""
        if self.window <= 0:
            return [item]
        heap = self._heap
        heapq.heappush(heap, (ts, line, item))
        if ts > self._newest:
            self._newest = ts
        cutoff = self._newest - self.window
        out: list[T] = []
        while heap and (heap[0][0] <= cutoff or len(heap) > self.max_items):
            out.append(heapq.heappop(heap)[2])
        return out

    def flush(self) -> list[T]:
        heap, self._heap = self._heap, []
        return [entry[2] for entry in sorted(heap, key=lambda e: (e[0], e[1]))]
