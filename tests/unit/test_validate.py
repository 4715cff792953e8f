"""``validate``: schema errors and lint findings in one run; words instead of regular expressions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.cli import main
from sessionwatch.reports.human import plural
from tests.conftest import RuleWriter


def _report(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(capsys.readouterr().out)
    return report


def test_schema_errors_and_lint_findings_in_one_run(
    tmp_path: Path,
    idle_rule_data: dict[str, Any],
    write_rule: RuleWriter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = idle_rule_data
    data["severity"] = "urgent"  # schema error
    data["attack"] = ["T1550.004", "T9999"]  # lint SW301: not in the ATT&CK catalogue
    data["compliance"] = {"pci-dss-4.0": ["8.2.8", "99.9"]}  # lint SW303
    path = write_rule(tmp_path, data)
    assert main(["validate", str(path), "--format", "json"]) == 1
    checks = sorted((p["check"], p["pointer"]) for p in _report(capsys)["problems"])
    assert ("schema", "/severity") in checks
    assert ("SW301", "/attack/1") in checks
    assert ("SW303", "/compliance/pci-dss-4.0/1") in checks


def test_no_lint_finding_about_a_value_the_schema_rejected(
    tmp_path: Path,
    idle_rule_data: dict[str, Any],
    write_rule: RuleWriter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = idle_rule_data
    data["params"] = {"idle_timeout": "15 minutes"}  # schema error; no SW202 about it
    data["attack"] = ["T9999"]
    path = write_rule(tmp_path, data)
    assert main(["validate", str(path), "--format", "json"]) == 1
    problems = [p for p in _report(capsys)["problems"] if p["check"] != "SW601"]  # no fixture files here
    assert sorted((p["check"], p["pointer"]) for p in problems) == [
        ("SW301", "/attack/0"),
        ("schema", "/params/idle_timeout"),
    ]


def test_a_duration_error_says_what_a_duration_looks_like(
    tmp_path: Path,
    idle_rule_data: dict[str, Any],
    write_rule: RuleWriter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    idle_rule_data["params"] = {"idle_timeout": "15 minutes"}
    path = write_rule(tmp_path, idle_rule_data)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "not a duration: '15 minutes' (use 15m, 1h, 30d" in err
    assert "^[1-9]" not in err  # no regular expression


def test_a_file_with_too_little_rule_in_it_still_gets_its_schema_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "half.yml"
    path.write_text("name: half\nkind: not-a-kind\n")
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:2:7:" in err
    assert "SW" not in err


def test_summary_line_counts_errors_warnings_and_files(
    tmp_path: Path,
    idle_rule_data: dict[str, Any],
    write_rule: RuleWriter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    idle_rule_data["severity"] = "urgent"
    path = write_rule(tmp_path, idle_rule_data)
    assert main(["validate", str(path), "--report", str(tmp_path / "v.json")]) == 1
    summary = json.loads((tmp_path / "v.json").read_text())["summary"]
    assert summary["problems"] > 1  # the schema error and lint (here: fixtures not found)
    expected = (
        f"1 rule file: {plural(summary['problems'], 'error')}, {plural(summary['warnings'], 'warning')}"
    )
    assert capsys.readouterr().err.splitlines()[-1] == expected


@pytest.mark.parametrize("kind", [{}, [], 7, None], ids=["mapping", "list", "number", "null"])
def test_a_kind_of_the_wrong_type_is_a_schema_error_not_a_crash(
    kind: Any,
    tmp_path: Path,
    idle_rule_data: dict[str, Any],
    write_rule: RuleWriter,
    capsys: pytest.CaptureFixture[str],
) -> None:
    idle_rule_data["kind"] = kind
    path = write_rule(tmp_path, idle_rule_data)
    assert main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "(/kind)" in err
    assert "SW" not in err  # without a kind nothing is linted
