"""Composable index templates of the indices sessionwatch writes (their names: ``index_names``).

Enriched events, alerts, the audit trail of evaluations, termination webhook outcomes, and
runner/follower state.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from elasticsearch import Elasticsearch

from sessionwatch.enrichers.facts import events_mapping
from sessionwatch.es import retrying
from sessionwatch.index_names import ALERTS_INDEX as ALERTS_INDEX
from sessionwatch.index_names import ALERTS_PATTERN as ALERTS_PATTERN
from sessionwatch.index_names import AUDIT_INDEX as AUDIT_INDEX
from sessionwatch.index_names import AUDIT_PATTERN as AUDIT_PATTERN
from sessionwatch.index_names import EVENTS_PATTERN as EVENTS_PATTERN
from sessionwatch.index_names import STATE_INDEX as STATE_INDEX
from sessionwatch.index_names import TERMINATIONS_INDEX as TERMINATIONS_INDEX
from sessionwatch.index_names import TERMINATIONS_PATTERN as TERMINATIONS_PATTERN
from sessionwatch.index_settings import DEFAULT as DEFAULT_CLUSTER
from sessionwatch.index_settings import ClusterSettings

_KEYWORD = {"type": "keyword", "ignore_above": 1024}


def alerts_mapping() -> dict[str, Any]:
    """Alert documents (the format docs/architecture.md fixes); evidence facts are kept, not indexed."""
    return {
        "dynamic": False,
        "properties": {
            "@timestamp": {"type": "date"},
            "message": {"type": "text"},
            "event": {"properties": {"kind": _KEYWORD, "severity": {"type": "long"}, "id": _KEYWORD}},
            "rule": {
                "properties": {
                    name: _KEYWORD for name in ("id", "name", "description", "category", "ruleset", "version")
                }
            },
            "threat": {"properties": {"framework": _KEYWORD, "technique": {"properties": {"id": _KEYWORD}}}},
            "user": {"properties": {"name": _KEYWORD}},
            "source": {"properties": {"ip": {"type": "ip"}}},
            "sessionwatch": {
                "properties": {
                    "session": {"properties": {"id": _KEYWORD}},
                    "evidence": {
                        "properties": {
                            "event_ids": _KEYWORD,
                            "facts": {"type": "object", "enabled": False},
                        }
                    },
                }
            },
        },
    }


def audit_mapping() -> dict[str, Any]:
    """One audit record per rule evaluation: the evidence that the policy was enforced."""
    return {
        "dynamic": False,
        "properties": {
            "@timestamp": {"type": "date"},
            "rule": {"properties": {"id": _KEYWORD, "name": _KEYWORD, "version": _KEYWORD, "hash": _KEYWORD}},
            "window": {"properties": {"start": {"type": "date"}, "end": {"type": "date"}}},
            "documents_examined": {"type": "long"},
            "alerts_raised": {"type": "long"},
            "outcome": _KEYWORD,
            "error": {"type": "text"},
            "runner": {"properties": {"id": _KEYWORD}},
        },
    }


def terminations_index_for(alerts_index: str) -> str:
    """Where the webhook outcomes of ``alerts_index``'s alerts go: ``sessionwatch-alerts-X`` ->
    ``sessionwatch-terminations-X``, any other name -> ``<name>-terminations``."""
    prefix = ALERTS_PATTERN.removesuffix("*")
    if alerts_index.startswith(prefix):
        return TERMINATIONS_PATTERN.removesuffix("*") + alerts_index.removeprefix(prefix)
    return f"{alerts_index}-terminations"


def terminations_mapping() -> dict[str, Any]:
    """One document per alert whose termination webhook was called: its outcome, created once
    under the alert's id (alerts themselves are never updated)."""
    return {
        "dynamic": False,
        "properties": {
            "@timestamp": {"type": "date"},
            "alert": {"properties": {"id": _KEYWORD}},
            "rule": {"properties": {"id": _KEYWORD, "name": _KEYWORD}},
            "user": {"properties": {"name": _KEYWORD}},
            "sessionwatch": {"properties": {"session": {"properties": {"id": _KEYWORD}}}},
            "termination": {
                "properties": {
                    "status": _KEYWORD,
                    "provider": _KEYWORD,
                    "attempts": {"type": "long"},
                    "http_status": {"type": "long"},
                    "error": {"type": "text"},
                }
            },
            "runner": {"properties": {"id": _KEYWORD}},
        },
    }


def index_templates(cluster: ClusterSettings = DEFAULT_CLUSTER) -> dict[str, dict[str, Any]]:
    """Composable index templates, by template name; alerts and audit take ``cluster``'s settings."""
    settings = {"number_of_shards": 1}
    return {
        "sessionwatch-events": {
            "index_patterns": [EVENTS_PATTERN],
            "priority": 200,
            "template": {"settings": settings, "mappings": events_mapping()},
            "_meta": {"managed_by": "sessionwatch"},
        },
        "sessionwatch-alerts": {
            "index_patterns": [ALERTS_PATTERN],
            "priority": 200,
            "template": {"settings": cluster.alerts.as_settings(), "mappings": alerts_mapping()},
            "_meta": {"managed_by": "sessionwatch"},
        },
        "sessionwatch-audit": {
            "index_patterns": [AUDIT_PATTERN],
            "priority": 200,
            "template": {"settings": cluster.audit.as_settings(), "mappings": audit_mapping()},
            "_meta": {"managed_by": "sessionwatch"},
        },
        "sessionwatch-terminations": {
            "index_patterns": [TERMINATIONS_PATTERN],
            "priority": 200,
            "template": {"settings": cluster.audit.as_settings(), "mappings": terminations_mapping()},
            "_meta": {"managed_by": "sessionwatch"},
        },
    }


def create_events_index(client: Elasticsearch, index: str) -> None:
    """An index of enriched events: the events mapping, one shard, no replica."""
    client.indices.create(
        index=index, mappings=events_mapping(), settings={"number_of_shards": 1, "number_of_replicas": 0}
    )


@contextmanager
def temporary_events_index(client: Elasticsearch, prefix: str) -> Iterator[str]:
    """A fresh events index (``<prefix><random>``, the events mapping, one shard, no replica),
    deleted on the way out whatever happened. Used by ``detect --events`` and the fixture
    harness."""
    index = f"{prefix}{uuid.uuid4().hex[:12]}"
    retrying(lambda: create_events_index(client, index), f"creating {index}")
    try:
        yield index
    finally:
        client.options(ignore_status=404).indices.delete(index=index)
