"""Fixtures for every test: where the shipped pack lives, and rule files built from it.

Also which Hypothesis profile the suite uses (``make test`` runs it in parallel workers:
scripts/run-tests.sh).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings

from tests import cpu_meter
from tests.shared_nodes import SHARED_NODE_GROUPS, release

# Hypothesis: every property test carries its own fixed ``max_examples``; the default profile
# draws them from a seed derived from the test itself (``derandomize``), so two runs of the
# suite test the same examples and a failure reproduces. ``SESSIONWATCH_HYPOTHESIS=explore``
# draws fresh examples each run and keeps failing ones in ``.hypothesis/`` (for a hunt by hand).
settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("SESSIONWATCH_HYPOTHESIS", "").strip() or "deterministic")

REPO = Path(__file__).resolve().parents[1]
# The modules that take longest on one worker (a node of their own, restarts, every command run
# many ways), longest first; measured with ``--durations=0`` (docs/benchmarks.md, "Issue 15, round
# 2"). They are collected first, so pytest-xdist (``--dist loadfile`` hands out whole modules in
# collection order) starts them at once instead of leaving one worker alone with one at the end.
LONGEST_FIRST = (
    "integration/test_secrets_every_command.py",
    "integration/test_tls_secrets.py",
    "integration/test_faults.py",
    "integration/test_user_repo.py",
    "integration/test_deploy.py",
    "integration/test_rule_pack.py",
    "hardening/test_rule_files.py",
    "integration/test_runner_node_restart.py",
    "integration/test_kibana_live.py",
    "integration/test_follow_group.py",
    "hardening/test_injection.py",
    "integration/test_runner.py",
    "integration/test_watch_dryrun.py",
    "integration/test_follow.py",
    "integration/test_deploy_tls.py",
    "integration/test_runner_security.py",
)
IDLE_RULE = REPO / "rules" / "pack" / "session_idle_timeout" / "pci-dss-idle-15m.yml"

RuleWriter = Callable[[Path, dict[str, Any]], Path]


def pytest_configure(config: pytest.Config) -> None:
    cpu_meter.register(config)  # SESSIONWATCH_TEST_CPU_LOG: CPU per test (tests/cpu_meter.py)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest modules first (``LONGEST_FIRST``); every other module, and every module's own
    tests, keep their order."""
    rank = {REPO / "tests" / name: n for n, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(Path(str(item.path)), len(rank)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the last test of the modules sharing one of scripts/run-tests.sh's extra nodes (they
    run on one worker, one after the other), stop that node (tests/shared_nodes.py, ``release``)."""
    yield
    node = SHARED_NODE_GROUPS.get(_module(item))
    if node and (nextitem is None or SHARED_NODE_GROUPS.get(_module(nextitem)) != node):
        release(node)


def _module(item: pytest.Item) -> str:
    """``integration/test_x.py`` for a test of tests/integration/test_x.py."""
    return item.nodeid.split("::", 1)[0].removeprefix("tests/")


def work_unit(nodeid: str) -> str:
    """What one pytest-xdist worker runs as a whole under ``--dist loadfile``: the test's module,
    or, for the modules sharing one of the extra nodes of scripts/run-tests.sh, all of them
    (tests/shared_nodes.py), so they never run at the same time."""
    module = nodeid.split("::", 1)[0]
    shared = SHARED_NODE_GROUPS.get(module.removeprefix("tests/"))
    return f"{shared} node" if shared else module


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # no such hook without xdist (tests/cluster: -p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` with the units of ``work_unit``. (``--dist loadgroup`` would do it
    with marks, but pytest-xdist 3.8 cannot rename a test under pytest 9, so it groups nothing.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling  # type: ignore[import-untyped]

    class SharedNodeScheduling(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return SharedNodeScheduling(config, log)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def pack_dir() -> Path:
    return REPO / "rules" / "pack"


@pytest.fixture
def idle_rule_path() -> Path:
    return IDLE_RULE


@pytest.fixture
def idle_rule_data() -> dict[str, Any]:
    """A fresh, mutable copy of the shipped PCI idle-timeout rule."""
    data: dict[str, Any] = yaml.safe_load(IDLE_RULE.read_text())
    return data


def _write_rule(folder: Path, data: dict[str, Any]) -> Path:
    (folder / "fixtures").mkdir(exist_ok=True)
    path = folder / f"{data['name']}.yml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def write_rule() -> RuleWriter:
    """Write rule data as ``<name>.yml`` in a folder, with a ``fixtures/`` dir beside it."""
    return _write_rule
