"""A rule that fails its load-time checks is reported and skipped by ``detect``; the other
rules still run (real node), and the run exits 1 for the skipped rule."""

from __future__ import annotations

import json
from pathlib import Path

from tests.hardening.test_rule_limits import write_variant
from tests.integration.test_runner_support import IDLE_RULE, REPO, cli_env, run_cli

OTHER_IDLE_RULE = REPO / "rules/pack/session_idle_timeout/nist-63b-r4-aal3-idle-15m.yml"
FIXTURE = REPO / "fixtures/session_idle_timeout/pci-dss-idle-15m/gap-20m-then-accepted.ndjson"


def test_detect_skips_a_bad_rule_and_evaluates_the_others(es_url: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    write_variant(rules, IDLE_RULE, {})
    bad = write_variant(rules, OTHER_IDLE_RULE, {"params.idle_timeout": "15 minutes"})
    done = run_cli(["detect", "--events", str(FIXTURE), "--rules", str(rules)], cli_env(es_url), tmp_path)
    alerts = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["rule"]["name"] for a in alerts] == [IDLE_RULE.stem], done.stderr
    assert f"{bad}:" in done.stderr
    assert "/params/idle_timeout" in done.stderr
    assert "detect: 1 rule problem(s) above: those rules were skipped" in done.stderr
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
