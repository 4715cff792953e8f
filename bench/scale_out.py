"""Measurement 2: one vs two partitioned workers (``sessionwatch enrich --workers N``).

Same input, alternately ``--workers 1`` and ``--workers 2``; speed-up from the best wall time of
each, and whether the outputs are identical: byte for byte, and as sets of lines.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from bench.common import REPO, Section, banner, data_dir, load_average, run, sessionwatch_cli, workload_file
from bench.workload import Spec


def _digest(path: Path, *, sort: bool) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        lines = sorted(handle) if sort else handle
        for line in lines:
            digest.update(line)
    return digest.hexdigest()


def _cpu_split(raw: Path, out: Path) -> dict[str, float]:
    """``bench.cpu_split`` with 2 workers: the parent's CPU and its workers'."""
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.cpu_split", str(raw), str(out), "2"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    out.unlink()
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  cpu split, 2 workers: {figures}", flush=True)
    return figures


def _start_cpu(reps: int = 3) -> float:
    """CPU s of ``enrich --workers 2`` on an empty input, best of ``reps``: what every run pays
    before its first line and after its last (imports, profiles, the workers' start and end),
    in one process at a time."""
    empty = data_dir() / "empty.ndjson"
    empty.write_text("")
    found = []
    for _ in range(reps):
        timed = run([*sessionwatch_cli(), "enrich", str(empty), "-o", "/dev/null", "--workers", "2"])
        found.append(timed.cpu)
    return round(min(found), 2)


def workers_supported() -> bool:
    shown = subprocess.run(  # noqa: S603 - our own CLI
        [*sessionwatch_cli(), "enrich", "--help"], capture_output=True, text=True, check=False
    ).stdout
    return "--workers" in shown


def scale_out(events: int, reps: int, baseline: list[str] | None = None) -> Section:
    """``--workers 1`` and ``--workers 2``, alternately, of this install and of ``baseline`` (an
    earlier install, when given): best wall and CPU time (all processes) of each."""
    section = Section("scale_out")
    banner(f"2. scaling out: 1 vs 2 partitioned workers, {events:,} events")
    if not workers_supported():
        section.note("sessionwatch enrich has no --workers option yet: not measured")
        return section
    raw, _ = workload_file(Spec(events=events))
    versions = {"after": sessionwatch_cli(), **({"before": baseline} if baseline else {})}
    outputs = {(v, n): data_dir() / f"workers-{v}-{n}-{events}.ndjson" for v in versions for n in (1, 2)}
    best: dict[tuple[str, int], float] = {}
    cpu: dict[tuple[str, int], float] = {}
    loads: list[float] = []
    walls: dict[tuple[str, int], list[float]] = {}
    for rep in range(reps):
        loads.append(load_average()[0])
        for version, cli in versions.items():
            for n in (1, 2):
                key = (version, n)
                cmd = [*cli, "enrich", str(raw), "-o", str(outputs[key]), "--workers", str(n)]
                timed = run(cmd)
                if timed.returncode not in (0, 1):
                    raise RuntimeError(f"{version} enrich --workers {n} failed: {timed.stderr}")
                best[key] = min(best.get(key, timed.wall), timed.wall)
                walls.setdefault(key, []).append(timed.wall)
                cpu[key] = min(cpu.get(key, timed.cpu), timed.cpu)
                print(
                    f"  rep {rep + 1}: {version} --workers {n}: {timed.wall:.1f} s wall, "
                    f"{timed.cpu:.1f} s cpu",
                    flush=True,
                )
    section.put("load_average_at_reps", loads, "load average (1 min) at the start of each repetition")
    for version in versions:
        tag = "" if version == "after" else "before_"
        section.put(
            f"{tag}speedup_per_rep",
            [round(one / two, 2) for one, two in zip(walls[version, 1], walls[version, 2], strict=True)],
            f"{version}: speed-up (wall) of each repetition",
        )
        tag = "" if version == "after" else "before_"
        section.put(f"{tag}workers_1_s", round(best[version, 1], 2), f"{version}: --workers 1, best wall s")
        section.put(f"{tag}workers_2_s", round(best[version, 2], 2), f"{version}: --workers 2, best wall s")
        section.put(
            f"{tag}speedup", round(best[version, 1] / best[version, 2], 2), f"{version}: speed-up (wall)"
        )
        section.put(f"{tag}cpu_1_s", round(cpu[version, 1], 1), f"{version}: CPU s, 1 worker")
        section.put(
            f"{tag}cpu_2_s", round(cpu[version, 2], 1), f"{version}: CPU s, 2 workers (all processes)"
        )
        section.put(
            f"{tag}cpu_ratio",
            round(cpu[version, 2] / cpu[version, 1], 2),
            f"{version}: CPU of 2 workers / CPU of 1 (target <= 1.15)",
        )
        section.put(
            f"{tag}cpu_bound_speedup",
            round(2 * cpu[version, 1] / cpu[version, 2], 2),
            f"{version}: speed-up 2 idle cores allow at most (2 x CPU of 1 / CPU of 2)",
        )
    split = _cpu_split(raw, data_dir() / f"workers-split-{events}.ndjson")
    section.put("parent_cpu_s", split["parent_cpu_s"], "after, 2 workers in-process: CPU s of the parent")
    if "parent_main_cpu_s" in split:
        section.put(
            "parent_main_cpu_s",
            split["parent_main_cpu_s"],
            "after, 2 workers in-process: of the parent's CPU s, its main thread's",
        )
    section.put("workers_cpu_s", split["workers_cpu_s"], "after, 2 workers in-process: CPU s of both workers")
    parent = split["parent_cpu_s"]
    section.put(
        "split_bound_speedup",
        round(cpu["after", 1] / max(cpu["after", 2] / 2, parent), 2),
        "after: speed-up 2 idle cores allow (CPU of 1 / max(CPU of 2 / 2, parent's CPU))",
    )
    start = _start_cpu()
    section.put("start_cpu_s", start, "after: CPU s of --workers 2 on an empty input (serial: start, exit)")
    section.put(
        "serial_bound_speedup",
        round(cpu["after", 1] / (start + max((cpu["after", 2] - start) / 2, parent)), 2),
        "after: speed-up 2 idle cores allow, the serial start-up counted "
        "(CPU of 1 / (start + max((CPU of 2 - start) / 2, parent's CPU)))",
    )
    section.put("workers_1_events_per_s", round(events / best["after", 1]))
    section.put("workers_2_events_per_s", round(events / best["after", 2]))
    one = _digest(outputs["after", 1], sort=False)
    section.put("byte_identical", one == _digest(outputs["after", 2], sort=False))
    section.put(
        "same_lines",
        _digest(outputs["after", 1], sort=True) == _digest(outputs["after", 2], sort=True),
        "same set of output lines",
    )
    if baseline:
        section.put("same_as_before", one == _digest(outputs["before", 1], sort=False), "output as before")
    for path in outputs.values():
        path.unlink()
    return section
