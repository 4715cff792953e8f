"""The site configuration's ``[cluster]`` table reaches the index templates ``deploy`` puts and the
state index the runner and the follower create."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sessionwatch.deploy.desired import desired
from sessionwatch.deploy.model import Resource
from sessionwatch.index_settings import site_cluster_settings
from sessionwatch.rule_sources import config_flag, load_selected


def _template_settings(resources: list[Resource], name: str) -> dict[str, Any]:
    (body,) = [r.body for r in resources if r.name == name]
    return dict(body["template"]["settings"])


def test_deploy_templates_carry_the_site_index_settings(tmp_path: Path) -> None:
    config = tmp_path / "sessionwatch.toml"
    config.write_text(
        '[cluster.alerts]\nnumber_of_replicas = 2\n[cluster.state]\nrefresh_interval = "30s"\n',
        encoding="utf-8",
    )
    with config_flag(str(config)):
        rules = load_selected([])
        plan = desired(rules, "runner", with_roles=False)
        state = site_cluster_settings().state.as_settings()
    alerts = _template_settings(plan.resources, "sessionwatch-alerts")
    assert alerts["number_of_replicas"] == 2
    assert "auto_expand_replicas" not in alerts  # a fixed replica count replaces the 0-1 default
    assert state["refresh_interval"] == "30s"


def test_without_a_configuration_the_defaults_hold(tmp_path: Path) -> None:
    config = tmp_path / "sessionwatch.toml"
    config.write_text('policies = ["baseline"]\n', encoding="utf-8")
    with config_flag(str(config)):
        plan = desired(load_selected([]), "runner", with_roles=False)
    alerts = _template_settings(plan.resources, "sessionwatch-alerts")
    assert alerts.get("auto_expand_replicas") == "0-1"
    assert "number_of_replicas" not in alerts
