"""Least-privilege roles for the runner and for the watches, rendered from the rules deployed.

* ``sessionwatch_runner``: read the rules' event indices (never a system index); create alerts
  and termination outcomes (``create_doc``: neither is ever updated or overwritten, an outcome is
  its own document); append audit records; read and write its checkpoints; read the deployed
  configuration. Cluster ``monitor`` only for ``_cluster/health``. ``run --terminate`` needs
  nothing more.
* ``sessionwatch_watch_owner``: the user who puts the watches (a watch runs with the privileges of
  the user who stored it): manage watches, read the rules' event indices.
* ``sessionwatch_alert_writer``: the credentials in each watch's ``index_alerts`` webhook:
  create alert documents, nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sessionwatch.indices import ALERTS_PATTERN, AUDIT_PATTERN, STATE_INDEX, TERMINATIONS_PATTERN
from sessionwatch.rules.model import Rule

CONFIG_INDEX = "sessionwatch-config"
RUNNER_ROLE = "sessionwatch_runner"
WATCH_OWNER_ROLE = "sessionwatch_watch_owner"
ALERT_WRITER_ROLE = "sessionwatch_alert_writer"
_READ = ["read", "view_index_metadata"]


def event_patterns(rules: Sequence[Rule]) -> list[str]:
    """The rules' event index patterns, never a system (dot) index: those parts are left out."""
    parts = {p.strip() for rule in rules for p in rule.scope.index.split(",")}
    return sorted(p for p in parts if p and not p.startswith("."))


def _indices(names: list[str], privileges: list[str]) -> dict[str, Any]:
    # explicit: a wildcard in ``names`` never reaches restricted system indices
    return {"names": names, "privileges": privileges, "allow_restricted_indices": False}


def _role(description: str, cluster: list[str], indices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "cluster": cluster,
        "indices": indices,
        "applications": [],
        "run_as": [],
        "metadata": {"managed_by": "sessionwatch", "description": description},
    }


def runner_role(rules: Sequence[Rule]) -> dict[str, Any]:
    """Alerts and termination outcomes are created, never overwritten: ``create_doc`` (the alert
    store only uses ``create``); ``read`` on both to tell known alerts whose outcome is owed."""
    return _role(
        "sessionwatch run: evaluate rules, create alerts and termination outcomes, append audit"
        " records, keep checkpoints",
        ["monitor"],
        [
            _indices(event_patterns(rules), _READ),
            _indices([ALERTS_PATTERN], ["create_doc", "create_index", *_READ]),
            _indices([TERMINATIONS_PATTERN], ["create_doc", "create_index", *_READ]),
            _indices([AUDIT_PATTERN], ["create_doc", "create_index", "view_index_metadata"]),
            _indices([STATE_INDEX], ["index", "create_index", *_READ]),
            _indices([CONFIG_INDEX], _READ),
        ],
    )


def watch_owner_role(rules: Sequence[Rule]) -> dict[str, Any]:
    return _role(
        "owner of sessionwatch's watches: the watches search with these privileges",
        ["manage_watcher", "monitor"],
        [_indices(event_patterns(rules), _READ)],
    )


def alert_writer_role() -> dict[str, Any]:
    return _role(
        "credentials of the watches' index_alerts webhook (_bulk create of alert documents)",
        [],
        [_indices([ALERTS_PATTERN], ["create_doc", "create_index"])],
    )


def roles(rules: Sequence[Rule], mode: str) -> dict[str, dict[str, Any]]:
    """The roles ``mode`` (``runner`` or ``watcher``) needs, by name."""
    if mode == "watcher":
        return {WATCH_OWNER_ROLE: watch_owner_role(rules), ALERT_WRITER_ROLE: alert_writer_role()}
    return {RUNNER_ROLE: runner_role(rules)}
