"""Cisco Duo authentication log (integration ``cisco_duo``, data stream ``cisco_duo.auth``).

One event per MFA transaction (``txid``), as the Duo Admin API documents its authentication log
(duo.com/docs/adminapi#authentication-logs): ``access_device`` is the computer that signed in,
``auth_device`` the phone that approved the push. The two addresses differ by design (the phone
is on its carrier's network), so a push is not a session on two networks. No session id.
"""

from __future__ import annotations

import uuid

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    doc = base.ecs_base(act, "cisco_duo.auth", "authentication")
    del doc["event"]["action"], doc["event"]["id"]
    doc["event"]["category"] = ["authentication"]
    doc["event"]["type"] = ["info"]
    doc["event"]["reason"] = "user_approved"
    phone = act.user.devices[-1]
    txid = str(uuid.UUID(int=int(act.eid.split("-")[-1]) + (1 << 100)))
    doc["cisco_duo"] = {
        "auth": {
            "txid": txid,
            "event_type": "authentication",
            "factor": "duo_push",
            "result": "success",
            "reason": "user_approved",
            "access_device": {"ip": act.ip, "browser": "Chrome", "os": "Mac OS X"},
            "auth_device": {
                "ip": str(act.extra.get("auth_device_ip", act.ip)),
                "name": f"{phone.kind} of {act.user.name}",
            },
            "application": {"key": "DIY231J8BR23QK4UKBY8", "name": "Okta"},
        }
    }
    doc["source"] = {"ip": act.ip}
    doc["user"] = {"email": act.user.email, "id": "DU" + act.user.uid[3:15].upper(), "name": act.user.email}
    return [doc]


VENDOR = base.Vendor(
    name="cisco_duo",
    dataset="cisco_duo.auth",
    caps=frozenset(),
    render=render,
    account=account,
)
