"""Golden files: the rendered output of every shipped rule for every target.

A template or renderer change shows up as a reviewable diff of ``tests/golden/<target>/<rule>.json``
(JSON with sorted keys). After an intended change, regenerate them and review the diff::

    SESSIONWATCH_UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/unit/test_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.renderer import TARGETS, render
from sessionwatch.rules import load_rules
from sessionwatch.rules.errors import UnsupportedByTarget

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
UPDATE = os.environ.get("SESSIONWATCH_UPDATE_GOLDEN") == "1"
RULES = sorted(load_rules([REPO / "rules" / "pack"]), key=lambda r: r.name)
CASES = [(rule, target) for rule in RULES for target in sorted(TARGETS)]


def _rendered(rule: Any, target: str) -> str:
    try:
        output: Any = render(rule, target)
    except UnsupportedByTarget as exc:  # recorded too: a kind becoming (in)expressible is a change
        output = {"unsupported": exc.message}
    return json.dumps(output, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize(("rule", "target"), CASES, ids=[f"{t}:{r.name}" for r, t in CASES])
def test_rendered_output_matches_its_golden_file(rule: Any, target: str) -> None:
    path = GOLDEN / target / f"{rule.name}.json"
    text = _rendered(rule, target)
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no golden file {path}; run with SESSIONWATCH_UPDATE_GOLDEN=1"
    assert path.read_text(encoding="utf-8") == text, (
        f"{target} output of {rule.name} changed; if intended: SESSIONWATCH_UPDATE_GOLDEN=1 pytest {__file__}"
    )


def test_no_golden_file_without_a_rule() -> None:
    expected = {f"{target}/{rule.name}.json" for rule, target in CASES}
    found = {str(p.relative_to(GOLDEN)) for p in GOLDEN.rglob("*.json")}
    stale = sorted(found - expected)
    if UPDATE:
        for name in stale:
            (GOLDEN / name).unlink()
        stale = []
    assert stale == []
