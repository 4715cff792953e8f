"""Where the test suite's CPU goes (docs/benchmarks.md, "Issue 15, round 4: the suite").

``scripts/run-tests.sh`` with ``SESSIONWATCH_TEST_CPU_LOG=<prefix>`` set calls

* ``suite-cpu.py snapshot <prefix> <label>`` before and after each pytest run: appends the CPU
  seconds used so far by every running container (the Elasticsearch nodes, from their cgroups)
  and by the whole machine (``/proc/stat``) to ``<prefix>.snapshots.jsonl``;
* ``suite-cpu.py report <prefix>`` at the end: a Markdown table per test module of the per-test
  records ``tests/cpu_meter.py`` wrote (``<prefix>.<worker>.jsonl``), the costliest tests, and
  the containers' CPU between the snapshots.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _container_cpu(container_id: str) -> float | None:
    """CPU-seconds a container used so far (cgroup v1 cpuacct, else cgroup v2 cpu.stat)."""
    v1 = Path(f"/sys/fs/cgroup/cpuacct/docker/{container_id}/cpuacct.usage")
    if v1.exists():
        return int(v1.read_text()) / 1e9
    for v2 in (
        Path(f"/sys/fs/cgroup/system.slice/docker-{container_id}.scope/cpu.stat"),
        Path(f"/sys/fs/cgroup/docker/{container_id}/cpu.stat"),
    ):
        if v2.exists():
            for line in v2.read_text().splitlines():
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
    return None


def _containers() -> dict[str, float]:
    listing = subprocess.run(
        ["docker", "ps", "--no-trunc", "--format", "{{.ID}} {{.Names}}"],  # noqa: S607 - docker from PATH
        capture_output=True,
        text=True,
        check=False,
    )
    cpu: dict[str, float] = {}
    for line in listing.stdout.splitlines():
        container_id, _, name = line.partition(" ")
        seconds = _container_cpu(container_id)
        if seconds is not None:
            cpu[name] = seconds
    return cpu


def _machine() -> dict[str, float]:
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return {"busy": (sum(fields) - idle) / CLOCK_TICKS, "total": sum(fields) / CLOCK_TICKS}


def snapshot(prefix: str, label: str) -> None:
    record = {"label": label, "time": time.time(), "containers": _containers(), "machine": _machine()}
    record["load"] = os.getloadavg()[0]
    with open(f"{prefix}.snapshots.jsonl", "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def _tests(prefix: str) -> list[dict[str, Any]]:
    folder, stem = Path(prefix).parent, Path(prefix).name
    records = []
    for path in sorted(folder.glob(f"{stem}.*.jsonl")):
        if path.name.endswith(".snapshots.jsonl"):
            continue
        run = path.name[len(stem) + 1 : -len(".jsonl")].rsplit("-", 1)[0]  # <prefix>.<version>-<worker>.jsonl
        records += [{**json.loads(line), "run": run} for line in path.read_text().splitlines() if line]
    return records


def report(prefix: str) -> str:
    tests = _tests(prefix)
    modules: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0, 0.0])
    for test in tests:
        row = modules[f"{test['test'].split('::', 1)[0]} ({test['run']})"]
        row[0] += 1
        row[1] += test["wall"]
        row[2] += test["cpu"]
        row[3] += test["children"]
    lines = [
        "| module | tests | wall s (sum) | pytest CPU-s | child processes CPU-s | CPU-s |",
        "|---|---|---|---|---|---|",
    ]
    total = [0, 0.0, 0.0, 0.0]
    for module, row in sorted(modules.items(), key=lambda kv: -(kv[1][2] + kv[1][3])):
        cpu = row[2] + row[3]
        lines.append(f"| {module} | {row[0]:.0f} | {row[1]:.1f} | {row[2]:.1f} | {row[3]:.1f} | {cpu:.1f} |")
        total = [a + b for a, b in zip(total, row, strict=True)]
    lines.append(
        f"| **all** | {total[0]:.0f} | {total[1]:.1f} | {total[2]:.1f} | {total[3]:.1f} | "
        f"{total[2] + total[3]:.1f} |"
    )
    lines += ["", "| costliest tests | wall s | CPU-s (pytest + children) |", "|---|---|---|"]
    for test in sorted(tests, key=lambda t: -(t["cpu"] + t["children"]))[:25]:
        lines.append(f"| {test['test']} | {test['wall']:.1f} | {test['cpu'] + test['children']:.1f} |")
    lines += ["", _containers_report(prefix)]
    return "\n".join(lines)


def _containers_report(prefix: str) -> str:
    path = Path(f"{prefix}.snapshots.jsonl")
    if not path.exists():
        return "(no container snapshots)"
    shots = [json.loads(line) for line in path.read_text().splitlines() if line]
    lines = [
        "| pytest run | wall s | load at start-end | containers' CPU-s during it | "
        "containers' CPU-s before it (start-up) | machine busy CPU-s |",
        "|---|---|---|---|---|---|",
    ]
    starts: dict[str, dict[str, Any]] = {}
    for shot in shots:  # the main and the compatibility run append to one file, interleaved
        label, _, edge = shot["label"].rpartition(" ")
        if edge == "start":
            starts[label] = shot
            continue
        before = starts.pop(label, None)
        if before is None:
            continue
        used = {
            name: seconds - before["containers"][name]
            for name, seconds in shot["containers"].items()
            if name in before["containers"]
        }
        per_container = ", ".join(f"{name} {seconds:.0f}" for name, seconds in sorted(used.items()))
        lines.append(
            f"| {label} | {shot['time'] - before['time']:.0f} | {before['load']:.1f}-{shot['load']:.1f} | "
            f"{sum(used.values()):.0f} ({per_container}) | {sum(before['containers'].values()):.0f} | "
            f"{shot['machine']['busy'] - before['machine']['busy']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "snapshot":
        snapshot(argv[1], argv[2])
        return 0
    if len(argv) == 2 and argv[0] == "report":
        print(report(argv[1]))
        return 0
    print("usage: suite-cpu.py snapshot PREFIX LABEL | report PREFIX", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
