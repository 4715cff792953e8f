"""The issue's targets for measurements 1 and 2, and each run's figures as ratios against them.

``python -m bench.targets RESULTS.json...`` prints the table for stored results; ``run_all``
prints it at the end of every run that measured 1 or 2.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    section: str
    figure: str
    label: str
    limit: float
    at_most: bool  # True: the figure must be <= limit; False: >= limit


TARGETS = (
    Target("enrich_throughput", "ratio_cpu", "enrichment / json floor, CPU", 2.0, True),
    Target("enrich_throughput", "ratio_wall", "enrichment / json floor, wall", 2.0, True),
    Target("scale_out", "cpu_ratio", "CPU of 2 workers / CPU of 1", 1.15, True),
    Target("scale_out", "speedup", "speed-up with 2 workers (wall, this machine)", 1.8, False),
    Target("scale_out", "cpu_bound_speedup", "speed-up 2 idle cores allow at most (total CPU)", 1.8, False),
    Target(
        "scale_out", "split_bound_speedup", "speed-up 2 idle cores allow (total and parent CPU)", 1.8, False
    ),
)
# figures of the same run against the baseline install (``--baseline``): after / before
BEFORE = (
    ("enrich_throughput", "before_ratio_cpu", "ratio_cpu", "enrichment / json floor, CPU"),
    ("scale_out", "before_cpu_ratio", "cpu_ratio", "CPU of 2 workers / CPU of 1"),
    ("scale_out", "before_speedup", "speedup", "speed-up with 2 workers (wall)"),
)


def rows(sections: dict[str, Any]) -> list[str]:
    """One line per target the run measured: figure, target, figure / target, verdict."""
    out = []
    for target in TARGETS:
        value = sections.get(target.section, {}).get("figures", {}).get(target.figure)
        if value is None:
            continue
        met = value <= target.limit if target.at_most else value >= target.limit
        sign = "<=" if target.at_most else ">="
        out.append(
            f"  {target.label}: {value:.2f}  (target {sign} {target.limit:.2f}; "
            f"figure / target {value / target.limit:.2f}: {'met' if met else 'MISSED'})"
        )
    for section, before, after, label in BEFORE:
        figures = sections.get(section, {}).get("figures", {})
        if before in figures and after in figures:
            out.append(
                f"  {label}: before {figures[before]:.2f} -> after {figures[after]:.2f} "
                f"(after / before {figures[after] / figures[before]:.2f})"
            )
    return out


def report(sections: dict[str, Any]) -> None:
    found = rows(sections)
    if found:
        print("\n== against the targets (issue 15, sections 1 and 2)")
        print("\n".join(found), flush=True)


def main(argv: list[str]) -> int:
    for name in argv:
        with open(name, encoding="utf-8") as handle:
            print(name)
            report(json.load(handle)["sections"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
