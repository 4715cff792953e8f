"""Zscaler Private Access user status (integration ``zscaler_zpa``, data stream ``zscaler_zpa.user_status``).

As Zscaler documents the User Status log (help.zscaler.com/zpa/about-user-status-log-fields): a
record reports a client connector session (``SessionID``) and its status while it is connected,
and when it disconnects (``TimestampUnAuthentication`` set). ``TimestampAuthentication`` is when
the session authenticated. Records carry no event id. The reports are modelled as the session's
activity (the reporting interval is not in the integration's test data).
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User, iso
from bench.scenarios.vendors import base


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    doc = base.ecs_base(act, "zscaler_zpa.user_status", "")
    event = doc["event"]
    for key in ("action", "id", "outcome", "module"):
        del event[key]
    event["kind"] = "state"
    event["category"] = ["iam"]
    event["type"] = ["info", "user"]
    ended = act.action == "logout"
    stamps = {"authentication": iso(float(act.extra.get("session_start", act.t)))}
    if ended:
        stamps["unauthentication"] = iso(act.t)
    doc["zscaler_zpa"] = {
        "user_status": {
            "session": {
                "id": act.session,
                "status": "ZPN_STATUS_DISCONNECTED" if ended else "ZPN_STATUS_AUTHENTICATED",
            },
            "timestamp": stamps,
            "client": {"type": "zpn_client_type_zapp"},
            "idp": "Okta IdP",
        }
    }
    doc["client"] = {"ip": act.ip}
    doc["host"] = {"hostname": "LAPTOP-" + act.user.uid[3:10].upper()}
    doc["user"] = {"name": act.user.email}
    return [doc]


VENDOR = base.Vendor(
    name="zscaler_zpa",
    dataset="zscaler_zpa.user_status",
    caps=frozenset({base.SESSION, base.LOGOUT}),
    render=render,
    account=account,
)
