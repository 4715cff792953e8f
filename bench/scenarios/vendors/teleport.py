"""Teleport audit events (integration ``teleport``, data stream ``teleport.audit``).

As Teleport documents its audit events (goteleport.com/docs/reference/monitoring/audit/):
``session.start`` / ``session.end`` bound an SSH session (``sid``); ``session.command`` is a
command run in it; ``session.upload`` is the recording upload, written after ``session.end`` and
not user activity; ``user.login`` and ``cert.create`` carry no session id.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base

_ACTIONS = {
    "login": ("session.start", ["session"], ["start"]),
    "activity": ("session.command", ["session", "process"], ["info", "start"]),
    "logout": ("session.end", ["session"], ["end"]),
    "upload": ("session.upload", ["session"], ["info"]),
}


def account(user: User) -> str:
    return user.name


def render(act: Act) -> list[Event]:
    action, category, types = _ACTIONS[act.action]
    doc = base.ecs_base(act, "teleport.audit", action)
    doc["event"]["category"] = category
    doc["event"]["type"] = types
    doc["event"]["code"] = {
        "session.start": "T2000I",
        "session.end": "T2004I",
        "session.upload": "T2005I",
    }.get(action, "T4000I")
    audit: dict[str, object] = {
        "session": {"id": act.session},
        "login": "ubuntu",
        "server": {"hostname": "ip-10-1-2-3", "id": "b3b5f2b0-node", "labels": {"env": "prod"}},
        "cluster_name": "teleport.example.internal",
    }
    if act.action == "activity":
        audit["program"] = "bash"
        audit["path"] = act.path or "/usr/bin/kubectl"
    doc["teleport"] = {"audit": audit}
    doc["user"] = {"name": act.user.name}
    if act.action != "upload":
        doc["client"] = {"ip": act.ip, "port": 52344}
    doc["host"] = {"hostname": "ip-10-1-2-3"}
    return [doc]


VENDOR = base.Vendor(
    name="teleport",
    dataset="teleport.audit",
    caps=frozenset({base.SESSION, base.LOGOUT, base.UPLOAD_AFTER_END}),
    render=render,
    account=account,
)
