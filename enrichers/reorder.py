"""A bounded reorder window: events are held until the stream has moved ``window`` seconds past
them, then released in (timestamp, line) order. What arrives later than that is released at
once; the session stage then flags it when its session has already moved past it."""

from __future__ import annotations

import heapq
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class ReorderBuffer(Generic[T]):
    def __init__(self, window: float, max_items: int = 1_000_000) -> None:
        self.window = window
        self.max_items = max_items
        self._heap: list[tuple[float, int, T]] = []
        # while items arrive in (timestamp, line) order, as most logs do, they wait in this
        # queue, already sorted, instead of the heap; the first late one moves them to the heap
        self._queue: deque[tuple[float, int, T]] = deque()
        self._newest = float("-inf")

    def __len__(self) -> int:
        return len(self._heap) + len(self._queue)

    def push(self, ts: float, line: int, item: T) -> list[T]:
        """Add one item; return the items now due, oldest first (by timestamp, then line)."""
        if self.window <= 0:
            return [item]
        heap = self._heap
        if not heap:
            queue = self._queue  # in order when (ts, line) >= the last item's (no tuples built)
            if not queue or ts > (last := queue[-1])[0] or (ts == last[0] and line >= last[1]):
                return self._push_in_order(ts, line, item)
        if not heap:
            heap.extend(self._queue)  # sorted: already a heap
            self._queue.clear()
        heapq.heappush(heap, (ts, line, item))
        if ts > self._newest:
            self._newest = ts
        cutoff = self._newest - self.window
        out: list[T] = []
        while heap and (heap[0][0] <= cutoff or len(heap) > self.max_items):
            out.append(heapq.heappop(heap)[2])
        return out

    def _push_in_order(self, ts: float, line: int, item: T) -> list[T]:
        queue = self._queue
        queue.append((ts, line, item))
        if ts > self._newest:
            self._newest = ts
        cutoff = self._newest - self.window
        if queue[0][0] > cutoff and len(queue) <= self.max_items:
            return []
        out: list[T] = []
        while queue and (queue[0][0] <= cutoff or len(queue) > self.max_items):
            out.append(queue.popleft()[2])
        return out

    def flush(self) -> list[T]:
        heap, self._heap = [*self._heap, *self._queue], []
        self._queue.clear()
        return [entry[2] for entry in sorted(heap, key=lambda e: (e[0], e[1]))]
