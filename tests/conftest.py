"""Fixtures for every test: where the shipped pack lives, and rule files built from it.

Also which Hypothesis profile the suite uses (``make test`` runs it in parallel workers:
scripts/run-tests.sh).
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
