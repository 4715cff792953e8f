"""Measurement 6: ``sessionwatch test`` for the whole pack, split into node start-up and the rest.

Start-up: ``docker compose up`` of the repository's own ``docker-compose.yml`` (its own project
name, so it never touches another node) until ``_cluster/health`` is yellow. The rest: the
``sessionwatch test`` process against that node, from exec to exit. The node is removed after.
"""

from __future__ import annotations

import pstats
import re
import sys

from bench.common import Section, banner, data_dir, run, sessionwatch_cli
from bench.node import validation_node_down, validation_node_up

TARGET_REST_S = 30.0


def validation(port: int) -> Section:
    section = Section("validation")
    banner("6. validation wall time: sessionwatch test for the whole pack")
    node = validation_node_up(port)
    try:
        assert node.startup_s is not None
        section.put("node_startup_s", round(node.startup_s, 1), "node start-up (compose up -> healthy) s")
        timed = run([*sessionwatch_cli(), "test", "--es-url", node.url])
        section.put("test_s", round(timed.wall, 1), "sessionwatch test (the rest) s")
        section.put("test_cpu_s", round(timed.cpu, 1), "its CPU time s")
        section.put("exit_code", timed.returncode)
        summary = re.search(r"(\d+) cases: (\d+) passed, (\d+) failed", timed.stderr)
        if summary:
            cases, passed, failed = (int(g) for g in summary.groups())
            section.put("cases", cases)
            section.put("passed", passed)
            section.put("failed", failed)
        else:
            section.note(f"no summary line from sessionwatch test: {timed.stderr[-300:]}")
        section.put("target_rest_s", TARGET_REST_S)
        if timed.wall > TARGET_REST_S:
            section.figures["breakdown"] = breakdown(node.url)
    finally:
        validation_node_down(port)
    return section


# Elasticsearch client calls whose wall time the breakdown reports (cProfile's timer is wall time).
CALLS = {
    "indices.create": ("indices.py", "create"),
    "indices.delete": ("indices.py", "delete"),
    "indices.refresh": ("indices.py", "refresh"),
    "indices.put_index_template": ("indices.py", "put_index_template"),
    "bulk": ("__init__.py", "bulk"),
    "search": ("__init__.py", "search"),
    "msearch": ("__init__.py", "msearch"),
}


def breakdown(url: str) -> dict[str, dict[str, float]]:
    """Where ``sessionwatch test`` spends its wall time: a second, profiled run."""
    stats_file = data_dir() / "test.prof"
    script = sessionwatch_cli()
    timed = run([sys.executable, "-m", "cProfile", "-o", str(stats_file), *script, "test", "--es-url", url])
    if timed.returncode not in (0, 1):
        return {}
    stats = pstats.Stats(str(stats_file)).stats  # type: ignore[attr-defined]
    out: dict[str, dict[str, float]] = {"profiled_run": {"wall_s": round(timed.wall, 1)}}
    for label, (filename, func) in CALLS.items():
        for (path, _, name), (_, calls, _, cumtime, _) in stats.items():
            if name == func and path.endswith(filename) and "elasticsearch/_sync/client" in path:
                out[label] = {"calls": calls, "seconds": round(cumtime, 2)}
                print(f"    {label:<28} {calls:>6} calls  {cumtime:7.2f} s", flush=True)
    return out
