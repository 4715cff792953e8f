"""Measurement 1d: how far one process can get from the floor, stage by stage.

In this process, on the first ``LIMIT`` lines of a workload and of its enriched output (what
``sessionwatch enrich`` wrote for it), CPU time per event (``time.process_time``; the output
kept in memory, no file I/O) of:

* ``floor``: ``json.loads`` and ``json.dumps`` of each line (the floor's work);
* ``skeleton``: what one event costs if every fact were free: ``orjson.loads`` of the line, its
  facts (taken from the enriched output) copied into a fresh nested object group by group as
  the engine builds it, ``orjson.dumps``, the line spliced and kept;
* ``mapping``: ``Mapper.map`` of each line (parse, profile, admission, canonical values);
* ``engine``: ``parallel.run`` of every line in one process, as ``sessionwatch enrich`` runs it
  (the output written to memory).

The budget a 2x target leaves for the work beyond the skeleton is ``2 x floor - skeleton``;
the engine spends ``engine - skeleton`` on it. ``python -m bench.bound RAW ENRICHED`` prints one
JSON object.
"""

from __future__ import annotations

import gc
import io
import json
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from bench.common import REPO, Section, banner

LIMIT = 100_000  # lines held in memory (1 M lines and their facts would take gigabytes)
REPS = 2  # best of


def _best(work: Callable[[], None], count: int) -> float:
    """Best CPU microseconds per event of ``work`` over ``REPS`` runs."""
    found = []
    for _ in range(REPS):
        gc.collect()
        began = time.process_time()
        work()
        found.append((time.process_time() - began) / count * 1e6)
    return round(min(found), 2)


def measure(raw_path: Path, enriched_path: Path) -> dict[str, Any]:
    from sessionwatch.enrichers import EngineOptions, ProfileRegistry, discover_enrichers
    from sessionwatch.enrichers.engine import Engine
    from sessionwatch.enrichers.parallel import run

    with raw_path.open("rb") as handle:
        raw = list(islice(handle, LIMIT))
    with enriched_path.open("rb") as handle:
        facts = [orjson.loads(line)["sessionwatch"] for line in islice(handle, LIMIT)]
    if len(facts) != len(raw):
        raise SystemExit(f"{enriched_path}: {len(facts)} lines for {len(raw)} raw lines")
    count = len(raw)
    options = EngineOptions(reorder_window=60.0)
    profiles, enrichers = ProfileRegistry.discover(), discover_enrichers()

    def floor() -> None:
        out = io.StringIO()
        for line in raw:
            out.write(json.dumps(json.loads(line)) + "\n")

    def skeleton() -> None:
        out = io.StringIO()
        for line, done in zip(raw, facts, strict=True):
            text = line.decode("utf-8").rstrip("\r\n")
            orjson.loads(text)
            built: dict[str, Any] = {}
            for group, leaves in done.items():
                made = built[group] = {}
                for name, value in leaves.items():
                    made[name] = value
            out.write(f'{text[:-1]},"sessionwatch":{orjson.dumps(built).decode()}}}\n')

    def mapping() -> None:
        map_line = Engine(profiles, enrichers, options=options).front.mapper.map
        for number, line in enumerate(raw, start=1):
            map_line(number, line)

    def engine() -> None:  # as ``sessionwatch enrich`` runs it, minus the files
        out = io.StringIO()
        run(raw, out.write, lambda dead: None, profiles=profiles, enrichers=enrichers, options=options)

    figures = {
        "events": count,
        "floor_us": _best(floor, count),
        "skeleton_us": _best(skeleton, count),
        "mapping_us": _best(mapping, count),
        "engine_us": _best(engine, count),
    }
    return figures


def bound(raw_path: Path, enriched_path: Path) -> Section:
    """``measure`` in a child process (its memory is returned when it ends), as a section."""
    section = Section("enrich_bound")
    banner(f"1d. one process against the floor, stage by stage (first {LIMIT:,} events, in-process)")
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.bound", str(raw_path), str(enriched_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    floor = figures["floor_us"]
    section.put("events", figures["events"])
    section.put("floor_us", floor, "floor (json.loads + json.dumps), CPU µs per event")
    section.put("skeleton_us", figures["skeleton_us"], "skeleton (every fact free), CPU µs per event")
    section.put("mapping_us", figures["mapping_us"], "mapping only, CPU µs per event")
    section.put("engine_us", figures["engine_us"], "whole engine, CPU µs per event")
    section.put("skeleton_ratio", round(figures["skeleton_us"] / floor, 2), "skeleton / floor")
    section.put("engine_ratio", round(figures["engine_us"] / floor, 2), "engine / floor (in-process)")
    budget = 2 * floor - figures["skeleton_us"]
    spent = figures["engine_us"] - figures["skeleton_us"]
    section.put("budget_us", round(budget, 2), "what 2x the floor leaves beyond the skeleton, µs per event")
    section.put("beyond_skeleton_us", round(spent, 2), "what the engine spends beyond the skeleton, µs")
    section.put(
        "needed_speedup",
        round(spent / budget, 2) if budget > 0 else None,
        "how much faster that work would have to run for 2x",
    )
    return section


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]), Path(sys.argv[2]))))
