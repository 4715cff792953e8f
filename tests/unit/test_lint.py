"""Lint beyond the schema: every finding at once, each at the YAML node it is about."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sessionwatch.cli import main
from tests.conftest import RuleWriter

LOCATED = re.compile(
    r"^(?P<path>[^:]+\.yml):(?P<line>\d+):(?P<col>\d+): (?P<level>error|warning) (?P<code>SW\d+): "
)


def _validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict[str, str]], str]:
    code = main(["validate", *args])
    err = capsys.readouterr().err
    found = [m.groupdict() for m in map(LOCATED.match, err.splitlines()) if m]
    return code, found, err


@pytest.fixture
def folder(tmp_path: Path, repo: Path) -> Path:
    (tmp_path / "fixtures").symlink_to(repo / "fixtures")
    return tmp_path


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_every_finding_at_once_with_its_location(
    capsys: pytest.CaptureFixture[str], folder: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    data = idle_rule_data
    data["params"] = {"idle_timeout": "20m"}  # the rule names pci-dss-4.0, which says 15m
    data["scope"]["filters"] = [
        {"field": "sesion.id", "exists": True},
        {"field": "okta.actor.alternate_id", "any_of": ["x"]},
    ]
    data["attack"] = ["T1550.004", "T1550.009"]
    data["compliance"] = {"nist-800-53": ["AC-12", "AC-99"], "pci-dss-4.0": ["8.2.8"]}
    data["tests"] = [t for t in data["tests"] if t["expect"]]
    path = write_rule(folder, data)
    code, found, err = _validate(capsys, str(path))
    assert code == 1, err
    codes = sorted(f["code"] for f in found)
    assert codes == ["SW101", "SW102", "SW202", "SW301", "SW303", "SW402"]
    by_code = {f["code"]: f for f in found}
    assert int(by_code["SW202"]["line"]) == _line_of(path, "idle_timeout: 20m")
    assert int(by_code["SW301"]["line"]) == _line_of(path, "T1550.009")
    assert int(by_code["SW101"]["line"]) == _line_of(path, "sesion.id")
    assert by_code["SW102"]["level"] == "warning"
    assert "(/params/idle_timeout)" in err
    assert "policy 'pci-dss-4.0' sets '15m'" in err


def test_unknown_policy(
    capsys: pytest.CaptureFixture[str], folder: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    idle_rule_data["policy"] = "nist-800-63b-r9-aal7"
    code, found, _ = _validate(capsys, str(write_rule(folder, idle_rule_data)))
    assert code == 1
    assert [f["code"] for f in found] == ["SW201"]


def test_a_clean_rule_passes(
    capsys: pytest.CaptureFixture[str], folder: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    code, found, err = _validate(capsys, str(write_rule(folder, idle_rule_data)))
    assert (code, found) == (0, [])
    assert "1 rule valid: 0 errors, 0 warnings" in err


def _variant(
    base: dict[str, Any], name: str, kind: str, params: dict[str, Any], policy: str | None
) -> dict[str, Any]:
    data = copy.deepcopy(base)
    data.update(
        id=f"00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}", name=name, kind=kind, params=params
    )
    if policy is None:
        data.pop("policy", None)
    else:
        data["policy"] = policy
    return data


def test_idle_must_be_shorter_than_lifetime_under_one_policy(
    capsys: pytest.CaptureFixture[str], folder: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    policies = folder / "policies"
    policies.mkdir()
    (policies / "team.yml").write_text(
        "name: team\ntitle: Team policy\nsource: team wiki\nthresholds:\n  grace: 30s\n"
    )
    idle = _variant(idle_rule_data, "team-idle", "session_idle_timeout", {"idle_timeout": "2h"}, "team")
    life = _variant(
        idle_rule_data,
        "team-life",
        "session_max_lifetime",
        {"max_lifetime": "1h", "anchor": "session_start"},
        "team",
    )
    write_rule(folder, idle)
    write_rule(folder, life)
    code, found, err = _validate(capsys, str(folder / "team-idle.yml"), str(folder / "team-life.yml"))
    assert code == 1, err
    assert sorted(f["code"] for f in found) == ["SW203", "SW203", "SW504"]
    assert "not shorter than max_lifetime of team-life under policy 'team'" in err


def test_a_policy_whose_idle_is_not_below_its_lifetime(
    capsys: pytest.CaptureFixture[str], folder: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    policies = folder / "policies"
    policies.mkdir()
    (policies / "pci-dss-4.0.yml").write_text(
        "name: pci-dss-4.0\ntitle: Local PCI\nsource: local\n"
        "thresholds:\n  idle_timeout: 15m\n  max_lifetime: 10m\n"
    )
    code, _, err = _validate(capsys, str(write_rule(folder, idle_rule_data)))
    assert code == 1
    assert re.search(r"policies/pci-dss-4.0.yml:5:\d+: error SW501: idle_timeout must be shorter", err), err


def test_params_checked_beyond_the_schema(
    capsys: pytest.CaptureFixture[str], folder: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    ranges = _variant(
        idle_rule_data,
        "bad-ranges",
        "session_ip_binding",
        {"allowed_cidrs": ["10.0.0.0/8", "10.1.2.3/8"]},
        None,
    )
    crowd = _variant(
        idle_rule_data, "bad-crowd", "session_concurrency", {"max_sessions": 3, "within": "2h"}, None
    )
    write_rule(folder, ranges)
    write_rule(folder, crowd)
    code, found, _ = _validate(capsys, str(folder / "bad-crowd.yml"))
    assert code == 1
    codes = sorted(f["code"] for f in found)
    # the concurrency rule's cases name sessions (SW404 for each) and its window is too short
    assert codes.count("SW503") == 1
    assert "SW404" in codes
    # an invalid CIDR is a load-time error now (in every command), located at the entry
    code, _, err = _validate(capsys, str(folder / "bad-ranges.yml"))
    assert code == 1
    assert "bad-ranges.yml:" in err
    assert "invalid CIDR: 10.1.2.3/8 has host bits set (/params/allowed_cidrs/1)" in err


def test_strict_fails_on_warnings(
    capsys: pytest.CaptureFixture[str], folder: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    idle_rule_data["scope"]["filters"] = [{"field": "okta.actor.alternate_id", "any_of": ["x"]}]
    path = write_rule(folder, idle_rule_data)
    assert _validate(capsys, str(path))[0] == 0
    assert _validate(capsys, "--strict", str(path))[0] == 1


def test_deprecated_rules_are_not_rendered(
    capsys: pytest.CaptureFixture[str], folder: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    old = _variant(idle_rule_data, "old-idle", "session_idle_timeout", {"idle_timeout": "15m"}, "pci-dss-4.0")
    old["status"] = "deprecated"
    write_rule(folder, idle_rule_data)
    write_rule(folder, old)
    assert main(["render", str(folder / "pci-dss-idle-15m.yml"), str(folder / "old-idle.yml")]) == 0
    rendered = [yaml.safe_load(line)["rule"] for line in capsys.readouterr().out.splitlines()]
    assert rendered == ["pci-dss-idle-15m"]
