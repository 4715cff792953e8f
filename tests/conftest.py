"""Fixtures for every test: where the shipped pack lives, and rule files built from it.

Also how the suite runs in parallel (``pytest -n 2 --dist loadgroup``, as ``make test`` does; see
docs/elasticsearch-in-tests.md) and which Hypothesis profile it uses.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings

# Hypothesis: every property test carries its own fixed ``max_examples``; the default profile
# draws them from a seed derived from the test itself (``derandomize``), so two runs of the
# suite test the same examples and a failure reproduces. ``SESSIONWATCH_HYPOTHESIS=explore``
# draws fresh examples each run and keeps failing ones in ``.hypothesis/`` (for a hunt by hand).
settings.register_profile("deterministic", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("SESSIONWATCH_HYPOTHESIS", "").strip() or "deterministic")

REPO = Path(__file__).resolve().parents[1]
IDLE_RULE = REPO / "rules" / "pack" / "session_idle_timeout" / "pci-dss-idle-15m.yml"

RuleWriter = Callable[[Path, dict[str, Any]], Path]


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


# --- parallel workers (pytest-xdist) ---------------------------------------------------------

_SHARED_SCOPES = frozenset({"module", "class", "package"})


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that share a module-scoped set-up (their own node, a replayed pack, an index built
    once) stay together on one worker (``--dist loadgroup``), so the set-up is done once;
    every other test goes to whichever worker is free."""
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        scopes = {defs[-1].scope for defs in info.name2fixturedefs.values() if defs}
        if scopes & _SHARED_SCOPES:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
