"""``sessionwatch new``: every kind scaffolds a rule that loads and lints clean, with fixtures
where the harness will look for them (the cases pass in Elasticsearch:
tests/integration/test_user_repo.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sessionwatch.cli import main
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.rules import load_rule_file
from sessionwatch.rules.kinds import Kind
from sessionwatch.scaffold import scaffold


@pytest.mark.parametrize("kind", list(Kind), ids=[k.value for k in Kind])
def test_every_kind_scaffolds_a_valid_rule(
    kind: Kind, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    name = f"acme-{kind.value.replace('_', '-')}"
    assert main(["new", "--kind", kind.value, name]) == 0
    rule_path = Path("rules") / kind.value / f"{name}.yml"
    assert capsys.readouterr().out.splitlines()[0] == f"created {rule_path}"
    rule = load_rule_file(rule_path)
    assert rule.kind is kind
    assert [case.name for case in rule.tests] == ["positive", "negative"]
    assert rule.tests[0].expect
    assert rule.tests[1].expect == ()
    for case in rule.tests:
        fixture = fixture_path(rule, case)
        assert fixture.parent == (tmp_path / "fixtures" / kind.value / name).resolve()
        lines = fixture.read_text().splitlines()
        assert all(json.loads(line)["event"]["id"] for line in lines)
    assert main(["validate", "rules", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["summary"]["problems"] == 0
    assert {p["check"] for p in report["problems"]} <= {"SW403"}  # one case each way: a nudge


def test_fixtures_go_to_the_nearest_existing_fixtures_dir(tmp_path: Path) -> None:
    (tmp_path / "fixtures").mkdir()
    rules = tmp_path / "detections" / "rules"
    made = scaffold(Kind("session_idle_timeout"), "acme-idle", rules)
    assert made.rule == rules / "session_idle_timeout" / "acme-idle.yml"
    assert made.positive == tmp_path / "fixtures" / "session_idle_timeout" / "acme-idle" / "positive.ndjson"
    rule = load_rule_file(made.rule)
    assert fixture_path(rule, rule.tests[0]) == made.positive.resolve()


def test_existing_files_are_never_overwritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "--kind", "session_idle_timeout", "acme-idle"]) == 0
    rule = tmp_path / "rules" / "session_idle_timeout" / "acme-idle.yml"
    rule.write_text("# edited by hand\n")
    capsys.readouterr()
    assert main(["new", "--kind", "session_idle_timeout", "acme-idle"]) == 2  # usage: README's exit codes
    assert (
        "rules/session_idle_timeout/acme-idle.yml: already exists; not overwritten" in capsys.readouterr().err
    )
    assert rule.read_text() == "# edited by hand\n"


def test_a_bad_name_is_reported_without_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "--kind", "session_idle_timeout", "Bad_Name"]) == 2
    assert "rule name 'Bad_Name' must be 3-80 lower-case letters" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_kind_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["new", "--kind", "session_timeout", "acme-x"])
    assert info.value.code == 2
    assert "invalid choice: 'session_timeout'" in capsys.readouterr().err


def _rule_yaml(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def test_param_title_and_policy_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "--kind", "session_idle_timeout", "acme-idle", "--param", "idle_timeout=20m"]) == 0
    data = _rule_yaml(tmp_path / "rules" / "session_idle_timeout" / "acme-idle.yml")
    assert data["params"] == {"idle_timeout": "20m"}
    assert data["title"] == "Session used after more than 20 minutes idle"  # the text follows the value
    assert "idle_timeout 20 minutes" in data["description"]
    assert "15m" in data["tests"][0]["description"]  # the fixtures were written for the sample: say so
    assert "20m" in data["tests"][0]["description"]

    args = ["new", "--kind", "session_idle_timeout", "acme-aal2", "--policy", "nist-800-63b-r3-aal2"]
    assert main([*args, "--title", "Idle over 30 minutes (AAL2)"]) == 0
    data = _rule_yaml(tmp_path / "rules" / "session_idle_timeout" / "acme-aal2.yml")
    assert data["policy"] == "nist-800-63b-r3-aal2"
    assert data["params"] == {"idle_timeout": "30m"}  # the policy's threshold
    assert data["title"] == "Idle over 30 minutes (AAL2)"
    capsys.readouterr()
    assert main(["validate", "rules", "--format", "json"]) == 0  # SW202 would flag a mismatch
    report = json.loads(capsys.readouterr().out)
    assert not [p for p in report["problems"] if p["check"] == "SW202"]


def test_counts_and_lists_are_read_as_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["new", "--kind", "session_concurrency", "acme-conc", "--param", "max_sessions=5"]
    assert main(args) == 0
    data = _rule_yaml(tmp_path / "rules" / "session_concurrency" / "acme-conc.yml")
    assert data["params"]["max_sessions"] == 5
    assert data["title"] == "Account holding more than 5 sessions at once"


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--param", "idle_timeout=20minutes"], "not a duration: '20minutes' (use 15m, 1h, 30d"),
        (
            ["--param", "max_sessions=3"],
            "--param 'max_sessions': session_idle_timeout rules take idle_timeout",
        ),
        (["--param", "idle_timeout"], "write NAME=VALUE"),
        (["--policy", "no-such-policy"], "--policy: unknown policy 'no-such-policy'; known:"),
    ],
)
def test_bad_options_are_usage_errors_and_write_nothing(
    option: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["new", "--kind", "session_idle_timeout", "acme-idle", *option]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
