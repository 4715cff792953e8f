"""What a command looks up once per process (entry points, the names of the installed packs'
rules, a fixture file's datasets) is looked up again as soon as what it was read from changes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.renderer.kibana_guide import _datasets
from sessionwatch.rule_sources import ENV_RULE_PATH, _known_elsewhere
from sessionwatch.rules import plugins
from tests.conftest import RuleWriter

GROUP = "sessionwatch.rulepacks"


def _install(site: Path, dist: str, name: str) -> None:
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\n{name} = {dist}_pkg:location\n")


def _names(group: str) -> set[str]:
    return {entry.name for entry in plugins.entry_points(group)}


def test_a_package_installed_into_a_searched_folder_is_found_and_a_removed_one_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert "acme" not in _names(GROUP)
    time.sleep(0.02)  # past the file system's clock tick, as any real installation is
    _install(site, "acme_rules", "acme")
    assert "acme" in _names(GROUP)
    assert "acme" in _names(GROUP)  # asked twice, still there
    time.sleep(0.02)
    for item in sorted(site.rglob("*"), reverse=True):
        item.rmdir() if item.is_dir() else item.unlink()
    assert "acme" not in _names(GROUP)


def test_a_new_folder_on_the_search_path_is_searched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "acme" not in _names(GROUP)
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "acme_rules", "acme")
    monkeypatch.syspath_prepend(str(site))
    assert "acme" in _names(GROUP)


def test_a_pack_rule_edited_between_two_commands_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    pack = tmp_path / "pack"
    pack.mkdir()
    monkeypatch.setenv(ENV_RULE_PATH, str(pack))
    path = write_rule(pack, {**idle_rule_data, "name": "acme-idle-30m"})
    assert "acme-idle-30m" in _known_elsewhere()[0]
    path.write_text(path.read_text().replace("acme-idle-30m", "acme-idle-45m-renamed"))
    names = _known_elsewhere()[0]
    assert "acme-idle-45m-renamed" in names
    assert "acme-idle-30m" not in names


def test_a_fixture_edited_between_two_renders_is_read_again(tmp_path: Path) -> None:
    fixture = tmp_path / "events.ndjson"
    fixture.write_text(json.dumps({"event": {"dataset": "okta.system"}}) + "\n")
    assert _datasets(fixture) == ("okta.system",)
    fixture.write_text(json.dumps({"data_stream": {"dataset": "azure.signinlogs"}}) + "\n")
    assert _datasets(fixture) == ("azure.signinlogs",)
