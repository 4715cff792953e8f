"""Linux sshd / PAM log (integration ``system``, data stream ``system.auth``).

sshd logs ``Accepted publickey`` (``ssh_login``), then PAM ``session opened`` / ``session closed``
(``logged-on`` / ``logged-off``) from the same process: host + pid is the session. The close is
the end of the session, not a use of it. pam_faillock logs a locked account. No event.id: the
integration does not write one.
"""

from __future__ import annotations

import zlib

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base

_ACTIONS = {
    "login": ("ssh_login", ["authentication", "session"], ["info"]),
    "activity": ("logged-on", ["authentication", "session"], ["start"]),
    "logout": ("logged-off", ["authentication", "session"], ["end"]),
    "account_disable": ("account-locked", ["authentication"], ["info"]),
}


def account(user: User) -> str:
    return user.name


def render(act: Act) -> list[Event]:
    action, category, types = _ACTIONS[act.action]
    doc = base.ecs_base(act, "system.auth", action)
    del doc["event"]["id"]
    doc["event"]["category"] = category
    doc["event"]["type"] = types
    pid = 1000 + zlib.crc32((act.session or act.eid).encode()) % 60000
    doc["host"] = {"hostname": "bastion-1", "name": "bastion-1"}
    doc["process"] = {"name": "sshd", "pid": pid}
    subject = act.target or act.user
    doc["user"] = {"name": subject.name}
    doc["source"] = {"ip": act.ip, "port": 50000 + pid % 10000}
    if act.action == "login":
        doc["system"] = {
            "auth": {"ssh": {"method": "publickey", "signature": "ED25519 SHA256:" + act.user.uid}}
        }
    doc["message"] = f"{action} {subject.name} from {act.ip} [{act.eid}]"
    return [doc]


VENDOR = base.Vendor(
    name="system_auth",
    dataset="system.auth",
    caps=frozenset({base.SESSION, base.LOGOUT}),
    render=render,
    account=account,
)
