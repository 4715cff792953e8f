"""Least-privilege roles for the runner and for the watches, rendered from the rules deployed.

* ``sessionwatch_runner``: read the rules' event indices; create alerts (and update their
  termination status); append audit records; read and write its checkpoints; read the deployed
  configuration. Cluster ``monitor`` only for ``_cluster/health``.
* ``sessionwatch_watch_owner``: the user who puts the watches (a watch runs with the privileges of
  the user who stored it): manage watches, read the rules' event indices.
* ``sessionwatch_alert_writer``: the credentials in each watch's ``index_alerts`` webhook:
  create alert documents, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sessionwatch.indices import ALERTS_PATTERN, AUDIT_PATTERN, STATE_INDEX
from sessionwatch.rules.model import Rule

CONFIG_INDEX = "sessionwatch-config"
RUNNER_ROLE = "sessionwatch_runner"
WATCH_OWNER_ROLE = "sessionwatch_watch_owner"
ALERT_WRITER_ROLE = "sessionwatch_alert_writer"
_READ = ["read", "view_index_metadata"]


def event_patterns(rules: Sequence[Rule]) -> list[str]:
    return sorted({rule.scope.index for rule in rules})


def _role(description: str, cluster: list[str], indices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "indices": indices,
        "applications": [],
        "run_as": [],
        "metadata": {"managed_by": "sessionwatch", "description": description},
    }


def runner_role(rules: Sequence[Rule]) -> dict[str, Any]:
    return _role(
        "sessionwatch run: evaluate rules, write alerts, audit records and checkpoints",
        ["monitor"],
        [
            {"names": event_patterns(rules), "privileges": _READ},
            {"names": [ALERTS_PATTERN], "privileges": ["create_doc", "index", "create_index", *_READ]},
            {"names": [AUDIT_PATTERN], "privileges": ["create_doc", "create_index", "view_index_metadata"]},
            {"names": [STATE_INDEX], "privileges": ["index", "create_index", *_READ]},
            {"names": [CONFIG_INDEX], "privileges": _READ},
        ],
    )


def watch_owner_role(rules: Sequence[Rule]) -> dict[str, Any]:
    return _role(
        "owner of sessionwatch's watches: the watches search with these privileges",
        ["manage_watcher", "monitor"],
        [{"names": event_patterns(rules), "privileges": _READ}],
    )


def alert_writer_role() -> dict[str, Any]:
    return _role(
        "credentials of the watches' index_alerts webhook (_bulk create of alert documents)",
        [],
        [{"names": [ALERTS_PATTERN], "privileges": ["create_doc", "create_index"]}],
    )


def roles(rules: Sequence[Rule], mode: str) -> dict[str, dict[str, Any]]:
    """The roles ``mode`` (``runner`` or ``watcher``) needs, by name."""
    if mode == "watcher":
        return {WATCH_OWNER_ROLE: watch_owner_role(rules), ALERT_WRITER_ROLE: alert_writer_role()}
    return {RUNNER_ROLE: runner_role(rules)}
