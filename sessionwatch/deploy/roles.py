"""Least-privilege roles for the runner and for the watches, rendered from the rules deployed.

* ``sessionwatch_runner``: read the rules' event indices (never a system index); create alerts
  (``create_doc``: an alert is never overwritten); append audit records; read and write its
  checkpoints; read the deployed configuration. Cluster ``monitor`` only for ``_cluster/health``.
* ``sessionwatch_runner_termination``: for ``run --terminate`` only, added to the runner's user:
  ``index`` on the alerts, to record each webhook outcome in its alert.
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
RUNNER_TERMINATION_ROLE = "sessionwatch_runner_termination"
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
    """Alerts are created, never overwritten: ``create_doc`` (the alert store only uses
    ``create``); the termination outcome needs ``RUNNER_TERMINATION_ROLE`` besides."""
    return _role(
        "sessionwatch run: evaluate rules, create alerts, append audit records, keep checkpoints",
        ["monitor"],
        [
            _indices(event_patterns(rules), _READ),
            _indices([ALERTS_PATTERN], ["create_doc", "create_index", *_READ]),
            _indices([AUDIT_PATTERN], ["create_doc", "create_index", "view_index_metadata"]),
            _indices([STATE_INDEX], ["index", "create_index", *_READ]),
            _indices([CONFIG_INDEX], _READ),
        ],
    )


def runner_termination_role() -> dict[str, Any]:
    """For ``run --terminate`` only: store each webhook call's outcome in its alert (an update)."""
    return _role(
        "sessionwatch run --terminate: record the webhook outcome in the alert",
        [],
        [_indices([ALERTS_PATTERN], ["index"])],
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
    return {RUNNER_ROLE: runner_role(rules), RUNNER_TERMINATION_ROLE: runner_termination_role()}
