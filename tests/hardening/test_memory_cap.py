"""Open sessions are bounded by default (under 1 GiB) and every eviction at the cap is counted.

One million open sessions took 2.0 GB at the old default cap (1,000,000). The state of a
typical open session is measured here with tracemalloc over the benchmark's open-sessions
workload (every source layout, three requests each) and multiplied by the default cap.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest

from sessionwatch.enrichers import EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.parallel import run
from sessionwatch.enrichers.state import Limits

GIB = 1024**3
SAMPLE = 1500


def workload_lines(sessions: int) -> list[str]:
    from tests.unit.test_bench_workload import _load  # bench/ is not a package the tests import

    workload = _load()
    return [workload.dumps(doc) for doc in workload.open_sessions(sessions, rounds=3)]


def test_the_default_cap_keeps_open_sessions_under_one_gib() -> None:
    lines = workload_lines(SAMPLE)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = run(
            lines,
            lambda _: None,
            lambda _: None,
            profiles=ProfileRegistry.discover(),
            enrichers=discover_enrichers(),
            options=EngineOptions(reorder_window=0.0),
        )
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert result.open_sessions >= SAMPLE * 0.9
    per_session = held / result.open_sessions
    projected = per_session * Limits().max_sessions
    print(
        f"{per_session:.0f} bytes per open session; default cap {Limits().max_sessions:,}: "
        f"{projected / GIB:.2f} GiB"
    )
    assert projected < GIB


@pytest.mark.parametrize("workers", [1, 2])
def test_evictions_at_the_cap_are_counted(workers: int) -> None:
    lines = [
        json.dumps(
            {
                "@timestamp": f"2026-03-02T09:00:{i:02d}Z",
                "session": {"id": f"s-{i}"},
                "user": {"name": "a"},
                "event": {"action": "login", "outcome": "success"},
            }
        )
        for i in range(10)
    ]
    options = EngineOptions(reorder_window=0.0, limits=Limits(max_sessions=3))
    result = run(
        lines,
        lambda _: None,
        lambda _: None,
        profiles=ProfileRegistry.discover(),
        enrichers=discover_enrichers(),
        options=options,
        workers=workers,
    )
    assert result.counts.evicted_for_memory == 10 - 3 * workers  # each worker holds its own 3
    assert "evicted_for_memory=" in result.counts.line()
