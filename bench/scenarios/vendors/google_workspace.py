"""Google Workspace login audit (integration ``google_workspace``, data stream ``google_workspace.login``).

Events as the Reports API documents them
(developers.google.com/admin-sdk/reports/v1/appendix/activity/login): ``login_success``,
``logout``, ``login_verification``; ``account_disabled_*`` names the disabled account in
``affected_email_address``. The login audit has no session id.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base

_ACTIONS = {
    "login": ("login_success", ["start"], "login"),
    "reauth": ("login_verification", ["info"], "login"),
    "logout": ("logout", ["end"], "login"),
    "account_disable": ("account_disabled_hijacked", ["user", "change"], "account_warning"),
}


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    action, types, gtype = _ACTIONS[act.action]
    doc = base.ecs_base(act, "google_workspace.login", action)
    doc["event"]["category"] = ["authentication"]
    doc["event"]["type"] = types
    subject = act.target or act.user
    gw: dict[str, object] = {
        "actor": {"type": "USER"},
        "event": {"type": gtype},
        "kind": "admin#reports#activity",
    }
    if act.action == "account_disable":
        gw["login"] = {"affected_email_address": subject.email}
    else:
        gw["login"] = {"type": "google_password", "is_second_factor": act.action == "reauth"}
    doc["google_workspace"] = gw
    doc["organization"] = {"id": "C0example"}
    doc["source"] = {
        "ip": act.ip,
        "user": {"email": subject.email, "name": subject.name, "domain": "example.com"},
    }
    doc["user"] = {"email": subject.email, "name": subject.name, "domain": "example.com", "id": subject.uid}
    return [doc]


VENDOR = base.Vendor(
    name="google_workspace",
    dataset="google_workspace.login",
    caps=frozenset({base.REAUTH, base.LOGOUT}),
    render=render,
    account=account,
)
