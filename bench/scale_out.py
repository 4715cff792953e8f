"""Measurement 2: one vs two partitioned workers (``sessionwatch enrich --workers N``).

Same input, alternately ``--workers 1`` and ``--workers 2``; speed-up from the best wall time of
each, and whether the outputs are identical: byte for byte, and as sets of lines.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from bench.common import Section, banner, data_dir, run, sessionwatch_cli, workload_file
from bench.workload import Spec


def _digest(path: Path, *, sort: bool) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        lines = sorted(handle) if sort else handle
        for line in lines:
            digest.update(line)
    return digest.hexdigest()


def workers_supported() -> bool:
    shown = subprocess.run(  # noqa: S603 - our own CLI
        [*sessionwatch_cli(), "enrich", "--help"], capture_output=True, text=True, check=False
    ).stdout
    return "--workers" in shown


def scale_out(events: int, reps: int) -> Section:
    section = Section("scale_out")
    banner(f"2. scaling out: 1 vs 2 partitioned workers, {events:,} events")
    if not workers_supported():
        section.note("sessionwatch enrich has no --workers option yet: not measured")
        return section
    raw, _ = workload_file(Spec(events=events))
    outputs = {n: data_dir() / f"workers-{n}-{events}.ndjson" for n in (1, 2)}
    best: dict[int, float] = {}
    cpu: dict[int, float] = {}
    for rep in range(reps):
        for n in (1, 2):
            timed = run([*sessionwatch_cli(), "enrich", str(raw), "-o", str(outputs[n]), "--workers", str(n)])
            if timed.returncode not in (0, 1):
                raise RuntimeError(f"enrich --workers {n} failed: {timed.stderr}")
            best[n] = min(best.get(n, timed.wall), timed.wall)
            cpu[n] = min(cpu.get(n, timed.cpu), timed.cpu)
            print(
                f"  rep {rep + 1}: --workers {n}: {timed.wall:.1f} s wall, {timed.cpu:.1f} s cpu", flush=True
            )
    section.put("workers_1_s", round(best[1], 2), "--workers 1, best wall s")
    section.put("workers_2_s", round(best[2], 2), "--workers 2, best wall s")
    section.put("speedup", round(best[1] / best[2], 2), "speed-up (1 worker / 2 workers)")
    section.put("workers_1_events_per_s", round(events / best[1]))
    section.put("workers_2_events_per_s", round(events / best[2]))
    section.put("cpu_1_s", round(cpu[1], 1), "CPU seconds, 1 worker (all processes)")
    section.put("cpu_2_s", round(cpu[2], 1), "CPU seconds, 2 workers (all processes)")
    section.put("byte_identical", _digest(outputs[1], sort=False) == _digest(outputs[2], sort=False))
    section.put(
        "same_lines",
        _digest(outputs[1], sort=True) == _digest(outputs[2], sort=True),
        "same set of output lines",
    )
    for path in outputs.values():
        path.unlink()
    return section
