"""``sessionwatch rules``: list and search rules, as a table or as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sessionwatch.cli import main
from sessionwatch.commands import rules as rules_command
from sessionwatch.rules.site_config import ENV_CONFIG


def _text(rule: dict[str, Any]) -> str:
    path = Path(rule["path"])
    description = yaml.safe_load(path.read_text())["description"]
    return " ".join((rule["name"], rule["title"], description)).lower()


def _listed(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, Any]]:
    assert main(["rules", "--format", "json", *args]) == 0
    data: list[dict[str, Any]] = json.loads(capsys.readouterr().out)
    return data


@pytest.fixture
def no_site_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without a site configuration: the shipped defaults decide."""
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_every_rule_with_the_columns_asked_for(
    no_site_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    found = _listed(capsys)
    assert len(found) > 15
    assert {"id", "name", "kind", "policy", "status", "enabled", "severity"} <= set(found[0])
    pci = next(r for r in found if r["name"] == "pci-dss-idle-15m")
    assert (pci["kind"], pci["policy"], pci["status"], pci["severity"]) == (
        "session_idle_timeout",
        "pci-dss-4.0",
        "stable",
        "high",
    )


def test_enabled_comes_from_the_site_configuration(
    no_site_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PCI DSS rules are off by default; one line of sessionwatch.toml turns them on."""
    before = {r["name"]: r["enabled"] for r in _listed(capsys)}
    assert before["pci-dss-idle-15m"] is False
    (no_site_config / "sessionwatch.toml").write_text('policies = ["baseline", "pci-dss-4.0"]\n')
    after = {r["name"]: r["enabled"] for r in _listed(capsys)}
    assert after["pci-dss-idle-15m"] is True
    assert {n for n, on in after.items() if on} > {n for n, on in before.items() if on}
    assert main(["rules", "--enabled", "--format", "json"]) == 0
    assert {r["name"] for r in json.loads(capsys.readouterr().out)} == {n for n, on in after.items() if on}


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--kind", "session_idle_timeout"], lambda r: r["kind"] == "session_idle_timeout"),
        (["--policy", "pci-dss-4.0"], lambda r: r["policy"] == "pci-dss-4.0"),
        (["--technique", "T1550"], lambda r: any(t.startswith("T1550") for t in r["attack"])),
        (["--technique", "T1550.001"], lambda r: "T1550.001" in r["attack"]),
        (["--control", "8.2.8"], lambda r: "8.2.8" in r["compliance"].get("pci-dss-4.0", [])),
        (["--control", "nist-800-53:AC-12"], lambda r: "AC-12" in r["compliance"].get("nist-800-53", [])),
        (["--search", "IDLE minutes"], lambda r: "idle" in _text(r) and "minutes" in _text(r)),
    ],
    ids=["kind", "policy", "technique", "sub-technique", "control", "framework-control", "search"],
)
def test_filters_keep_exactly_the_matching_rules(
    capsys: pytest.CaptureFixture[str], args: list[str], expect: Any
) -> None:
    every = _listed(capsys)
    kept = _listed(capsys, *args)
    assert kept, args
    assert {r["name"] for r in kept} == {r["name"] for r in every if expect(r)}
    assert len(kept) < len(every)


def test_filters_combine(capsys: pytest.CaptureFixture[str]) -> None:
    kept = _listed(capsys, "--kind", "session_max_lifetime", "--policy", "organisation")
    assert [r["name"] for r in kept] == ["org-session-absolute-8h"]


def test_enabled_follows_what_detect_evaluates(
    tmp_path: Path, idle_rule_data: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """A deprecated rule is listed but not enabled: detect and run do not evaluate it."""
    idle_rule_data["status"] = "deprecated"
    (tmp_path / f"{idle_rule_data['name']}.yml").write_text(yaml.safe_dump(idle_rule_data))
    [line] = _listed(capsys, str(tmp_path))
    assert line["enabled"] is False
    assert _listed(capsys, str(tmp_path), "--enabled") == []
    assert [r["name"] for r in _listed(capsys, str(tmp_path), "--disabled")] == ["pci-dss-idle-15m"]


def test_table_and_summary(no_site_config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (no_site_config / "sessionwatch.toml").write_text('policies = ["baseline", "pci-dss-4.0"]\n')
    assert main(["rules", "--format", "table", "--kind", "session_idle_timeout"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == list(rules_command.HEADER)
    pci = next(line for line in lines if " pci-dss-idle-15m " in line)
    assert pci.split()[1:] == [
        "pci-dss-idle-15m",
        "session_idle_timeout",
        "pci-dss-4.0",
        "stable",
        "yes",
        "high",
    ]
    rows = lines[1 : lines.index("")]
    enabled = sum(1 for row in rows if row.split()[5] == "yes")
    assert lines[-1].startswith(f"{len(rows)} rules of ")
    assert lines[-1].endswith(f": {enabled} enabled, {len(rows) - enabled} disabled · 1 kind")


def test_piped_output_is_ndjson(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--kind", "token_expired_use"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert json.loads(line)["name"] == "expired-token-use"
