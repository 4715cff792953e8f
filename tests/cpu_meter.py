"""Where the suite's CPU goes: per test, the wall time and the CPU-seconds (user + system) of the
pytest process and of the child processes it waited for (CLI subprocesses, ``docker``, ``git``),
from ``resource.getrusage`` around each test's set-up, call and tear-down.

Off unless ``SESSIONWATCH_TEST_CPU_LOG`` names a file prefix: each pytest process (every xdist
worker, the serial run) then writes ``<prefix>.<version>-<worker>.jsonl``, one line per test
(``scripts/suite-cpu.py`` sums them per module, with the Elasticsearch containers' CPU). A
module-scoped fixture counts towards the test that set it up or tore it down; a session-scoped
one towards the first or last test of its worker.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from typing import IO

import pytest

ENV = "SESSIONWATCH_TEST_CPU_LOG"


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """The pytest plugin: ``pytest_runtest_protocol`` wrapped, one JSON line per test."""

    def __init__(self, prefix: str, worker: str) -> None:
        self._out: IO[str] = open(f"{prefix}.{worker}.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._worker = worker

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        wall, own, children = time.monotonic(), _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN)
        yield
        record = {
            "test": item.nodeid,
            "worker": self._worker,
            "wall": round(time.monotonic() - wall, 4),
            "cpu": round(_cpu(resource.RUSAGE_SELF) - own, 4),
            "children": round(_cpu(resource.RUSAGE_CHILDREN) - children, 4),
        }
        self._out.write(json.dumps(record) + "\n")
        self._out.flush()

    def pytest_unconfigure(self) -> None:
        self._out.close()


def register(config: pytest.Config) -> None:
    """Install the meter when ``SESSIONWATCH_TEST_CPU_LOG`` is set (called from conftest)."""
    prefix = os.environ.get(ENV, "").strip()
    if not prefix:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker and (getattr(config.option, "numprocesses", None) or 0):
        return  # the xdist controller runs no test
    # the main run and the compatibility run beside it (scripts/run-tests.sh) both have gw0 and gw1
    version = os.environ.get("SESSIONWATCH_ES_VERSION", "").strip() or "es"
    name = f"{version}-{worker or f'main-{os.getpid()}'}"
    config.pluginmanager.register(CpuMeter(prefix, name), "sessionwatch-cpu-meter")
