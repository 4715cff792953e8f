"""Measurement 1: enrichment throughput against the NDJSON floor, and memory per open session.

* throughput: ``sessionwatch enrich IN -o OUT`` (one process) against ``bench.floor`` (read,
  ``json.loads``, ``json.dumps``, write: nothing else) on the same file, run alternately; the
  ratio of the two is the figure (target: at most 2x).
* memory: ``sessionwatch enrich`` over workloads where N sessions are open at once (every login
  first, then requests, no logout); peak RSS against the same command on an empty input.
* profile: when the ratio misses the target, cProfile of the enricher on a slice, top functions.

``python -m bench.enrich_throughput [--events N] [--reps R] [--sessions 10000,50000,100000]``
"""

from __future__ import annotations

import argparse
import cProfile  # noqa: F401 - imported so a missing module fails here, not in the child
import hashlib
import json
import pstats
import re
import sys
from pathlib import Path
from typing import Any

from bench.common import (
    Section,
    Timed,
    banner,
    data_dir,
    head_file,
    load_average,
    run,
    sessionwatch_cli,
    workload_file,
)
from bench.workload import Spec, dumps, open_sessions

TARGET_RATIO = 2.0
MEMORY_TARGET_MIB = 1024.0


def _counts(stderr: str) -> dict[str, int]:
    line = next((ln for ln in stderr.splitlines() if ln.startswith("enrich: read=")), "")
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def enriched_file(events: int) -> Path:
    """Where ``throughput`` leaves the enriched workload of ``events`` (kept for ``bench.bound``)."""
    return data_dir() / f"enriched-{events}.ndjson"


def throughput(events: int, reps: int, baseline: list[str] | None = None) -> Section:
    """Alternately: the floor (stdlib and orjson), the ``baseline`` CLI (an earlier install,
    when given) and ``sessionwatch enrich``; best wall and CPU time of each."""
    section = Section("enrich_throughput")
    banner(f"1. enrichment throughput, one process, {events:,} events")
    raw, meta = workload_file(Spec(events=events))
    section.put("events", events)
    section.put("input_mib", round(raw.stat().st_size / 2**20, 1))
    out = enriched_file(events)
    before_out = data_dir() / f"enriched-before-{events}.ndjson"
    floor_out = data_dir() / f"floor-{events}.ndjson"
    timings: dict[str, list[Timed]] = {"floor": [], "floor_orjson": [], "before": [], "enrich": []}
    loads: list[float] = []
    for rep in range(reps):
        loads.append(load_average()[0])
        for label, cmd in (
            ("floor", [sys.executable, "-m", "bench.floor", str(raw), str(floor_out)]),
            (
                "floor_orjson",
                [sys.executable, "-m", "bench.floor", str(raw), str(floor_out), "--orjson"],
            ),
            ("before", [*(baseline or []), "enrich", str(raw), "-o", str(before_out)]),
            ("enrich", [*sessionwatch_cli(), "enrich", str(raw), "-o", str(out)]),
        ):
            if label == "before" and not baseline:
                continue
            timed = run(cmd)
            if timed.returncode not in (0, 1):
                raise RuntimeError(f"{label} failed: {timed.stderr}")
            timings[label].append(timed)
            print(f"  rep {rep + 1}: {label} {timed.wall:.1f} s wall / {timed.cpu:.1f} s cpu", flush=True)
    floor_outfile = floor_out.stat().st_size
    floor_out.unlink()
    best = {k: min(t.wall for t in v) for k, v in timings.items() if v}
    cpu = {k: min(t.cpu for t in v) for k, v in timings.items() if v}
    enriches = timings["enrich"]
    section.put("load_average_at_reps", loads, "load average (1 min) at the start of each repetition")
    section.put("floor_wall_s", round(best["floor"], 2), "floor (parse + serialize), best wall s")
    section.put("floor_cpu_s", round(cpu["floor"], 2), "floor, best CPU s")
    section.put("floor_orjson_cpu_s", round(cpu["floor_orjson"], 2), "floor with orjson, best CPU s")
    section.put("enrich_wall_s", round(best["enrich"], 2), "enrich, best wall s")
    section.put("enrich_cpu_s", round(cpu["enrich"], 2), "enrich, best CPU s")
    section.put("floor_events_per_s", round(events / best["floor"]), "floor events/s")
    section.put("enrich_events_per_s", round(events / best["enrich"]), "enrich events/s")
    section.put("enrich_events_per_cpu_s", round(events / cpu["enrich"]), "enrich events per CPU second")
    section.put("ratio_wall", round(best["enrich"] / best["floor"], 2), "enrich / floor (wall)")
    section.put("ratio_cpu", round(cpu["enrich"] / cpu["floor"], 2), "enrich / floor (CPU time)")
    section.put(
        "ratio_cpu_orjson_floor",
        round(cpu["enrich"] / cpu["floor_orjson"], 2),
        "enrich / orjson floor (CPU time)",
    )
    if baseline:
        section.put("before_cpu_s", round(cpu["before"], 2), "before (baseline CLI), best CPU s")
        section.put("before_ratio_cpu", round(cpu["before"] / cpu["floor"], 2), "before / floor (CPU time)")
        section.put("speedup_cpu", round(cpu["before"] / cpu["enrich"], 2), "before / after (CPU time)")
        section.put("byte_identical_to_before", _digest(out) == _digest(before_out), "output as before")
        before_out.unlink()
    section.put("target_ratio", TARGET_RATIO)
    section.put("enrich_peak_rss_mib", round(max(e.max_rss_mib for e in enriches), 1), "enrich peak RSS MiB")
    section.put("output_mib", round(out.stat().st_size / 2**20, 1), "enriched output MiB")
    section.put("floor_output_mib", round(floor_outfile / 2**20, 1), "floor output MiB")
    section.put("counts", _counts(enriches[-1].stderr))
    section.put("workload_sessions", meta["sessions"])
    section.put("workload_by_layout", meta["by_layout"])
    return section


