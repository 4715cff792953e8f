"""The site configuration: discovery, located errors, which rules are on, site values and overrides."""

from __future__ import annotations

import json
import os
import re
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.cli import main
from sessionwatch.rule_sources import Selection, load_selected
from sessionwatch.rules.errors import RuleErrors
from sessionwatch.rules.loader import discover
from sessionwatch.rules.policies import builtin_policies, threshold_value
from sessionwatch.rules.site_config import (
    ENV_CONFIG,
    IndexSettings,
    SiteConfig,
    find_config,
    load_config,
    parse_config,
)
from sessionwatch.rules.toml_positions import key_positions
from sessionwatch.rules.yaml_source import parse_yaml
from tests.cli_runner import run_sessionwatch

SITE_VALUE_RULES = {
    "session-ip-outside-ranges",
    "org-token-renewal-workflow",
    "asvs-sensitive-action-stale-auth",
}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _config(tmp_path: Path, text: str) -> SiteConfig:
    path = _write(tmp_path / "sessionwatch.toml", text)
    return parse_config(path.read_text(encoding="utf-8"), path)


def _errors(tmp_path: Path, text: str, *, pyproject: bool = False) -> list[str]:
    path = _write(tmp_path / ("pyproject.toml" if pyproject else "sessionwatch.toml"), text)
    with pytest.raises(RuleErrors) as info:
        load_selected([], config=parse_config(path.read_text(encoding="utf-8"), path, pyproject=pyproject))
    return [str(e) for e in info.value.errors]


def _enabled(config: SiteConfig) -> set[str]:
    return {rule.name for rule in load_selected([], config=config)}


# --- discovery ---------------------------------------------------------------------------------


