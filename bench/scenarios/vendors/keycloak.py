"""Keycloak user events (integration ``keycloak``, data stream ``keycloak.log``).

Event types as Keycloak documents them
(keycloak.org/docs-api/latest/javadocs/org/keycloak/events/EventType.html):
``LOGIN`` starts the user session (``code_id``), ``CODE_TO_TOKEN`` issues the first tokens,
``REFRESH_TOKEN`` renews them (access tokens live 5 minutes by default, so an open application
refreshes every few minutes: the session's visible activity), ``LOGOUT`` ends it. The server
logs local time with its zone offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base

_ACTIONS = {
    "login": "LOGIN",
    "activity": "REFRESH_TOKEN",
    "token_refresh": "REFRESH_TOKEN",
    "logout": "LOGOUT",
}
_ZONE = timezone(timedelta(hours=-5))


def account(user: User) -> str:
    return user.name


def render(act: Act) -> list[Event]:
    action = _ACTIONS[act.action]
    doc = base.ecs_base(act, "keycloak.log", action)
    doc["@timestamp"] = (
        datetime.fromtimestamp(act.t, UTC).astimezone(_ZONE).isoformat(timespec="milliseconds")
    )
    doc["event"]["category"] = ["authentication"]
    login: dict[str, object] = {"type": action, "auth_method": "openid-connect"}
    if act.session is not None:
        login["code_id"] = act.session
        login["auth_session_parent_id"] = act.session
    client = act.token.client if act.token else "account-console"
    doc["keycloak"] = {
        "event_type": "login",
        "login": login,
        "client": {"id": client},
        "realm": {"id": "corp"},
    }
    doc["log"] = {"level": "INFO", "logger": "org.keycloak.events"}
    doc["source"] = {"ip": act.ip}
    doc["user"] = {"name": act.user.name, "id": act.user.uid}
    doc["url"] = {"path": "/realms/corp/protocol/openid-connect/token"}
    return [doc]


VENDOR = base.Vendor(
    name="keycloak",
    dataset="keycloak.log",
    caps=frozenset({base.SESSION, base.LOGOUT, base.TOKEN_REFRESH}),
    render=render,
    account=account,
)
