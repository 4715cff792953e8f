"""docs/cli.md is generated from the argparse parser; the committed file must match it."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_cli_reference", REPO / "scripts" / "gen_cli_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_cli_reference_matches_the_parser() -> None:
    generator = _generator()
    committed = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == generator.render(), f"docs/cli.md is out of date: run {generator.REGENERATE}"


def test_every_command_and_report_option_is_documented() -> None:
    from sessionwatch.cli import COMMANDS

    text = _generator().render()
    for name in COMMANDS:
        assert f"## sessionwatch {name}\n" in text
    assert text.count("| `--report` `FILE` |") == 2  # validate and test
