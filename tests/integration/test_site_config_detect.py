"""The default pack on the shipped samples, in a real Elasticsearch node: quiet on clean traffic,
alerting on violations, and one line of configuration turning a compliance set on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.cli_runner import run_sessionwatch


def _detect(sample: Path, *, cwd: Path, es_url: str, config: str | None = None) -> list[dict[str, object]]:
    if config is not None:
        (cwd / "sessionwatch.toml").write_text(config, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "SESSIONWATCH_CONFIG"}
    result = run_sessionwatch(
        ["detect", "--events", str(sample)], cwd=cwd, env={**env, "SESSIONWATCH_ES_URL": es_url}
    )
    assert result.returncode in (0, 1), result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == (1 if alerts else 0), result.stderr
    return alerts


def _found(alerts: list[dict[str, object]]) -> list[tuple[str, str]]:
    return sorted((a["rule"]["name"], a["sessionwatch"]["session"]["id"]) for a in alerts)  # type: ignore[index]


@pytest.fixture
def samples(repo: Path) -> Path:
    return repo / "fixtures" / "samples"


def test_default_pack_is_quiet_on_the_clean_sample(es_url: str, tmp_path: Path, samples: Path) -> None:
    assert _detect(samples / "portal-clean.ndjson", cwd=tmp_path, es_url=es_url) == []


def test_default_pack_raises_on_the_violations_sample(es_url: str, tmp_path: Path, samples: Path) -> None:
    alerts = _detect(samples / "portal-violations.ndjson", cwd=tmp_path, es_url=es_url)
    assert _found(alerts) == [
        ("post-logout-activity", "sess-e"),
        ("session-ip-network-change", "sess-f"),
    ]


def test_one_line_turns_pci_dss_on(es_url: str, tmp_path: Path, samples: Path) -> None:
    config = 'policies = ["baseline", "pci-dss-4.0"]\n'
    alerts = _detect(samples / "portal-violations.ndjson", cwd=tmp_path, es_url=es_url, config=config)
    assert _found(alerts) == [
        ("pci-dss-idle-15m", "sess-a"),
        ("pci-dss-idle-15m", "sess-d"),
        ("post-logout-activity", "sess-e"),
        ("session-ip-network-change", "sess-f"),
    ]
    clean = _detect(samples / "portal-clean.ndjson", cwd=tmp_path, es_url=es_url)
    assert clean == []  # bob's 14:59 gaps stay under PCI's 15 minutes


def test_site_values_turn_on_the_range_rule(es_url: str, tmp_path: Path, samples: Path) -> None:
    config = '[site]\nallowed_cidrs = ["192.0.2.0/24"]\n'
    alerts = _detect(samples / "portal-violations.ndjson", cwd=tmp_path, es_url=es_url, config=config)
    outside = [s for rule, s in _found(alerts) if rule == "session-ip-outside-ranges"]
    assert outside == ["sess-a", "sess-d", "sess-f"]


def test_test_command_replays_cases_with_the_values_the_rule_file_gives(
    es_url: str, tmp_path: Path, repo: Path
) -> None:
    """An override changes detection, never the rule's own cases (their expectations are tied to
    the file's values): a 30-minute override would make the 20-minute case fail."""
    config = 'policies = ["baseline", "pci-dss-4.0"]\n[rules.pci-dss-idle-15m.params]\nidle_timeout = "30m"\n'
    (tmp_path / "sessionwatch.toml").write_text(config)
    rule = repo / "rules" / "pack" / "session_idle_timeout" / "pci-dss-idle-15m.yml"
    env = {k: v for k, v in os.environ.items() if k != "SESSIONWATCH_CONFIG"}
    result = run_sessionwatch(["test", str(rule)], cwd=tmp_path, env={**env, "SESSIONWATCH_ES_URL": es_url})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gap-20m-then-accepted" in result.stdout
    alerts = _detect(repo / "fixtures" / "samples" / "portal-violations.ndjson", cwd=tmp_path, es_url=es_url)
    assert [
        r for r, _ in _found(alerts) if r == "pci-dss-idle-15m"
    ] == []  # on, but at 30m nobody was that idle
