"""HashiCorp Vault audit log (integration ``hashicorp_vault``, data stream ``hashicorp_vault.audit``).

Vault has no session: the token (its HMAC'd accessor) is the session
(developer.hashicorp.com/vault/docs/audit). Every request is written twice, a ``request`` and a
``response`` entry with the same request id. ``auth.token_issue_time`` + ``auth.token_ttl`` give
the token's expiry; ``auth/token/revoke-accessor`` revokes the token named in
``request.data.accessor``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bench.scenarios.model import Act, Event, User, iso
from bench.scenarios.vendors import base

_PATHS = {
    "login": "auth/oidc/oidc/callback",
    "token_revoke": "auth/token/revoke-accessor",
    "token_refresh": "auth/token/renew-self",
}


def account(user: User) -> str:
    """The OIDC account id (``auth.metadata.account_id``), which the pipeline writes as user.id."""
    return str(int(user.uid[3:], 16))


def _entry(act: Act, kind: str) -> Event:
    token = act.token
    assert token is not None, "every Vault act carries its token"
    path = act.path or _PATHS.get(act.action, "secret/data/app")
    if act.action == "login":
        path = "auth/oidc/login"
    doc = base.ecs_base(act, "hashicorp_vault.audit", "update" if act.action != "activity" else "read")
    doc["event"]["category"] = ["authentication"]
    doc["event"]["type"] = ["info"]
    auth = {
        "accessor": token.token_id,
        "client_token": "hmac-sha256:ct-" + token.token_id,
        "display_name": "oidc-" + act.user.email,
        "entity_id": "ent-" + act.user.uid,
        "token_type": "service",
        "token_policies": ["default", "engineering"],
        "token_issue_time": datetime.fromtimestamp(token.issued_at, UTC).isoformat().replace("+00:00", "Z"),
        "token_ttl": int(token.ttl),
        "metadata": {"account_id": account(act.user), "email": act.user.email, "role": "engineering"},
    }
    request: dict[str, object] = {
        "id": act.eid,
        "operation": "update" if act.action != "activity" else "read",
        "path": path,
        "remote_address": act.ip,
        "namespace": {"id": "root"},
    }
    if act.action != "login" or kind == "response":
        request["client_token_accessor"] = token.token_id
    if act.revoked_token is not None:
        request["data"] = {"accessor": act.revoked_token}
    audit: dict[str, object] = {"type": kind, "request": request}
    if act.action != "login" or kind == "response":
        audit["auth"] = auth
    doc["hashicorp_vault"] = {"audit": audit}
    doc["source"] = {"ip": act.ip}
    doc["user"] = {"id": account(act.user), "email": act.user.email}
    if kind == "response":  # written a few milliseconds after its request
        doc["@timestamp"] = iso(act.t + 0.004)
    return doc


def render(act: Act) -> list[Event]:
    if act.action == "login":
        return [_entry(act, "response")]
    return [_entry(act, "request"), _entry(act, "response")]


VENDOR = base.Vendor(
    name="hashicorp_vault",
    dataset="hashicorp_vault.audit",
    caps=frozenset({base.SESSION, base.TOKEN_EXPIRY, base.TOKEN_REVOKE}),
    render=render,
    account=account,
)
