"""Settings of the alerts, audit and state indices: defaults, site overrides, where they land."""

from __future__ import annotations

import pytest

from sessionwatch.index_settings import ClusterSettings, IndexSettings
from sessionwatch.indices import index_templates


def test_defaults_fit_one_node_and_a_cluster() -> None:
    defaults = ClusterSettings()
    assert defaults.alerts.as_settings() == {
        "number_of_shards": 1,
        "refresh_interval": "1s",
        "auto_expand_replicas": "0-1",
    }
    assert defaults.audit.as_settings()["refresh_interval"] == "5s"
    templates = index_templates()
    assert templates["sessionwatch-alerts"]["template"]["settings"] == defaults.alerts.as_settings()
    assert templates["sessionwatch-audit"]["template"]["settings"] == defaults.audit.as_settings()


def test_a_site_table_overrides_per_index() -> None:
    chosen = ClusterSettings.from_table(
        {"alerts": {"number_of_replicas": 2, "number_of_shards": 3}, "state": {"refresh_interval": "-1"}}
    )
    assert chosen.alerts.as_settings() == {
        "number_of_shards": 3,
        "refresh_interval": "1s",
        "number_of_replicas": 2,
    }
    assert chosen.state.refresh_interval == "-1"
    assert chosen.audit == ClusterSettings().audit
    settings = index_templates(chosen)["sessionwatch-alerts"]["template"]["settings"]
    assert settings["number_of_replicas"] == 2
    assert "auto_expand_replicas" not in settings


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"events": {}}, "unknown index 'events'"),
        ({"alerts": {"replicas": 1}}, "settings are number_of_replicas"),
        ({"alerts": {"number_of_shards": 0}}, "number_of_shards must be at least 1"),
        ({"audit": {"number_of_replicas": -1}}, "must not be negative"),
        ({"state": {"refresh_interval": "soon"}}, "not a duration"),
    ],
)
def test_bad_values_are_named(table: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ClusterSettings.from_table(table)


def test_index_settings_are_typed() -> None:
    assert IndexSettings(number_of_replicas=0).as_settings()["number_of_replicas"] == 0


def test_the_site_configuration_cluster_table_feeds_it() -> None:
    from sessionwatch.rules.site_config import ClusterSettings as SiteCluster
    from sessionwatch.rules.site_config import IndexSettings as SiteIndex

    site = SiteCluster(alerts=SiteIndex(number_of_replicas=2), audit=SiteIndex(refresh_interval="30s"))
    chosen = ClusterSettings.from_site(site)
    assert chosen.alerts.as_settings()["number_of_replicas"] == 2
    assert chosen.audit.refresh_interval == "30s"
    assert chosen.state == ClusterSettings().state