def memory(sizes: list[int], rounds: int = 3) -> Section:
    section = Section("enrich_memory")
    banner(f"1b. enrichment memory with {', '.join(f'{n:,}' for n in sizes)} open sessions")
    empty = data_dir() / "empty.ndjson"
    empty.write_text("")
    base = run([*sessionwatch_cli(), "enrich", str(empty), "-o", "/dev/null"])
    section.put("baseline_rss_mib", round(base.max_rss_mib, 1), "baseline RSS (no events) MiB")
    rows: list[dict[str, Any]] = []
    for n in sizes:
        path = data_dir() / f"open-{n}-r{rounds}-v2.ndjson"
        if not path.exists():
            with path.open("w", encoding="utf-8") as out:
                for doc in open_sessions(n, rounds=rounds):
                    out.write(dumps(doc) + "\n")
        row: dict[str, Any] = {"open_sessions": n}
        for label, extra in (("", []), ("_no_reorder", ["--reorder-window", "0"])):
            timed = run([*sessionwatch_cli(), "enrich", str(path), "-o", "/dev/null", *extra])
            if timed.returncode not in (0, 1):
                raise RuntimeError(f"enrich failed: {timed.stderr}")
            counts = _counts(timed.stderr)
            growth = timed.max_rss_mib - base.max_rss_mib
            row["events"] = counts.get("read", 0)
            row[f"peak_rss_mib{label}"] = round(timed.max_rss_mib, 1)
            row[f"bytes_per_session{label}"] = round(growth * 2**20 / n)
            row[f"evicted{label}"] = counts.get("state_evicted", 0)
        rows.append(row)
        print(f"  {json.dumps(row)}", flush=True)
    section.put("rows", rows)
    largest = rows[-1]
    section.put("peak_rss_at_largest_mib", largest["peak_rss_mib"], "peak RSS at the largest size MiB")
    section.put(
        "peak_rss_at_largest_no_reorder_mib",
        largest["peak_rss_mib_no_reorder"],
        "same, --reorder-window 0 MiB",
    )
    section.note("the default 60 s reorder window holds a minute of events: memory grows with the event rate")
    section.put("target_mib", MEMORY_TARGET_MIB)
    return section


def profile(events: int, top: int = 18) -> Section:
    """cProfile of ``sessionwatch enrich`` on the first ``events`` lines of the workload."""
    section = Section("enrich_profile")
    banner(f"1c. profile of the enricher on {events:,} events (cProfile)")
    raw, _ = workload_file(Spec(events=max(events, 1_000_000)))
    part = head_file(raw, events)
    stats_file = data_dir() / "enrich.prof"
    cli = sessionwatch_cli()
    script = cli if len(cli) == 1 else [*cli[:1], *cli[1:]]
    timed = run(
        [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(stats_file),
            *script,
            "enrich",
            str(part),
            "-o",
            "/dev/null",
        ]
    )
    if timed.returncode not in (0, 1):
        raise RuntimeError(f"profiled enrich failed: {timed.stderr}")
    stats = pstats.Stats(str(stats_file))
    total = stats.total_tt  # type: ignore[attr-defined]
    rows = []
    entries = stats.stats  # type: ignore[attr-defined]
    for (filename, line, func), (_, calls, tottime, cumtime, _) in sorted(
        entries.items(), key=lambda item: -item[1][2]
    )[:top]:
        where = Path(filename).name if filename != "~" else "builtin"
        rows.append(
            {
                "function": f"{where}:{line}({func})",
                "calls": calls,
                "tottime_s": round(tottime, 2),
                "share": round(tottime / total, 3),
                "cumtime_s": round(cumtime, 2),
            }
        )
    section.put("profiled_total_s", round(total, 2))
    for row in rows:
        print(
            f"    {row['share']:6.1%}  {row['tottime_s']:7.2f} s  {row['calls']:>10,}  {row['function']}",
            flush=True,
        )
    section.figures["top"] = rows
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="enrichment throughput and memory")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--sessions", default="10000,50000,100000")
    parser.add_argument("--profile-events", type=int, default=200_000)
    args = parser.parse_args(argv)
    result = throughput(args.events, args.reps)
    memory([int(n) for n in args.sessions.split(",")])
    if result.figures["ratio_cpu"] > TARGET_RATIO:
        profile(args.profile_events)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
