from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.rules import Kind, RuleErrors, load_rule_file, load_rules
from sessionwatch.rules.kinds import Duration

DATA = Path(__file__).parent / "data"
Writer = Callable[[Path, dict[str, Any]], Path]


def messages(exc: RuleErrors) -> list[str]:
    return [str(e) for e in exc.errors]


def test_shipped_pack_loads_every_file_into_typed_rules(pack_dir: Path) -> None:
    files = sorted(pack_dir.rglob("*.yml"))
    rules = load_rules([pack_dir])
    assert sorted(r.source for r in rules) == files
    for rule in rules:
        assert rule.source.stem == rule.name
        assert rule.source.parent.name == rule.kind.value  # rules/pack/<kind>/<name>.yml
        assert isinstance(rule.params, rule.kind.spec.params)
    idle = next(r for r in rules if r.name == "pci-dss-idle-15m")
    assert idle.kind == Kind("session_idle_timeout")
    assert idle.params.idle_timeout == Duration("15m")  # type: ignore[attr-defined]
    assert idle.duration("idle_timeout") == 900


def test_rule_model_is_frozen_and_typed(idle_rule_path: Path) -> None:
    rule = load_rule_file(idle_rule_path)
    assert rule.duration("idle_timeout") == 900
    assert isinstance(rule.id, uuid.UUID)
    with pytest.raises(AttributeError):
        rule.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        rule.params["idle_timeout"] = "30m"  # type: ignore[index]


def test_three_mistakes_are_all_reported_with_lines() -> None:
    with pytest.raises(RuleErrors) as caught:
        load_rule_file(DATA / "three-mistakes.yml")
    found = messages(caught.value)
    path = str(DATA / "three-mistakes.yml")
    assert len(found) == 3, found
    assert found[0].startswith(f"{path}:1:5: ")
    assert "(/id)" in found[0]
    assert found[1].startswith(f"{path}:6:11: ")
    assert "'urgent' is not one of" in found[1]
    assert found[2] == f"{path}:15:1: unknown field 'colour' (/colour)"


def test_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "dup.yml"
    path.write_text("name: a\nname: b\n")
    with pytest.raises(RuleErrors) as caught:
        load_rule_file(path)
    assert messages(caught.value) == [f"{path}:2:1: duplicate key 'name' (first defined at line 1) (/name)"]


def test_yaml_syntax_error_is_located(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("name: [unclosed\nkind: x\n")
    with pytest.raises(RuleErrors) as caught:
        load_rule_file(path)
    (message,) = messages(caught.value)
    assert message.startswith(f"{path}:")
    assert "YAML syntax" in message


def test_python_tags_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "tag.yml"
    path.write_text("name: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(RuleErrors) as caught:
        load_rule_file(path)
    (message,) = messages(caught.value)
    assert message.startswith(f"{path}:1:7: ")
    assert "python/object" in message


def test_billion_laughs_fails_fast(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [{','.join(['*a' + str(i - 1)] * 9)}]" for i in range(1, 10)]
    path = tmp_path / "laughs.yml"
    path.write_text("\n".join(lines) + "\n")
    started = time.process_time()
    with pytest.raises(RuleErrors) as caught:
        load_rule_file(path)
    assert time.process_time() - started < 2.0
    assert all("aliases are not allowed" in m for m in messages(caught.value))


def test_name_must_match_file(tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Writer) -> None:
    path = write_rule(tmp_path, idle_rule_data)
    renamed = path.with_name("other-name.yml")
    path.rename(renamed)
    with pytest.raises(RuleErrors) as caught:
        load_rule_file(renamed)
    (message,) = messages(caught.value)
    assert "does not match its file name 'other-name'" in message
    assert "(/name)" in message


def test_duplicate_ids_and_names_across_files(
    tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Writer
) -> None:
    first = tmp_path / "one"
    second = tmp_path / "two"
    first.mkdir()
    second.mkdir()
    write_rule(first, idle_rule_data)
    write_rule(second, idle_rule_data)
    with pytest.raises(RuleErrors) as caught:
        load_rules([tmp_path])
    found = messages(caught.value)
    assert len(found) == 2
    assert any("duplicate rule id" in m and str(first) in m for m in found)
    assert any("duplicate rule name 'pci-dss-idle-15m'" in m for m in found)


def test_kind_specific_params(tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Writer) -> None:
    idle_rule_data["params"] = {"idle_timeout": "15 minutes", "extra": 1}
    path = write_rule(tmp_path, idle_rule_data)
    with pytest.raises(RuleErrors) as caught:
        load_rule_file(path)
    found = messages(caught.value)
    assert any(
        "(/params/idle_timeout)" in m and "not a duration: '15 minutes' (use 15m, 1h, 30d" in m for m in found
    )
    assert any("unknown field 'extra' (/params/extra)" in m for m in found)
