"""Run the whole benchmark suite and write its figures as JSON.

    python -m bench.run_all            # full: 1 M events enriched, 1 M and 5 M events in Elasticsearch
    python -m bench.run_all --quick    # smoke run with small sizes (a few minutes)
    python -m bench.run_all --only 1,5 # some measurements only (numbers as in docs/benchmarks.md)

Workloads, enriched indices and results are cached under ``$SESSIONWATCH_BENCH_DIR``
(default ``~/.cache/sessionwatch-bench``); the detection node keeps its data in a docker volume,
so the second run skips generation and bulk loading. ``--clean`` removes the volume at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from bench.common import Section, data_dir, machine
from bench.targets import report as report_targets


@dataclass(frozen=True)
class Sizes:
    enrich_events: int
    enrich_reps: int
    open_sessions: tuple[int, ...]
    scale_events: int
    scale_reps: int
    bulk_events: int
    detect_events: tuple[int, ...]
    detect_reps: int
    naive_max_events: int
    render_rules: int


FULL = Sizes(
    1_000_000,
    2,
    (10_000, 50_000, 100_000),
    1_000_000,
    1,
    1_000_000,
    (1_000_000, 5_000_000),
    15,
    1_000_000,  # the naive pull costs linear time; --naive-max-events 5000000 runs it at 5 M too
    1_000,
)
QUICK = Sizes(100_000, 1, (2_000, 10_000), 100_000, 1, 100_000, (100_000,), 5, 100_000, 1_000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="sessionwatch benchmark suite")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", default="1,2,3,4,5,6", help="measurements to run (1-7; 7 only when asked)")
    parser.add_argument("--naive-max-events", type=int, help="skip the naive comparison above this size")
    parser.add_argument("--reload", action="store_true", help="re-enrich and reload the detection indices")
    parser.add_argument("--keep-node", action="store_true", help="leave the benchmark node running")
    parser.add_argument("--clean", action="store_true", help="remove the benchmark node's data volume")
    parser.add_argument("--out", help="write the JSON results here (default: the cache directory)")
    parser.add_argument("--bulk-events", type=int, help="size of the bulk-loading comparison")
    parser.add_argument("--detect-events", help="comma-separated detection sizes (default 1000000,5000000)")
    parser.add_argument("--enrich-events", type=int, help="size of the throughput run (0: skip it)")
    parser.add_argument("--enrich-reps", type=int, help="alternating floor/enrich repetitions")
    parser.add_argument("--sessions", help="comma-separated open-session counts for the memory run")
    parser.add_argument("--scale-events", type=int, help="size of the 1-vs-2-workers run")
    parser.add_argument("--scale-reps", type=int, help="alternating 1/2-worker repetitions")
    parser.add_argument(
        "--scale-slope",
        action="store_true",
        help="measurement 2 also at a fifth and half the size: fixed cost and cost per event of each mode",
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the enricher profile")
    parser.add_argument("--detect-reps", type=int, help="repetitions of each detection query")
    parser.add_argument(
        "--baseline",
        help="an earlier install's sessionwatch command: measurements 1 and 2 also run it, alternately, "
        "and print after/before ratios",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    for name in ("enrich_events", "enrich_reps", "scale_events", "scale_reps", "detect_reps"):
        if getattr(args, name) is not None:
            sizes = replace(sizes, **{name: getattr(args, name)})
    if args.sessions is not None:
        sizes = replace(sizes, open_sessions=tuple(int(x) for x in args.sessions.split(",") if x))
    if args.bulk_events:
        sizes = replace(sizes, bulk_events=args.bulk_events)
    if args.detect_events:
        sizes = replace(sizes, detect_events=tuple(int(x) for x in args.detect_events.split(",")))
    only = {int(x) for x in args.only.split(",") if x}
    baseline = args.baseline.split() if args.baseline else None
    naive_max = args.naive_max_events if args.naive_max_events is not None else sizes.naive_max_events
    port = int(os.environ.get("SESSIONWATCH_BENCH_ES_PORT", "19260"))
    validate_port = int(os.environ.get("SESSIONWATCH_BENCH_VALIDATE_PORT", "19261"))
    started = time.perf_counter()
    info = machine()
    print(
        f"sessionwatch benchmarks ({'quick' if args.quick else 'full'}) on {info['cpu']}, "
        f"{info['cores']} cores, {info['memory_gib']} GiB, commit {info['commit']}, "
        f"load average {info['load_average']}",
        flush=True,
    )
    sections: list[Section] = []
    timings: dict[str, float] = {}

    def timed(name: str, section: Section | list[Section]) -> None:
        sections.extend(section if isinstance(section, list) else [section])
        timings[name] = round(time.perf_counter() - started, 1)

    if 1 in only:
        from bench.enrich_throughput import TARGET_RATIO, memory, profile, throughput

        found = []
        if sizes.enrich_events:
            found.append(throughput(sizes.enrich_events, sizes.enrich_reps, baseline))
        if sizes.open_sessions:
            found.append(memory(list(sizes.open_sessions)))
        missed = not sizes.enrich_events or found[0].figures["ratio_cpu"] > TARGET_RATIO
        if missed and not args.no_profile:
            found.append(profile(200_000 if not args.quick else 50_000))
        if missed and sizes.enrich_events:
            from bench.bound import bound
            from bench.common import workload_file
            from bench.enrich_throughput import enriched_file
            from bench.workload import Spec

            raw, _ = workload_file(Spec(events=sizes.enrich_events))
            found.append(bound(raw, enriched_file(sizes.enrich_events)))
        timed("1", found)
    if 2 in only:
        from bench.scale_out import scale_out

        found_2 = [scale_out(sizes.scale_events, sizes.scale_reps, baseline)]
        if args.scale_slope:
            from bench.scale_slope import slope

            found_2.append(slope(sizes.scale_events, sizes.scale_reps))
        timed("2", found_2)
    if only & {3, 4}:
        from bench.node import bench_node, stop_bench_node
        from sessionwatch.es import connect

        node = bench_node(port)
        try:
            client = connect(node.url, request_timeout=600)
            if 4 in only:
                from bench.load import bulk_rates

                timed("4", bulk_rates(client, sizes.bulk_events))
            if 3 in only:
                from bench.detect import detection
                from bench.load import detection_index

                for events in sizes.detect_events:
                    if args.reload:
                        detection_index(client, events, reload=True)
                    timed(
                        f"3@{events}", detection(client, events, sizes.detect_reps, naive=events <= naive_max)
                    )
        finally:
            if node.started_here and not args.keep_node:
                stop_bench_node(remove_data=args.clean)
    if 5 in only:
        from bench.render_rules import rendering

        timed("5", rendering(sizes.render_rules))
    if 6 in only:
        from bench.validation import validation

        timed("6", validation(validate_port))
    if 7 in only:  # followers sharing a source: the node at $SESSIONWATCH_ES_URL (--only 7)
        from bench.followers import followers

        timed("7", followers(20_000 if args.quick else 100_000))

    info["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "machine": info,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "elapsed_after_section_s": timings,
        "sections": {s.name: s.as_dict() for s in sections},
    }
    report_targets(results["sections"])
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or str(data_dir() / f"results-{stamp}.json")
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1)
    print(f"\nfinished in {results['elapsed_s']:.0f} s; results in {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
