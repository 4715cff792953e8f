"""Okta System Log (integration ``okta``, data stream ``okta.system``).

Semantics as Okta documents its event types (developer.okta.com/docs/reference/api/event-types/):
``user.session.start`` signs in; ``user.authentication.sso`` is the user opening an app through
the existing Okta session (activity, not re-authentication); ``user.authentication.verify`` /
``auth_via_mfa`` re-authenticate; ``user.session.end`` ends the session (url
``session_has_expired`` when Okta expired it); ``user.lifecycle.suspend`` / ``unsuspend`` act on
the *target* user (``target[]``), carried by the admin's own session.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base

_ACTIONS = {
    "login": "user.session.start",
    "activity": "user.authentication.sso",
    "reauth": "user.authentication.verify",
    "logout": "user.session.end",
    "termination": "user.session.end",
    "account_disable": "user.lifecycle.suspend",
    "account_enable": "user.lifecycle.unsuspend",
}
_TYPES = {
    "login": ["start", "info"],
    "logout": ["end", "user"],
    "termination": ["end", "user"],
    "account_disable": ["user", "change"],
    "account_enable": ["user", "change"],
}


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    action = _ACTIONS[act.action]
    doc = base.ecs_base(act, "okta.system", action)
    doc["event"]["category"] = (
        ["authentication", "session"] if act.action != "activity" else ["authentication"]
    )
    doc["event"]["type"] = _TYPES.get(act.action, ["info"])
    url = "/app/" + (act.path or "portal") + "/sso/saml"
    if act.action in ("logout", "termination"):
        url = "/login/signout"
        if act.action == "termination":
            url += "?message=login_page_messages.session_has_expired"
    debug: dict[str, object] = {"request_uri": url.split("?")[0], "url": url, "request_id": "X" + act.eid}
    okta: dict[str, object] = {
        "uuid": act.eid,
        "event_type": action,
        "display_message": action,
        "actor": {
            "alternate_id": act.user.email,
            "display_name": act.user.name,
            "id": act.user.uid,
            "type": "User",
        },
        "outcome": {"result": "SUCCESS"},
        "authentication_context": {"authentication_step": 0, "external_session_id": act.session},
        "client": {"ip": act.ip, "device": act.device.kind if act.device else "Computer", "zone": "null"},
        "debug_context": {"debug_data": debug},
        "transaction": {"id": "X" + act.eid, "type": "WEB"},
    }
    if act.device is not None:
        debug["device_fingerprint"] = act.device.fingerprint
        okta["client"] = {**okta["client"], "user_agent": {"raw_user_agent": act.device.user_agent}}  # type: ignore[dict-item]
        doc["user_agent"] = {"original": act.device.user_agent}
    if act.target is not None:
        target = act.target
        okta["target"] = [
            {"alternate_id": target.email, "display_name": target.name, "id": target.uid, "type": "User"}
        ]
        doc["user"] = {
            "name": act.user.name,
            "target": {"name": target.name, "id": target.uid, "email": target.email},
        }
    else:
        doc["user"] = {"name": act.user.name, "full_name": act.user.name}
    doc["okta"] = okta
    doc["client"] = {"ip": act.ip, "user": {"id": act.user.uid, "name": act.user.name}}
    doc["source"] = {"ip": act.ip, "user": {"id": act.user.uid, "name": act.user.name}}
    doc["related"] = {"ip": [act.ip], "user": [act.user.name]}
    return [doc]


VENDOR = base.Vendor(
    name="okta",
    dataset="okta.system",
    caps=frozenset({base.SESSION, base.REAUTH, base.LOGOUT, base.DEVICE, base.ACCOUNT_ADMIN}),
    render=render,
    account=account,
)