def test_discovery_order_flag_env_upward_pyproject(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _write(root / "pyproject.toml", "[tool.sessionwatch]\npolicies = ['baseline']\n")
    nearer = _write(root / "a" / "sessionwatch.toml", "policies = ['baseline']\n")
    cwd = root / "a" / "b"
    cwd.mkdir(parents=True)
    flag = _write(tmp_path / "flag.toml", "")
    env = _write(tmp_path / "env.toml", "")
    assert find_config(str(flag), environ={ENV_CONFIG: str(env)}, cwd=cwd) == flag
    assert find_config(None, environ={ENV_CONFIG: str(env)}, cwd=cwd) == env
    assert find_config(None, environ={}, cwd=cwd) == nearer
    nearer.unlink()
    assert find_config(None, environ={}, cwd=cwd) == root / "pyproject.toml"


def test_sessionwatch_toml_wins_over_pyproject_in_one_directory(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool.sessionwatch]\n")
    own = _write(tmp_path / "sessionwatch.toml", "")
    assert find_config(None, environ={}, cwd=tmp_path) == own


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    upper = _write(tmp_path / "sessionwatch.toml", "")
    _write(tmp_path / "proj" / "pyproject.toml", "[project]\nname = 'x'\n")
    assert find_config(None, environ={}, cwd=tmp_path / "proj") == upper


def test_no_file_is_the_default_configuration(tmp_path: Path) -> None:
    assert load_config(None, environ={}, cwd=tmp_path) == SiteConfig()
    assert SiteConfig().policies == ("baseline",)


def test_a_named_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_config(str(tmp_path / "nope.toml"))


# --- located errors ----------------------------------------------------------------------------


def test_schema_errors_name_file_line_and_column(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        """\
        policies = ["baseline"]

        [site]
        allowed_cidr = ["10.0.0.0/8"]

        [cluster.alerts]
        number_of_shards = 0
        refresh_interval = "soon"
        """,
    )
    where = str(tmp_path / "sessionwatch.toml")
    assert any(e.startswith(f"{where}:4:1: unknown key 'allowed_cidr'") for e in errors), errors
    assert any(e.startswith(f"{where}:7:1: 0 is less than the minimum of 1") for e in errors), errors
    assert any(e.startswith(f"{where}:8:1: 'soon' does not match") for e in errors), errors


def test_errors_in_pyproject_count_lines_of_the_whole_file(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path, "[project]\nname = 'x'\n\n[tool.sessionwatch]\npolicy = ['baseline']\n", pyproject=True
    )
    assert errors == [f"{tmp_path / 'pyproject.toml'}:5:1: unknown key 'policy'; known: "
                      "cluster, policies, rules, site, version (/policy)"]  # fmt: skip


def test_toml_syntax_error_is_located(tmp_path: Path) -> None:
    path = _write(tmp_path / "sessionwatch.toml", "policies = [\n  'baseline'\n  'pci-dss-4.0']\n")
    with pytest.raises(RuleErrors) as info:
        parse_config(path.read_text(), path)
    assert str(info.value).startswith(f"{path}:3:")
    assert "not valid TOML" in str(info.value)


def test_a_config_that_is_not_utf8_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "sessionwatch.toml"
    path.write_bytes(b'policies = ["baseline"]\n# caf\xe9\n')
    with pytest.raises(RuleErrors) as info:
        load_config(str(path))
    assert str(info.value).startswith(f"{path}:2:1: not UTF-8 text")


def test_unknown_rule_and_policy_set_names_are_errors(tmp_path: Path) -> None:
    errors = _errors(
        tmp_path,
        """\
        policies = ["baseline", "pci"]

        [rules.pci-dss-idle-15min]
        enabled = true
        """,
    )
    where = str(tmp_path / "sessionwatch.toml")
    assert f"{where}:3:1: unknown rule 'pci-dss-idle-15min' (/rules/pci-dss-idle-15min)" in errors
    assert any(e.startswith(f"{where}:1:25: unknown policy set 'pci'; known: baseline,") for e in errors)


def test_names_outside_a_narrow_selection_are_known_from_the_installed_packs(
    tmp_path: Path, idle_rule_path: Path
) -> None:
    config = _config(tmp_path, 'policies = ["pci-dss-4.0"]\n[rules.session-device-change]\nenabled = false\n')
    assert [r.name for r in load_selected([str(idle_rule_path)], config=config)] == ["pci-dss-idle-15m"]


def test_key_scan_handles_dotted_quoted_keys_and_multiline_arrays() -> None:
    text = (
        'a = [\n  "x = 1",\n  2,\n]\n'
        '[rules."my-rule".params]\nidle_timeout = "1h" # c\nsite.allowed_cidrs = []\n'
    )
    positions = key_positions(text)
    assert positions["/a"] == (1, 1)
    assert "/x" not in positions  # inside the array, not a key
    assert positions["/rules/my-rule/params"] == (5, 1)
    assert positions["/rules/my-rule/params/idle_timeout"] == (6, 1)
    assert positions["/rules/my-rule/params/site/allowed_cidrs"] == (7, 1)
    items = key_positions("  policies = [ \"baseline\",'pci' , 3 ]\n")
    assert items["/policies"] == (1, 3)
    assert (items["/policies/0"], items["/policies/1"], items["/policies/2"]) == ((1, 16), (1, 27), (1, 35))


# --- which rules are on ------------------------------------------------------------------------


def test_rules_needing_site_values_are_off_by_default_and_carry_no_placeholders(pack_dir: Path) -> None:
    on = _enabled(SiteConfig())
    assert not on & SITE_VALUE_RULES
    for path in discover([pack_dir]):
        data = parse_yaml(path.read_text(encoding="utf-8"), str(path)).data
        for param in data.get("site_params", {}):
            assert param not in data["params"], f"{path.name}: {param} has a value in params"
    declared = {
        p.stem for p in discover([pack_dir]) if "site_params" in parse_yaml(p.read_text(), str(p)).data
    }
    assert declared == SITE_VALUE_RULES


def test_enabling_a_rule_without_its_site_values_is_a_located_error(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "[rules.session-ip-outside-ranges]\nenabled = true\n")
    assert len(errors) == 1
    assert errors[0].startswith(f"{tmp_path / 'sessionwatch.toml'}:2:1: rule 'session-ip-outside-ranges' ")
    assert "allowed_cidrs" in errors[0]


def test_site_values_turn_their_rules_on_with_those_values(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """\
        [site]
        allowed_cidrs = ["172.16.0.0/12"]
        allowed_clients = ["web"]
        allowed_grant_types = ["refresh_token"]
        """,
    )
    rules = {rule.name: rule for rule in load_selected([], config=config)}
    assert dict(rules["session-ip-outside-ranges"].params) == {"allowed_cidrs": ["172.16.0.0/12"]}
    assert rules["org-token-renewal-workflow"].params["allowed_clients"] == ["web"]
    assert rules["org-token-renewal-workflow"].params["max_lifetime"] == "8h"
    assert "asvs-sensitive-action-stale-auth" not in rules  # its sensitive_paths are not given


def test_override_is_applied_and_a_bad_one_is_located_in_the_config(tmp_path: Path) -> None:
    text = """\
        policies = ["baseline", "pci-dss-4.0"]

        [rules.pci-dss-idle-15m.params]
        idle_timeout = "{value}"
        """
    rules = {r.name: r for r in load_selected([], config=_config(tmp_path, text.format(value="10m")))}
    assert rules["pci-dss-idle-15m"].params["idle_timeout"] == "10m"
    assert rules["pci-dss-idle-15m"].policy is None  # the limit is the site's now, not PCI's 15m
    assert rules["org-concurrent-sessions"].params["max_sessions"] == 3  # a sound default, untouched
    errors = _errors(tmp_path, text.format(value="10 minutes"))
    assert len(errors) == 1
    assert errors[0].startswith(
        f"{tmp_path / 'sessionwatch.toml'}:4:1: not a duration: '10 minutes' (use 15m"
    )
    assert errors[0].endswith("(/rules/pci-dss-idle-15m/params/idle_timeout)")


def test_unknown_override_param_is_located_in_the_config(tmp_path: Path) -> None:
    errors = _errors(tmp_path, "[rules.org-concurrent-sessions.params]\nmax_session = 5\n")
    assert errors == [
        f"{tmp_path / 'sessionwatch.toml'}:2:1: unknown field 'max_session' "
        "(/rules/org-concurrent-sessions/params/max_session)"
    ]


def test_a_rule_can_be_switched_off_and_a_set_on(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """\
        policies = ["baseline", "pci-dss-4.0"]
        [rules.session-device-change]
        enabled = false
        """,
    )
    on = _enabled(config)
    assert "session-device-change" not in on
    assert {"pci-dss-idle-15m", "nist-63b-r4-aal2-idle-1h"} <= on


def test_default_pack_has_no_two_rules_of_one_kind_on_one_policy_dimension() -> None:
    dimensions = {name for policy in builtin_policies().values() for name in policy.thresholds}
    by_dimension: dict[tuple[str, str], list[str]] = defaultdict(list)
    for rule in load_selected([], config=SiteConfig()):
        for param in rule.params:
            if param in dimensions:
                by_dimension[(rule.kind.value, param)].append(rule.name)
    doubles = {key: names for key, names in by_dimension.items() if len(names) > 1}
    assert doubles == {}
    assert ("session_idle_timeout", "idle_timeout") in by_dimension
    assert ("session_max_lifetime", "max_lifetime") in by_dimension


def test_every_compliance_set_is_one_line_and_named_in_the_docs(repo: Path, tmp_path: Path) -> None:
    doc = (repo / "docs" / "configuration.md").read_text(encoding="utf-8")
    for name in sorted(p.stem for p in (repo / "rules" / "policies").glob("*.yml")):
        on = _enabled(_config(tmp_path, f'policies = ["{name}"]\n'))
        assert on, name
        assert f"`{name}`" in doc


def test_docs_list_exactly_the_default_rules(repo: Path) -> None:
    doc = (repo / "docs" / "configuration.md").read_text(encoding="utf-8")
    table = doc.split("<!-- baseline:start -->")[1].split("<!-- baseline:end -->")[0]
    listed = set(re.findall(r"^\| `([a-z0-9-]+)` \|", table, flags=re.M))
    assert listed == _enabled(SiteConfig())


def test_validate_checks_every_rule_but_test_sees_them_as_written(tmp_path: Path) -> None:
    config = _config(tmp_path, "[rules.pci-dss-idle-15m.params]\nidle_timeout = '10m'\n")
    every = {r.name: r for r in load_selected([], config=config, selection=Selection.EVERY)}
    assert set(every) >= SITE_VALUE_RULES
    assert every["pci-dss-idle-15m"].params["idle_timeout"] == "10m"
    as_written = {r.name: r for r in load_selected([], config=config, selection=Selection.AS_WRITTEN)}
    assert as_written["pci-dss-idle-15m"].params["idle_timeout"] == "15m"
    assert as_written["session-ip-outside-ranges"].params["allowed_cidrs"]  # its tests' example


def test_a_rule_file_named_on_the_command_line_is_on(pack_dir: Path) -> None:
    path = pack_dir / "session_idle_timeout" / "pci-dss-idle-15m.yml"
    assert [r.name for r in load_selected([str(path)], config=SiteConfig())] == ["pci-dss-idle-15m"]
    outside = pack_dir / "session_ip_binding" / "session-ip-outside-ranges.yml"
    with pytest.raises(RuleErrors) as info:
        load_selected([str(outside)], config=SiteConfig())
    assert f"{outside}:" in str(info.value)
    assert "allowed_cidrs" in str(info.value)


def test_a_directory_named_on_the_command_line_is_chosen_but_site_values_still_needed(pack_dir: Path) -> None:
    on = {r.name for r in load_selected([str(pack_dir)], config=SiteConfig())}
    every = {r.name for r in load_selected([str(pack_dir)], config=SiteConfig(), selection=Selection.EVERY)}
    assert on == every - SITE_VALUE_RULES
    assert {r.name for r in load_selected(["pack:builtin"], config=SiteConfig())} == _enabled(SiteConfig())


def test_cluster_settings_are_typed_values(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """\
        [cluster.alerts]
        number_of_shards = 2
        number_of_replicas = 1
        refresh_interval = "5s"
        [cluster.state]
        number_of_replicas = 0
        """,
    )
    assert config.cluster.alerts == IndexSettings(
        number_of_shards=2, number_of_replicas=1, refresh_interval="5s"
    )
    assert config.cluster.alerts.as_settings() == {
        "number_of_shards": 2,
        "number_of_replicas": 1,
        "refresh_interval": "5s",
    }
    assert config.cluster.state.as_settings() == {"number_of_replicas": 0}
    assert config.cluster.audit.as_settings() == {}


def test_inventory_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    config = _config(tmp_path, '[site]\ninventory = "accounts.csv"\ninventory_index = "inv"\n')
    assert config.inventory == tmp_path / "accounts.csv"
    assert config.inventory_index == "inv"


# --- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize("place", ["before", "after", "env"])
def test_config_flag_before_or_after_the_command_and_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], place: str
) -> None:
    bad = _write(tmp_path / "elsewhere" / "site.toml", "policies = ['nope']\n")
    monkeypatch.chdir(tmp_path)
    argv = {
        "before": ["--config", str(bad), "validate"],
        "after": ["validate", "--config", str(bad)],
        "env": ["validate"],
    }[place]
    if place == "env":
        monkeypatch.setenv(ENV_CONFIG, str(bad))
    assert main(argv) == 1
    assert f"{bad}:1:13: unknown policy set 'nope'" in capsys.readouterr().err


