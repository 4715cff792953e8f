"""``rule_hash`` identifies what a rule enforces, not how its file is written."""

from __future__ import annotations

from pathlib import Path

from sessionwatch.rules import load_rule_file
from sessionwatch.rules.identity import rule_hash


def _variant(tmp_path: Path, source: Path, name: str, old: str, new: str) -> str:
    text = source.read_text(encoding="utf-8")
    assert old in text
    folder = tmp_path / name
    folder.mkdir()
    path = folder / source.name
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return rule_hash(load_rule_file(path))


def test_hash_ignores_layout_and_follows_content(tmp_path: Path, idle_rule_path: Path) -> None:
    original = rule_hash(load_rule_file(idle_rule_path))
    assert original.startswith("sha256:")
    assert len(original) == len("sha256:") + 64
    same = {
        "comment": ("params:\n", "params:  # the PCI DSS 8.2.8 threshold\n"),
        "blank lines": ("scope:\n", "\n\nscope:\n"),
        "duration spelling": ("idle_timeout: 15m", "idle_timeout: 900s"),
        "quoting": ("idle_timeout: 15m", 'idle_timeout: "15m"'),
    }
    for label, (old, new) in same.items():
        assert _variant(tmp_path, idle_rule_path, label.replace(" ", "-"), old, new) == original, label
    changed = {
        "threshold": ("idle_timeout: 15m", "idle_timeout: 16m"),
        "severity": ("severity: high", "severity: medium"),
        "lookback": ("lookback: 1h", "lookback: 2h"),
    }
    for label, (old, new) in changed.items():
        assert _variant(tmp_path, idle_rule_path, label, old, new) != original, label
