"""Google Workspace admin audit (integration ``google_workspace``, data stream
``google_workspace.admin``).

``SUSPEND_USER`` / ``UNSUSPEND_USER`` are done by an administrator (``source.user``) to the user
in ``USER_EMAIL`` (``user.target``)
(developers.google.com/admin-sdk/reports/v1/appendix/activity/admin-user-settings). The user's
sign-ins are in the login audit (google_workspace.login).
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base, google_workspace

_ACTIONS = {"account_disable": "SUSPEND_USER", "account_enable": "UNSUSPEND_USER"}


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    if act.action not in _ACTIONS:
        return google_workspace.render(act)  # the sign-ins are in the login audit
    action = _ACTIONS[act.action]
    assert act.target is not None, "an admin action names the user it acts on"
    doc = base.ecs_base(act, "google_workspace.admin", action)
    doc["event"]["category"] = ["iam"]
    doc["event"]["type"] = ["user", "change"]
    doc["google_workspace"] = {
        "id": {"unique_qualifier": act.eid, "application_name": "admin"},
        "actor": {"type": "USER", "email": act.user.email},
        "admin": {"user": {"email": act.target.email}},
        "event": {"type": "USER_SETTINGS"},
        "kind": "admin#reports#activity",
    }
    doc["source"] = {"ip": act.ip, "user": {"email": act.user.email, "name": act.user.name}}
    doc["user"] = {
        "email": act.user.email,
        "name": act.user.name,
        "domain": "example.com",
        "target": {"email": act.target.email, "name": act.target.name, "domain": "example.com"},
    }
    return [doc]


VENDOR = base.Vendor(
    name="google_workspace_admin",
    dataset="google_workspace.admin",
    caps=frozenset({base.ACCOUNT_ADMIN}),
    render=render,
    account=account,
)
