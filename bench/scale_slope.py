"""Measurement 2b: one and two workers at three sizes, and what the sizes say.

``sessionwatch enrich --workers 1`` and ``--workers 2`` on the first N/5, N/2 and N lines of the
workload into a file (as measurement 2), alternately, best wall time of each; a straight line
fitted to each mode's times (least squares) splits them into a fixed cost (start and end) and a
cost per event. The ratio of the two per-event costs is the speed-up two workers give once the
fixed cost no longer counts; the fixed costs say what the start takes from it at a given size.
"""

from __future__ import annotations

from bench.common import Section, banner, data_dir, head_file, run, sessionwatch_cli, workload_file
from bench.workload import Spec


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """(fixed, per event) of the least-squares line through ``points`` (events, seconds)."""
    count = len(points)
    mean_x = sum(x for x, _ in points) / count
    mean_y = sum(y for _, y in points) / count
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / spread
    return mean_y - slope * mean_x, slope


def slope(events: int, reps: int) -> Section:
    section = Section("scale_slope")
    sizes = [events // 5, events // 2, events]
    banner(f"2b. 1 vs 2 workers at {', '.join(f'{n:,}' for n in sizes)} events (fixed cost and per event)")
    raw, _ = workload_file(Spec(events=events))
    out = data_dir() / "slope-out.ndjson"  # a regular file: the workers write their lines into it
    best: dict[tuple[int, int], float] = {}
    for size in sizes:
        path = raw if size == events else head_file(raw, size)
        for _ in range(reps):
            for workers in (1, 2):
                timed = run(
                    [*sessionwatch_cli(), "enrich", str(path), "-o", "/dev/null", "--workers", str(workers)]
                )
                if timed.returncode not in (0, 1):
                    raise RuntimeError(f"enrich --workers {workers} failed: {timed.stderr}")
                key = (size, workers)
                best[key] = min(best.get(key, timed.wall), timed.wall)
        print(
            f"  {size:,} events: {best[size, 1]:.2f} s / {best[size, 2]:.2f} s, "
            f"speed-up {best[size, 1] / best[size, 2]:.2f}",
            flush=True,
        )
    out.unlink(missing_ok=True)
    section.put("sizes", sizes)
    section.put("speedups", [round(best[n, 1] / best[n, 2], 2) for n in sizes], "speed-up at each size")
    fixed_1, per_1 = fit([(n, best[n, 1]) for n in sizes])
    fixed_2, per_2 = fit([(n, best[n, 2]) for n in sizes])
    section.put("fixed_1_s", round(fixed_1, 3), "1 worker: fixed s")
    section.put("per_event_1_us", round(per_1 * 1e6, 2), "1 worker: µs per event")
    section.put("fixed_2_s", round(fixed_2, 3), "2 workers: fixed s")
    section.put("per_event_2_us", round(per_2 * 1e6, 2), "2 workers: µs per event")
    section.put("per_event_speedup", round(per_1 / per_2, 2), "speed-up per event (without the fixed costs)")
    return section
