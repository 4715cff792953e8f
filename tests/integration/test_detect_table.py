"""``detect``'s human output on real alerts from Elasticsearch: the table, and the wording of every
kind's finding on the alerts the shipped pack's own fixtures raise."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.cli import main
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.harness import run_case
from sessionwatch.reports.alerts_table import actual_vs_limit
from sessionwatch.rule_sources import Selection, load_selected
from sessionwatch.rules.kinds import Kind

PCI = 'policies = ["baseline", "pci-dss-4.0"]\n'  # the README's one line that turns PCI DSS on


@pytest.fixture
def pci_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory whose sessionwatch.toml turns PCI DSS 4.0 on, as the demo does."""
    monkeypatch.delenv("SESSIONWATCH_CONFIG", raising=False)
    (tmp_path / "sessionwatch.toml").write_text(PCI)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_detect_table_on_the_demo_sample(
    es_url: str, repo: Path, pci_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = repo / "fixtures" / "samples" / "portal-violations.ndjson"
    assert main(["detect", "--events", str(sample), "--es-url", es_url, "--format", "table"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["pci-dss-idle-15m", "high", "session_idle_timeout", "2", "alerts"]
    assert lines[2].split() == ["TIME", "SESSION", "USER", "ACTUAL", "vs", "LIMIT"]
    assert lines[3].split() == ["2026-03-02", "09:25:00Z", "sess-a", "alice", "idle", "20m", ">", "15m"]
    assert "  2026-03-02 09:06:00Z  sess-e   erin   used 2m after logout" in lines
    assert lines[-1] == "4 alerts from 3 rules: 3 high, 1 medium · 4 sessions · 4 users"


def test_detect_piped_prints_ndjson(
    es_url: str, repo: Path, pci_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = repo / "fixtures" / "samples" / "portal-violations.ndjson"
    assert main(["detect", "--events", str(sample), "--es-url", es_url]) == 1
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(docs) == 4
    assert {d["event"]["kind"] for d in docs} == {"alert"}


def _one_rule_per_kind() -> list[tuple[Kind, str]]:
    seen: dict[Kind, str] = {}
    for rule in load_selected([], selection=Selection.EVERY):  # enabled by default or not
        seen.setdefault(rule.kind, rule.name)
    return sorted(seen.items())


@pytest.mark.parametrize(("kind", "name"), _one_rule_per_kind(), ids=lambda v: str(v))
def test_every_kind_reads_actual_vs_limit_on_real_alerts(kind: Kind, name: str, es: Elasticsearch) -> None:
    rule = next(r for r in load_selected([], selection=Selection.EVERY) if r.name == name)
    profiles = ProfileRegistry.discover()
    described = []
    for case in (c for c in rule.tests if c.expect):
        result = run_case(es, rule, case, profiles)
        assert result.error is None, result.error
        described += [actual_vs_limit(alert, rule.params) for alert in result.alerts]
    assert described, f"{name}: no alert to describe"
    for text in described:
        assert "?" not in text, f"{name}: {text!r} lacks a value the alert should carry"
        assert text != "", name


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_detect_shows_progress_on_a_terminal_only(
    es_url: str, repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = repo / "fixtures" / "samples" / "portal-violations.ndjson"
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["detect", "--events", str(sample), "--es-url", es_url, "--format", "ndjson"]) == 1
    rules = len(load_selected([], include_deprecated=False))
    assert f"detect: rules evaluated: {rules}/{rules}" in terminal.getvalue()
    monkeypatch.undo()
    assert main(["detect", "--events", str(sample), "--es-url", es_url, "--format", "ndjson"]) == 1
    assert "rules evaluated" not in capsys.readouterr().err


def test_readme_shows_what_detect_prints(
    es_url: str, repo: Path, pci_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """README's "Reading the alerts" block is the real output of the demo with PCI DSS on."""
    readme = (repo / "README.md").read_text()
    section = readme.split("### Reading the alerts", 1)[1]
    assert PCI.strip() in section
    assert "`sessionwatch detect --events fixtures/samples/portal-violations.ndjson`" in section
    block = section.split("```", 2)[1].strip("\n").splitlines()
    sample = repo / "fixtures" / "samples" / "portal-violations.ndjson"
    assert main(["detect", "--events", str(sample), "--es-url", es_url, "--format", "table"]) == 1
    assert block == capsys.readouterr().out.splitlines()


def test_test_command_shows_progress_on_a_terminal_only(
    es_url: str, idle_rule_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cases = len(next(r for r in load_selected([str(idle_rule_path)])).tests)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["test", str(idle_rule_path), "--es-url", es_url]) == 0
    shown = terminal.getvalue()
    assert f"test: {cases}/{cases}" in shown
    assert shown.splitlines()[-1].endswith(f"{cases} cases: \x1b[32m{cases} passed\x1b[0m, 0 failed")
    monkeypatch.undo()
    assert main(["test", str(idle_rule_path), "--es-url", es_url]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err
    assert err.splitlines()[-1] == f"{cases} cases: {cases} passed, 0 failed"
