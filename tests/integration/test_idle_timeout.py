"""The PCI idle-timeout rule, end to end in a real Elasticsearch node."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.harness import run_case
from sessionwatch.rules import Rule, RuleCase, load_rule_file, load_rules
from tests.cli_runner import run_sessionwatch
from tests.integration.test_runner_support import wait_for

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
IDLE_RULE = "rules/pack/session_idle_timeout/pci-dss-idle-15m.yml"
# every rule of the pack is replayed by test_rule_pack.py; this file pins the PCI idle rule
CASES = [
    (rule, case)
    for rule in load_rules([PACK / "session_idle_timeout" / "pci-dss-idle-15m.yml"])
    for case in rule.tests
]


@pytest.mark.parametrize(("rule", "case"), CASES, ids=[f"{r.name}/{c.name}" for r, c in CASES])
def test_rule_case(es: Elasticsearch, rule: Rule, case: RuleCase) -> None:
    result = run_case(es, rule, case, ProfileRegistry.discover())
    assert result.passed, "\n".join(result.diff())


def _case(rule: Rule, name: str) -> RuleCase:
    return next(c for c in rule.tests if c.name == name)


def test_threshold_comes_from_the_rule(es: Elasticsearch, idle_rule_path: Path) -> None:
    rule = load_rule_file(idle_rule_path)
    case = _case(rule, "gap-20m-then-accepted")
    assert run_case(es, rule, case, ProfileRegistry.discover()).passed
    relaxed = rule.with_params({"idle_timeout": "30m"})
    result = run_case(es, relaxed, case, ProfileRegistry.discover())
    assert result.error is None
    assert result.alerts == []
    assert [m.event for m in result.missing] == ["a-3"]


def _cli(*args: str, cwd: Path, es_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SESSIONWATCH_ES_URL": es_url}
    return run_sessionwatch(args, cwd=cwd, env=env)


def test_cli_test_prints_a_table(es_url: str, tmp_path: Path) -> None:
    result = _cli("test", cwd=tmp_path, es_url=es_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^pci-dss-idle-15m +gap-20m-then-accepted +pass$", result.stdout, re.MULTILINE)


def test_cli_test_fails_with_a_diff(
    es_url: str, tmp_path: Path, idle_rule_data: dict[str, object], write_rule: object, repo: Path
) -> None:
    idle_rule_data["params"] = {"idle_timeout": "30m"}
    rules = tmp_path / "rules"
    rules.mkdir()
    (tmp_path / "fixtures").symlink_to(repo / "fixtures")
    (rules / "pci-dss-idle-15m.yml").write_text(json.dumps(idle_rule_data))
    result = _cli("test", str(rules), cwd=tmp_path, es_url=es_url)
    assert result.returncode == 1
    assert "gap-20m-then-accepted  FAIL" in result.stdout
    assert "missing:    session=sess-a event=a-3" in result.stdout


# reads every ``sessionwatch-detect-*`` index of the node: another worker's detect would be seen
@pytest.mark.serial
def test_cli_detect_positive_and_negative_samples(es_url: str, tmp_path: Path, repo: Path) -> None:
    positive = _cli(
        "detect",
        "--events",
        str(repo / "fixtures/samples/portal-violations.ndjson"),
        "--rules",
        str(repo / IDLE_RULE),
        cwd=tmp_path,
        es_url=es_url,
    )
    assert positive.returncode == 1, positive.stderr
    alerts = [json.loads(line) for line in positive.stdout.splitlines()]
    assert [
        (a["sessionwatch"]["session"]["id"], a["sessionwatch"]["evidence"]["event_ids"]) for a in alerts
    ] == [
        ("sess-a", ["a-3"]),
        ("sess-d", ["d-3"]),
    ]
    first = alerts[0]
    assert first["event"]["kind"] == "alert"
    assert first["rule"]["category"] == "session_idle_timeout"
    assert first["rule"]["ruleset"] == "sessionwatch"
    assert first["user"]["name"] == "alice"
    assert first["source"]["ip"] == "198.51.100.10"
    assert first["@timestamp"] == "2026-03-02T09:25:00Z"
    negative = _cli(
        "detect",
        "--events",
        str(repo / "fixtures/samples/portal-clean.ndjson"),
        "--rules",
        str(repo / IDLE_RULE),
        cwd=tmp_path,
        es_url=es_url,
    )
    assert negative.returncode == 0, negative.stderr
    assert negative.stdout == ""
    # detect deletes its temporary index before it returns; one still there after 30 s is a leak
    # (a parallel worker's detect may hold one of its own for a moment)
    client = Elasticsearch(es_url)
    wait_for(
        lambda: dict(client.indices.get(index="sessionwatch-detect-*")) == {},
        30,
        "no temporary detect index left",
    )
