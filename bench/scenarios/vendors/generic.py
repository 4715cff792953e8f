"""A custom application logging ECS JSON with ``session.id`` and ``token.*`` (sessionwatch's
``generic`` profile, docs/profiles.md): the one layout that carries every fact, so it carries the
kinds no vendor layout can show (token lifetime, rate, sensitive paths)."""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User, iso
from bench.scenarios.vendors import base

_ACTIONS = {
    "login": "login",
    "activity": "request",
    "reauth": "reauth",
    "logout": "logout",
    "termination": "session_terminated",
    "token_issue": "token_issued",
    "token_refresh": "token_refreshed",
    "token_revoke": "token_revoked",
    "account_disable": "account_disabled",
}


def account(user: User) -> str:
    return user.name


def render(act: Act) -> list[Event]:
    doc = base.ecs_base(act, "generic.portal", _ACTIONS[act.action])
    if act.action in ("login", "logout", "termination"):
        doc["event"]["category"] = ["authentication", "session"]
        doc["event"]["type"] = ["start"] if act.action == "login" else ["end"]
    doc["session"] = {"id": act.session}
    doc["user"] = {"name": act.user.name, "email": act.user.email}
    if act.target is not None:
        doc["user"]["target"] = {"name": act.target.name}
    doc["source"] = {"ip": act.ip}
    doc["url"] = {"path": act.path or "/app"}
    if act.device is not None:
        doc["device"] = {"id": act.device.fingerprint}
        doc["user_agent"] = {"original": act.device.user_agent}
    token = act.token
    if token is not None:
        doc["token"] = {
            "id": token.token_id,
            "issued_at": iso(token.issued_at),
            "expires_at": iso(token.issued_at + token.ttl),
            "client_id": token.client,
            "grant_type": token.grant,
        }
    if act.revoked_token is not None:
        doc.setdefault("token", {})["revoked_id"] = act.revoked_token
    return [doc]


VENDOR = base.Vendor(
    name="generic",
    dataset="generic.portal",
    caps=frozenset(
        {
            base.SESSION,
            base.REAUTH,
            base.LOGOUT,
            base.DEVICE,
            base.ACCOUNT_ADMIN,
            base.TOKEN_EXPIRY,
            base.TOKEN_REVOKE,
            base.TOKEN_REFRESH,
            base.PATHS,
        }
    ),
    render=render,
    account=account,
)
