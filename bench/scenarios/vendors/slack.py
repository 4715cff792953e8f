"""Slack audit logs (integration ``slack``, data stream ``slack.audit``).

Actions as Slack documents them (docs.slack.dev/reference/audit-logs-api/methods-actions-reference):
``user_login`` / ``user_logout``; ``user_deactivated`` / ``user_reactivated`` are performed by an
admin (the actor) on the *entity* user. The audit log has no session id.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base

_ACTIONS = {
    "login": "user_login",
    "logout": "user_logout",
    "account_disable": "user_deactivated",
    "account_enable": "user_reactivated",
}


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    doc = base.ecs_base(act, "slack.audit", _ACTIONS[act.action])
    del doc["event"]["outcome"]
    doc["event"]["type"] = ["info"]
    entity = act.target or act.user
    doc["slack"] = {
        "audit": {
            "entity": {"entity_type": "user", "email": entity.email, "id": "W" + entity.uid[3:12].upper()},
            "context": {"type": "enterprise", "domain": "example"},
        }
    }
    doc["source"] = {"ip": act.ip}
    doc["user"] = {"email": act.user.email, "id": "W" + act.user.uid[3:12].upper()}
    if act.device is not None:
        doc["user_agent"] = {"original": act.device.user_agent}
    return [doc]


VENDOR = base.Vendor(
    name="slack",
    dataset="slack.audit",
    caps=frozenset({base.LOGOUT, base.ACCOUNT_ADMIN}),
    render=render,
    account=account,
)
