"""Where the CPU of a partitioned run goes: this process (the parent: reading, the reorder
window, the stream-scoped enrichers, routing, writing the output in order) against its workers
(mapping, the session-scoped enrichers, the output lines). The parent is one process, so
on two idle cores a run takes at least max(total CPU / 2, parent CPU); the speed-up bound below
uses both.

``python -m bench.cpu_split IN OUT WORKERS`` prints one JSON object: parent_cpu_s (and
parent_main_cpu_s, its main thread's share), workers_cpu_s, wall_s (the engine's default
options, as ``sessionwatch enrich`` uses them).
"""

from __future__ import annotations

import json
import resource
import sys
import time


def main(argv: list[str]) -> int:
    from sessionwatch.enrichers import EngineOptions, ProfileRegistry, discover_enrichers
    from sessionwatch.enrichers.parallel import run

    source, target, workers = argv[0], argv[1], int(argv[2])
    own, main, wall = time.process_time(), time.thread_time(), time.perf_counter()
    with open(source, "rb") as lines, open(target, "w", encoding="utf-8") as out:
        run(
            lines,
            out.write,
            lambda letter: None,
            profiles=ProfileRegistry.discover(),
            enrichers=discover_enrichers(),
            options=EngineOptions(reorder_window=60.0),
            workers=workers,
            output=out,  # as ``sessionwatch enrich`` passes its output file (and, without
            keep_state=False,  # ``--state``, asks for no state)
        )
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = {
        "parent_cpu_s": round(time.process_time() - own, 2),
        # of which its main thread (the rest: the threads that move messages to and from workers)
        "parent_main_cpu_s": round(time.thread_time() - main, 2),
        "workers_cpu_s": round(children.ru_utime + children.ru_stime, 2),
        "wall_s": round(time.perf_counter() - wall, 2),
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
