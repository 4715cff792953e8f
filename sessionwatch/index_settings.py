"""Index settings of the indices sessionwatch creates for itself (alerts, audit, runner state).

The defaults suit one node and a cluster alike: one primary shard (the indices are small: one
document per alert, per evaluation, per rule), ``auto_expand_replicas: 0-1`` (green on a single
node, one replica as soon as a second data node exists) and a refresh interval per index
(alerts searchable within a second; the audit trail can wait). A site overrides them per index
(the site configuration's ``[cluster]`` table: ``number_of_shards``, ``number_of_replicas``,
``refresh_interval``); see docs/deploy.md, "Running against a production cluster".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

_INTERVAL = re.compile(r"^(-1|[1-9][0-9]*(ms|s|m|h))$")


@dataclass(frozen=True)
class IndexSettings:
    """Settings of one index; ``number_of_replicas=None`` means ``auto_expand_replicas: 0-1``."""

    number_of_shards: int = 1
    number_of_replicas: int | None = None
    refresh_interval: str = "1s"

    def __post_init__(self) -> None:
        if self.number_of_shards < 1:
            raise ValueError(f"number_of_shards must be at least 1, not {self.number_of_shards}")
        if self.number_of_replicas is not None and self.number_of_replicas < 0:
            raise ValueError(f"number_of_replicas must not be negative, not {self.number_of_replicas}")
        if not _INTERVAL.match(self.refresh_interval):
            raise ValueError(f"refresh_interval {self.refresh_interval!r} is not a duration like 1s or -1")

    def as_settings(self) -> dict[str, Any]:
        """The ``settings`` body of an index or index template."""
        settings: dict[str, Any] = {
            "number_of_shards": self.number_of_shards,
            "refresh_interval": self.refresh_interval,
        }
        if self.number_of_replicas is None:
            settings["auto_expand_replicas"] = "0-1"
        else:
            settings["number_of_replicas"] = self.number_of_replicas
        return settings


@dataclass(frozen=True)
class ClusterSettings:
    """Settings of the alerts, audit and state indices."""

    alerts: IndexSettings = field(default_factory=IndexSettings)
    audit: IndexSettings = field(default_factory=lambda: IndexSettings(refresh_interval="5s"))
    state: IndexSettings = field(default_factory=IndexSettings)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> ClusterSettings:
        """From a ``{"alerts": {"number_of_replicas": 2, ...}, "audit": {...}}`` table (the site
        configuration's ``[cluster]``); keys left out keep their defaults. ValueError on an
        unknown index or setting."""
        defaults = cls()
        chosen: dict[str, IndexSettings] = {}
        known = {f.name for f in fields(IndexSettings)}
        for index, values in table.items():
            if index not in {"alerts", "audit", "state"}:
                raise ValueError(f"unknown index {index!r} (alerts, audit or state)")
            if not isinstance(values, Mapping) or set(values) - known:
                raise ValueError(f"{index}: settings are {', '.join(sorted(known))}")
            chosen[index] = replace(getattr(defaults, index), **dict(values))
        return replace(defaults, **chosen)

    @classmethod
    def from_site(cls, site: Any) -> ClusterSettings:
        """From the site configuration's ``[cluster]`` (``rules.site_config.ClusterSettings``:
        ``alerts`` / ``audit`` / ``state``, each with optional values; unset ones keep ours)."""
        return cls.from_table(
            {name: getattr(site, name).as_settings() for name in ("alerts", "audit", "state")}
        )


DEFAULT = ClusterSettings()
