"""A fixture event Elasticsearch's mapping would reject is reported at its fixture file, line and
field. Since the input hardening the engine repairs such a field before Elasticsearch sees it
(``enrich`` drops it and records it on the event); a fixture is replayed as written, so the
harness turns that repair into the case's error instead of testing the rule on other data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from sessionwatch.cli import main


def test_mapping_rejection_points_at_the_fixture_line(
    es_url: str,
    tmp_path: Path,
    repo: Path,
    idle_rule_data: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = repo / "fixtures" / "session_idle_timeout" / "pci-dss-idle-15m" / "gap-20m-then-accepted.ndjson"
    folder = tmp_path / "fixtures" / "session_idle_timeout" / "pci-dss-idle-15m"
    folder.mkdir(parents=True)
    lines = source.read_text().splitlines()
    broken = json.loads(lines[1])
    broken["user"]["email"] = {"not": "a keyword"}  # user.email is a keyword field: an object is rejected
    lines[1] = json.dumps(broken)
    fixture = folder / source.name
    fixture.write_text("\n".join(lines) + "\n")
    idle_rule_data["tests"] = [idle_rule_data["tests"][0]]
    rule = tmp_path / "rules" / "pci-dss-idle-15m.yml"
    rule.parent.mkdir()
    rule.write_text(yaml.safe_dump(idle_rule_data, sort_keys=False))
    shutil.copytree(repo / "rules" / "policies", tmp_path / "rules" / "policies", dirs_exist_ok=True)

    assert main(["test", str(rule), "--es-url", es_url]) == 1
    out = capsys.readouterr().out
    assert (
        f"{fixture.resolve()}:2: fixture event 'a-2' rejected: "
        'field [user.email] of type [keyword] cannot hold {"not": "a keyword"} '
        "(Elasticsearch would refuse the event; a fixture is replayed as written)"
    ) in out
    assert "FAIL" in out
