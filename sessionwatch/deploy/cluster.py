"""Reading what a cluster holds, and applying a plan to it.

Every managed resource carries its content hash (index template ``_meta``, role and watch
``metadata``); a record of each deployed body (placeholders unfilled, so no secret) is kept in
``sessionwatch-config`` for diffs, and the runner's rule entries live there too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError, TransportError

from sessionwatch.deploy.model import (
    HASH_KEY,
    MANAGED_BY,
    OWNER_KEY,
    Action,
    Change,
    Deployed,
    Kind,
    Resource,
)
from sessionwatch.deploy.roles import CONFIG_INDEX
from sessionwatch.renderer.watcher import MUSTACHE_DELIMITERS
from sessionwatch.renderer.webhooks import inject
from sessionwatch.rules.errors import ElasticsearchUnavailable

CONFIG_MAPPING: dict[str, Any] = {
    "dynamic": False,
    "properties": {
        "kind": {"type": "keyword"},
        "name": {"type": "keyword"},
        "hash": {"type": "keyword"},
        "deployed_at": {"type": "date"},
        "body": {"type": "object", "enabled": False},
    },
}


@dataclass(frozen=True)
class Capabilities:
    security: bool
    watcher: bool
    watcher_reason: str


def _status(client: Elasticsearch, path: str) -> tuple[int, str]:
    try:
        client.perform_request("GET", path, headers={"accept": "application/json"})
    except ApiError as exc:
        return exc.meta.status, str(exc.error)
    return 200, "ok"


def capabilities(client: Elasticsearch) -> Capabilities:
    """Security from ``_security/_authenticate``; Watcher from ``_watcher/stats`` (``GET _xpack``
    is missing from minimal distributions)."""
    security, _ = _status(client, "/_security/_authenticate")
    watcher, reason = _status(client, "/_watcher/stats")
    return Capabilities(security=security == 200, watcher=watcher == 200, watcher_reason=reason)


def _get(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs).body
    except NotFoundError:
        return None
    except (ApiError, TransportError) as exc:
        raise ElasticsearchUnavailable(f"reading the cluster failed: {exc}") from None


def records(client: Elasticsearch) -> dict[str, dict[str, Any]]:
    """The recorded deployments in ``sessionwatch-config``, by ``kind:name``."""
    found = _get(client.search, index=CONFIG_INDEX, size=10000, query={"match_all": {}})
    if found is None:
        return {}
    return {hit["_id"]: hit["_source"] for hit in found["hits"]["hits"]}


def deployed_state(client: Elasticsearch, desired: list[Resource], kinds: set[Kind]) -> list[Deployed]:
    """What the cluster holds for the desired resources and, for prunable kinds, everything
    sessionwatch manages there."""
    recorded = records(client)
    out: list[Deployed] = []

    def add(kind: Kind, name: str, hash_: str | None, owner: str | None = None) -> None:
        body = recorded.get(f"{kind.value}:{name}", {}).get("body")
        out.append(Deployed(kind, name, hash_, body, owner))

    for resource in desired:
        if resource.kind is Kind.INDEX_TEMPLATE:
            got = _get(client.indices.get_index_template, name=resource.name)
            if got and got.get("index_templates"):
                meta = got["index_templates"][0]["index_template"].get("_meta", {})
                add(resource.kind, resource.name, meta.get(HASH_KEY))
        elif resource.kind is Kind.ROLE:
            got = _get(client.security.get_role, name=resource.name)
            if got and resource.name in got:
                add(resource.kind, resource.name, got[resource.name].get("metadata", {}).get(HASH_KEY))
    if Kind.WATCH in kinds:
        found = _get(client.watcher.query_watches, size=1000) or {}
        for item in found.get("watches", []):
            metadata = item.get("watch", {}).get("metadata", {})
            if metadata.get("managed_by") == MANAGED_BY:
                add(Kind.WATCH, item["_id"], metadata.get(HASH_KEY), metadata.get(OWNER_KEY))
    if Kind.RUNNER_RULE in kinds:
        for record in recorded.values():
            if record.get("kind") == Kind.RUNNER_RULE.value:
                owner = (record.get("body") or {}).get("owner")
                add(Kind.RUNNER_RULE, record["name"], record.get("hash"), owner)
    return out


def _ensure_config_index(client: Elasticsearch) -> None:
    if not client.indices.exists(index=CONFIG_INDEX):
        client.indices.create(index=CONFIG_INDEX, mappings=CONFIG_MAPPING, settings={"number_of_shards": 1})


def _put(client: Elasticsearch, resource: Resource, environ: Mapping[str, str] | None) -> None:
    body = resource.body
    if resource.kind is Kind.INDEX_TEMPLATE:
        meta = {**body.get("_meta", {}), "managed_by": MANAGED_BY, HASH_KEY: resource.hash}
        client.indices.put_index_template(name=resource.name, body={**body, "_meta": meta})
    elif resource.kind is Kind.ROLE:
        role = {**body, "metadata": {**body.get("metadata", {}), HASH_KEY: resource.hash}}
        client.security.put_role(name=resource.name, body=role)
    elif resource.kind is Kind.WATCH:
        watch = inject(body, environ, forbid=MUSTACHE_DELIMITERS)  # secrets only here, never logged
        watch["metadata"] = {**watch.get("metadata", {}), HASH_KEY: resource.hash}
        client.watcher.put_watch(id=resource.name, body=watch, active=True)


def _record(client: Elasticsearch, resource: Resource) -> None:
    doc = {
        "kind": resource.kind.value,
        "name": resource.name,
        "hash": resource.hash,
        "deployed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "body": resource.body,
    }
    client.index(index=CONFIG_INDEX, id=resource.key, document=doc, refresh="wait_for")


def apply(client: Elasticsearch, changes: list[Change], environ: Mapping[str, str] | None = None) -> None:
    """Carry out the pending changes, in order: templates and roles, then rules."""
    pending = [c for c in changes if c.action in (Action.ADD, Action.CHANGE, Action.REMOVE)]
    if not pending:
        return
    for change in pending:  # every secret must be there before anything is written
        if change.desired is not None and change.kind is Kind.WATCH:
            inject(change.desired.body, environ, forbid=MUSTACHE_DELIMITERS)
    try:
        _ensure_config_index(client)
        for change in pending:
            if change.action is Action.REMOVE:
                if change.kind is Kind.WATCH:
                    client.options(ignore_status=404).watcher.delete_watch(id=change.name)
                client.options(ignore_status=404).delete(
                    index=CONFIG_INDEX, id=f"{change.kind.value}:{change.name}", refresh="wait_for"
                )
                continue
            assert change.desired is not None
            try:
                _put(client, change.desired, environ)
            except ApiError as exc:
                if change.kind is not Kind.ROLE:
                    raise
                raise ElasticsearchUnavailable(
                    f"putting role {change.name} failed: {exc}; where roles are managed in files, write "
                    "them with --roles-out and deploy with --skip-roles"
                ) from None
            _record(client, change.desired)
    except (ApiError, TransportError) as exc:
        raise ElasticsearchUnavailable(f"deploy failed: {exc}") from None
