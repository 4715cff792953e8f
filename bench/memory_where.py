"""Where the enricher's per-session memory goes: tracemalloc over an open-sessions workload.

``python -m bench.memory_where N`` prints JSON: the bytes still allocated after N sessions were
opened (and kept open), grouped by the source line that allocated them, largest first, and per
enricher the size of its state (deep ``sys.getsizeof``) for one typical session.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from collections.abc import Iterator
from typing import Any

from bench.workload import dumps, open_sessions
from sessionwatch.enrichers import Engine, ProfileRegistry, discover_enrichers


def deep_size(value: Any, seen: set[int] | None = None) -> int:
    seen = seen if seen is not None else set()
    if id(value) in seen:
        return 0
    seen.add(id(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in value.items())
    elif isinstance(value, list | tuple | set | frozenset):
        size += sum(deep_size(v, seen) for v in value)
    elif hasattr(value, "__dict__"):
        size += deep_size(vars(value), seen)
    elif hasattr(value, "__slots__"):
        size += sum(deep_size(getattr(value, s, None), seen) for s in value.__slots__)
    return size


def main(argv: list[str]) -> int:
    sessions = int(argv[0])
    lines = [dumps(doc) for doc in open_sessions(sessions, rounds=3)]
    profiles = ProfileRegistry.discover()
    enrichers = discover_enrichers()
    engine = Engine(profiles, enrichers)

    def feed() -> Iterator[str]:
        yield from lines

    tracemalloc.start(1)
    before = tracemalloc.take_snapshot()
    for _ in engine.process(feed()):
        pass
    after = tracemalloc.take_snapshot()
    stats = after.compare_to(before, "lineno")
    total = sum(s.size_diff for s in stats)
    top = [
        {
            "where": f"{s.traceback[0].filename.rsplit('/', 2)[-2]}/"
            f"{s.traceback[0].filename.rsplit('/', 1)[-1]}:{s.traceback[0].lineno}",
            "bytes_per_session": round(s.size_diff / sessions),
            "share": round(s.size_diff / total, 3),
        }
        for s in stats[:15]
    ]
    per_enricher: dict[str, int] = {}
    # the engine's internals, read only to attribute the bytes (absent: the breakdown is skipped)
    back = getattr(engine, "back", None)
    store = getattr(getattr(back, "store", None), "sessions", None)
    if isinstance(store, dict) and store:
        sample = store[sorted(store)[len(store) // 2]]
        per_enricher = {"(whole session entry)": deep_size(sample)}
        if isinstance(sample, dict):
            per_enricher |= {str(k): deep_size(v) for k, v in sample.items()}
    print(
        json.dumps(
            {
                "sessions": sessions,
                "retained_bytes_per_session": round(total / sessions),
                "top": top,
                "one_session_state_bytes": per_enricher,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
