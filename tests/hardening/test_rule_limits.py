"""Limits that fail loudly: whole-string patterns, bounded durations and times, CIDRs checked at
load time in every command, a byte-counted size limit, and a bad rule skipped, not fatal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sessionwatch.rules import load_rule_file
from sessionwatch.rules.durations import parse_duration
from sessionwatch.rules.errors import RuleErrors, SessionwatchError
from sessionwatch.rules.loader import ecma_regex, load_rules, rule_schema
from sessionwatch.rules.yaml_source import MAX_BYTES
from tests.cli_runner import run_sessionwatch

REPO = Path(__file__).resolve().parents[2]
IDLE_RULE = REPO / "rules/pack/session_idle_timeout/pci-dss-idle-15m.yml"
IP_RULE = next((REPO / "rules/pack/session_ip_binding").glob("*.yml"))


def patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return found + [p for value in node.values() for p in patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in patterns(value)]
    return []


SCHEMA_PATTERNS = sorted(set(patterns(rule_schema())))


def test_the_schema_has_patterns_to_check() -> None:
    assert len(SCHEMA_PATTERNS) >= 8


@pytest.mark.parametrize("pattern", SCHEMA_PATTERNS)
@settings(max_examples=20, deadline=None, derandomize=True)
@given(data=st.data())
def test_no_pattern_accepts_a_trailing_newline(pattern: str, data: st.DataObject) -> None:
    value = data.draw(st.from_regex(ecma_regex(pattern), fullmatch=True).filter(lambda v: "\n" not in v))
    compiled = ecma_regex(pattern)
    assert compiled.search(value), value
    assert not compiled.search(value + "\n"), f"{pattern} accepts {value!r} + newline"


def write_variant(folder: Path, source: Path, change: dict[str, Any]) -> Path:
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    for dotted, value in change.items():
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[leaf] = value
    target = folder / source.name
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"id": "4ff09e72-c1ab-4a67-8f5c-ff5b10e9646a\n"}, "/id"),
        ({"schedule.interval": "5m\n"}, "/schedule/interval"),
        ({"schedule.lookback": "1h\n"}, "/schedule/lookback"),
        ({"schedule.lookback": "999999999d"}, "/schedule/lookback"),
        ({"params.idle_timeout": "100000d"}, "/params/idle_timeout"),
        ({"tests.0.at": "0001-01-01T00:00:00Z"}, "/tests/0/at"),
        ({"tests.0.at": "2026-03-02T10:00:00Z\n"}, "/tests/0/at"),
    ],
    ids=[
        "id-newline",
        "interval-newline",
        "lookback-newline",
        "lookback-huge",
        "param-huge",
        "at-year-1",
        "at-nl",
    ],
)
def test_bad_values_are_located_errors_not_tracebacks(
    tmp_path: Path, change: dict[str, Any], pointer: str
) -> None:
    path = write_variant(tmp_path, IDLE_RULE, change)
    with pytest.raises(RuleErrors) as caught:
        load_rule_file(path)
    assert any(f"({pointer})" in str(e) for e in caught.value.errors), caught.value.errors
    for command in (["validate", str(path)], ["render", str(path)]):
        done = run_sessionwatch(command, timeout=60)
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode == 1, done.stderr
        assert f"{path}:" in done.stderr


def test_durations_parse_whole_strings_within_bounds() -> None:
    assert parse_duration("99999d") == 99999 * 86400
    for bad in ("15m\n", "100000d", "1000000000s", " 5m", "5m ", "\uff105m"):  # the last: a full-width digit
        with pytest.raises(ValueError, match="not a duration"):
            parse_duration(bad)


@pytest.mark.parametrize(
    ("cidrs", "message"),
    [
        (["10.1.2.3/8"], "invalid CIDR: 10.1.2.3/8 has host bits set"),
        (["999.1.1.0/24"], "invalid CIDR"),
        (["10.0.0.0/33"], "invalid CIDR"),
        (["0.0.0.0/0"], "0.0.0.0/0 allows every address"),
        (["::/0"], "::/0 allows every address"),
    ],
)
def test_cidrs_are_checked_when_loading(tmp_path: Path, cidrs: list[str], message: str) -> None:
    path = write_variant(tmp_path, IP_RULE, {"params.allowed_cidrs": cidrs})
    with pytest.raises(RuleErrors) as caught:
        load_rule_file(path)
    assert any(message in str(e) and "/params/allowed_cidrs/0" in str(e) for e in caught.value.errors)
    with pytest.raises(RuleErrors) as again:
        load_rules([path])  # what every command calls (site values are checked the same way)
    assert any(message in str(e) for e in again.value.errors)


def test_a_bad_rule_is_reported_and_skipped_the_others_load(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.mkdir()
    write_variant(good, IDLE_RULE, {})
    bad = write_variant(tmp_path, IP_RULE, {"params.allowed_cidrs": ["0.0.0.0/0"]})
    reported: list[SessionwatchError] = []
    rules = load_rules([good, bad], on_error=reported.append)
    assert [r.name for r in rules] == [IDLE_RULE.stem]
    assert len(reported) == 1
    assert "allows every address" in str(reported[0])
    with pytest.raises(RuleErrors):
        load_rules([good, bad])  # without on_error: all or nothing, as before


def test_the_size_limit_counts_bytes(tmp_path: Path) -> None:
    text = IDLE_RULE.read_text(encoding="utf-8")
    padding = "# " + "é" * ((MAX_BYTES - len(text)) // 2 + 10) + "\n"  # under the limit in characters
    path = tmp_path / IDLE_RULE.name
    path.write_text(text + padding, encoding="utf-8")
    assert len(text + padding) < MAX_BYTES < path.stat().st_size
    with pytest.raises(RuleErrors, match="larger than"):
        load_rule_file(path)
    assert json.dumps(str(path))  # the file name is reported (it is in the error's location)