def test_validate_says_which_configuration_and_how_many_rules_are_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    assert main(["validate"]) == 0
    total = len(load_selected([], config=SiteConfig(), selection=Selection.EVERY))
    default = f"none found, the default (policies: baseline): 10 of {total} rules on"
    assert capsys.readouterr().err.splitlines()[-1] == f"site configuration: {default}"
    pci = _write(tmp_path / "sessionwatch.toml", 'policies = ["baseline", "pci-dss-4.0"]\n')
    assert main(["validate"]) == 0
    expected = f"site configuration: {pci} (policies: baseline, pci-dss-4.0): 11 of {total} rules on"
    assert capsys.readouterr().err.splitlines()[-1] == expected


def test_validate_reads_the_config_found_upward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "sessionwatch.toml", "[rules.org-token-renewal-workflow]\nenabled = true\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    monkeypatch.delenv(ENV_CONFIG, raising=False)
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'sessionwatch.toml'}:2:1: rule 'org-token-renewal-workflow' is enabled" in err


def _enrich(*args: str, cwd: Path) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != ENV_CONFIG}
    result = run_sessionwatch(["enrich", *args, "-o", "out.ndjson"], cwd=cwd, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in (cwd / "out.ndjson").read_text().splitlines()]


def test_enrich_takes_the_inventory_from_the_config_and_the_flag_wins(tmp_path: Path, repo: Path) -> None:
    site = tmp_path / "site"
    _write(site / "sessionwatch.toml", '[site]\ninventory = "inventory/accounts.csv"\n')
    _write(site / "inventory" / "accounts.csv", "user,status\nalice,disabled\n")
    _write(tmp_path / "active.csv", "user,status\nalice,active\n")
    work = site / "work"
    work.mkdir()
    events = str(repo / "fixtures" / "samples" / "portal-violations.ndjson")
    from_config = _enrich(events, cwd=work)
    alice = [d for d in from_config if d["user"]["name"] == "alice"]
    assert {d["sessionwatch"]["account"]["status"] for d in alice} == {"disabled"}
    from_flag = _enrich(events, "--inventory", str(tmp_path / "active.csv"), cwd=work)
    alice = [d for d in from_flag if d["user"]["name"] == "alice"]
    assert {d["sessionwatch"]["account"]["status"] for d in alice} == {"active"}


def test_each_set_is_a_faithful_one_line_compliance_set() -> None:
    """A rule in a standard's set carries that standard's limits; one rule per kind and limit."""
    policies = builtin_policies()
    every = load_selected([], config=SiteConfig(), selection=Selection.EVERY)
    declared = {s for rule in every for s in _sets(rule.source)}
    assert declared == set(policies) | {"baseline"}
    for name in sorted(declared - {"baseline"}):
        members = [rule for rule in every if name in _sets(rule.source)]
        seen: dict[tuple[str, str], str] = {}
        for rule in members:
            for param, value in rule.params.items():
                if param not in policies[name].thresholds:
                    continue
                assert threshold_value(policies[name].thresholds[param]) == threshold_value(value), (
                    f"{rule.name} in set {name}: {param} {value} differs from the policy"
                )
                assert (rule.kind.value, param) not in seen, (
                    f"{name}: {rule.name} and {seen[(rule.kind.value, param)]}"
                )
                seen[(rule.kind.value, param)] = rule.name


def _sets(path: Path) -> list[str]:
    data = parse_yaml(path.read_text(encoding="utf-8"), str(path)).data
    return list(data.get("sets", []))
