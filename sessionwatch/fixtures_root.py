"""Where a rule's fixture files live: the nearest ``fixtures/`` directory above the rule file."""

from __future__ import annotations

from pathlib import Path

from sessionwatch.rules.errors import RuleSchemaError
from sessionwatch.rules.model import Rule, RuleCase


def fixtures_root(rule_file: Path) -> Path | None:
    for folder in rule_file.resolve().parents:
        candidate = folder / "fixtures"
        if candidate.is_dir():
            return candidate
    return None


def fixture_path(rule: Rule, case: RuleCase, root: Path | None = None) -> Path:
    """The fixture file of ``case``; a located error when it cannot be found."""
    base = root or fixtures_root(rule.source)
    if base is None:
        raise RuleSchemaError(f"no fixtures/ directory above {rule.source}", case.location)
    path = (base / case.fixture).resolve()
    if not path.is_relative_to(base.resolve()):
        raise RuleSchemaError(f"fixture {case.fixture!r} leaves the fixtures directory", case.location)
    if not path.is_file():
        raise RuleSchemaError(f"fixture {case.fixture!r} not found in {base}", case.location)
    return path
