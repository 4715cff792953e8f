"""Checkpoints kept in Elasticsearch (``STATE_INDEX``), one document per rule or follower.

Documents are read by id (realtime GET, no refresh needed) and written with optimistic
concurrency (``if_seq_no``/``if_primary_term``): a second process with the same name that
moved the checkpoint meanwhile makes the write fail instead of silently going backwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, ConflictError, Elasticsearch, NotFoundError

from sessionwatch.index_settings import DEFAULT as DEFAULT_CLUSTER
from sessionwatch.index_settings import ClusterSettings
from sessionwatch.indices import STATE_INDEX, index_templates
from sessionwatch.rules.errors import SessionwatchError

# Checkpoints are fetched by id only; nothing under ``data`` is indexed (no mapping growth).
STATE_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "type": {"type": "keyword"},
        "name": {"type": "keyword"},
        "updated": {"type": "date"},
        "data": {"type": "object", "enabled": False},
    },
}


class CheckpointConflict(SessionwatchError):
    """Another process moved this checkpoint since it was read."""


@dataclass(frozen=True)
class Stored:
    """A checkpoint as read: its data and the version to write against."""

    data: dict[str, Any] | None
    seq_no: int | None = None
    primary_term: int | None = None


class StateStore:
    """Get and put checkpoint documents in ``index``."""

    def __init__(self, client: Elasticsearch, index: str = STATE_INDEX) -> None:
        self.client = client
        self.index = index

    def get(self, doc_id: str) -> Stored:
        try:
            response = self.client.get(index=self.index, id=doc_id)
        except NotFoundError:
            return Stored(None)
        return Stored(response["_source"].get("data"), response["_seq_no"], response["_primary_term"])

    def put(self, doc_id: str, kind: str, data: dict[str, Any], previous: Stored, updated: str) -> Stored:
        """Write ``data``; raise ``CheckpointConflict`` when ``previous`` is stale."""
        body = {"type": kind, "name": doc_id, "updated": updated, "data": data}
        options: dict[str, Any] = {}
        if previous.seq_no is None:
            options["op_type"] = "create"
        else:
            options["if_seq_no"] = previous.seq_no
            options["if_primary_term"] = previous.primary_term
        try:
            response = self.client.index(index=self.index, id=doc_id, document=body, **options)
        except ConflictError:
            # A request retried after its response was lost (a node restarting) conflicts with
            # its own first attempt: the stored document is then exactly ours, and that is fine.
            landed = self._read(doc_id)
            if landed is not None and landed[0] == body:
                return Stored(data, landed[1], landed[2])
            raise CheckpointConflict(f"checkpoint {doc_id} was changed by another process") from None
        return Stored(data, response["_seq_no"], response["_primary_term"])

    def _read(self, doc_id: str) -> tuple[dict[str, Any], int, int] | None:
        try:
            response = self.client.get(index=self.index, id=doc_id)
        except NotFoundError:
            return None
        return response["_source"], response["_seq_no"], response["_primary_term"]


def ensure_indices(
    client: Elasticsearch, state_index: str = STATE_INDEX, cluster: ClusterSettings = DEFAULT_CLUSTER
) -> list[str]:
    """Put sessionwatch's index templates when absent, and create the state index.

    Idempotent. Returns what was created. A 403 (a least-privilege role: ``deploy`` put the
    templates) is tolerated.
    """
    created: list[str] = []
    for name, body in index_templates(cluster).items():
        try:
            if client.indices.exists_index_template(name=name):
                continue
            client.indices.put_index_template(name=name, create=True, **body)
        except ApiError as exc:
            if exc.meta.status == 403 or "already exists" in str(exc):  # not ours / concurrent create
                continue
            raise
        created.append(f"index template {name}")
    try:
        client.indices.create(
            index=state_index,
            mappings=STATE_MAPPING,
            settings=cluster.state.as_settings(),
        )
        created.append(f"index {state_index}")
    except ApiError as exc:
        if exc.meta.status != 403 and "resource_already_exists" not in str(exc.error):
            raise
    return created
