"""Auth0 tenant logs (integration ``auth0``, data stream ``auth0.logs``).

Event codes as Auth0 documents them (auth0.com/docs/deploy-monitor/logs/log-event-type-codes):
``s`` successful login, ``ssa`` successful silent authentication (the SPA renewing its tokens
through the existing session: activity on the session), ``slo`` logout, ``sertft`` refresh
token exchange (client and grant, usually without a session id), ``srrt`` refresh token revoked.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base

_CODES = {
    "login": ("s", "successful-login", ["info", "start"]),
    "activity": ("ssa", "successful-silent-authentication", ["info"]),
    "logout": ("slo", "user-logout-successful", ["info", "end"]),
    "token_refresh": ("sertft", "success-exchange-refresh-token-for-access-token", ["info"]),
}


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    code, action, types = _CODES[act.action]
    doc = base.ecs_base(act, "auth0.logs", action)
    doc["event"]["category"] = (
        ["authentication", "session"] if act.action != "token_refresh" else ["authentication"]
    )
    doc["event"]["type"] = types
    details: dict[str, object] = {}
    if act.session is not None and act.action != "token_refresh":
        details["session_id"] = act.session
    token = act.token
    if token is not None and act.action == "token_refresh":
        details["grant_type"] = token.grant
    data: dict[str, object] = {
        "log_id": act.eid,
        "date": doc["@timestamp"],
        "type": code,
        "client_id": token.client if token else "portal-web",
        "client_name": "Customer Portal",
        "connection": "Username-Password-Authentication",
        "ip": act.ip,
        "user_id": "auth0|" + act.user.uid,
        "user_name": act.user.email,
        "details": details,
    }
    if act.device is not None:
        data["user_agent"] = act.device.user_agent
        doc["user_agent"] = {"original": act.device.user_agent}
    doc["auth0"] = {"logs": {"data": data}}
    doc["source"] = {"ip": act.ip}
    doc["user"] = {"id": "auth0|" + act.user.uid, "name": act.user.email}
    return [doc]


VENDOR = base.Vendor(
    name="auth0",
    dataset="auth0.logs",
    caps=frozenset({base.SESSION, base.LOGOUT, base.TOKEN_REFRESH}),
    render=render,
    account=account,
)
