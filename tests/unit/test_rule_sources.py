"""User rule packs next to the built-in one: directories, ``pack:NAME``, and installed packages
that register the ``sessionwatch.rulepacks`` entry point (a real distribution on sys.path)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.rule_sources import (
    ENV_RULE_PATH,
    Selection,
    load_selected,
    packs,
    resolve_sources,
    selected_files,
)
from sessionwatch.rules.errors import PluginError, RuleErrors
from tests.conftest import RuleWriter

EVERY = Selection.EVERY  # which files are selected, whatever the site configuration turns on
USER_ID = "0b6c3f5e-8d41-4a53-9c55-1f1d2c3b4a59"


def _user_rule(folder: Path, data: dict[str, Any], write_rule: RuleWriter, **changes: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return write_rule(folder, {**data, "id": USER_ID, "name": "acme-idle-30m", **changes})


def _install_pack(site: Path, dist: str, name: str, module: str) -> Path:
    """A minimal installed distribution whose entry point returns its own rules directory."""
    rules = site / module / "rules"
    rules.mkdir(parents=True)
    (site / module / "__init__.py").write_text(
        "from pathlib import Path\n\ndef location():\n    return Path(__file__).parent / 'rules'\n"
    )
    info = site / f"{dist}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        textwrap.dedent(f"""\
            [sessionwatch.rulepacks]
            {name} = {module}:location
            """)
    )
    return rules


def test_pack_prefix_selects_the_builtin_pack_next_to_a_directory(
    tmp_path: Path, pack_dir: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    _user_rule(tmp_path / "mine", idle_rule_data, write_rule)
    assert resolve_sources(["pack:builtin"]) == [packs()["builtin"].folder]
    assert packs()["builtin"].folder.resolve() == pack_dir.resolve()
    names = {rule.name for rule in load_selected(["pack:builtin", str(tmp_path / "mine")], selection=EVERY)}
    assert {"pci-dss-idle-15m", "acme-idle-30m"} <= names


def test_unknown_pack_names_the_installed_ones() -> None:
    with pytest.raises(PluginError) as info:
        resolve_sources(["pack:nope"])
    assert "no installed rule pack 'nope'" in str(info.value)
    assert "builtin" in str(info.value)


def test_env_rule_path_adds_directories_to_the_installed_packs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    _user_rule(tmp_path / "mine", idle_rule_data, write_rule)
    monkeypatch.setenv(ENV_RULE_PATH, str(tmp_path / "mine"))
    names = {rule.name for rule in load_selected([], selection=EVERY)}
    assert {"pci-dss-idle-15m", "acme-idle-30m"} <= names


def test_id_clash_with_the_builtin_pack_names_both_files(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    idle_rule_data: dict[str, Any],
    write_rule: RuleWriter,
    idle_rule_path: Path,
) -> None:
    mine = _user_rule(tmp_path / "mine", idle_rule_data, write_rule, id=idle_rule_data["id"])
    monkeypatch.setenv(ENV_RULE_PATH, str(tmp_path / "mine"))
    with pytest.raises(RuleErrors) as info:
        load_selected([], selection=EVERY)
    messages = [str(e) for e in info.value.errors]
    clash = [m for m in messages if "duplicate rule id" in m]
    assert len(clash) == 1
    assert str(mine) in clash[0] or str(idle_rule_path) in clash[0]
    assert idle_rule_path.name in clash[0]
    assert mine.name in clash[0]


def test_one_file_reached_twice_is_loaded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    path = _user_rule(tmp_path / "mine", idle_rule_data, write_rule)
    monkeypatch.chdir(tmp_path)
    files = selected_files(["mine", str(path), "mine/acme-idle-30m.yml"])
    assert [f.resolve() for f in files] == [path.resolve()]
    assert [rule.name for rule in load_selected(["mine", str(path)], selection=EVERY)] == ["acme-idle-30m"]


def test_installed_package_pack_is_found_and_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    site = tmp_path / "site"
    rules = _install_pack(site, "acme_rules", "acme", "acme_rules_pkg")
    _user_rule(rules, idle_rule_data, write_rule)
    monkeypatch.syspath_prepend(str(site))
    found = packs()
    assert found["acme"].folder == rules
    assert "of acme_rules 1.0" in found["acme"].origin
    names = {rule.name for rule in load_selected([], selection=EVERY)}
    assert {"pci-dss-idle-15m", "acme-idle-30m"} <= names
    assert [r.name for r in load_selected(["pack:acme"], selection=EVERY)] == ["acme-idle-30m"]


def test_two_packs_with_one_name_are_an_error_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    _install_pack(site, "impostor_rules", "builtin", "impostor_pkg")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(PluginError) as info:
        packs()
    message = str(info.value)
    assert "two rule packs are named 'builtin'" in message
    assert "of impostor_rules 1.0" in message
    assert "of sessionwatch" in message


def test_a_pack_that_is_not_a_directory_is_a_plugin_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    rules = _install_pack(site, "empty_rules", "empty", "empty_pkg")
    rules.rmdir()
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(PluginError) as info:
        packs()
    assert "rule pack 'empty' points at" in str(info.value)
    assert "not a directory" in str(info.value)
