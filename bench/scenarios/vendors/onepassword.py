"""1Password sign-in attempts (integration ``1password``, data stream ``1password.signin_attempts``).

The Events API reports sign-in attempts only (developer.1password.com/docs/events-api/reference):
each attempt names its ``session_uuid``; ``credentials_ok`` (action ``success``) signs in. What the
user does in the vault afterwards is in other streams, so a session shows only its sign-ins.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    doc = base.ecs_base(act, "1password.signin_attempts", "success")
    del doc["event"]["id"]
    doc["event"]["category"] = ["authentication"]
    doc["event"]["type"] = ["info"]
    doc["onepassword"] = {
        "uuid": act.eid,
        "session_uuid": act.session,
        "type": "credentials_ok",
        "category": "success",
        "country": "GB",
        "client": {"app_name": "1Password Browser Extension", "platform_name": "Chrome"},
    }
    doc["source"] = {"ip": act.ip}
    doc["user"] = {"email": act.user.email, "id": act.user.uid[3:].upper()}
    return [doc]


VENDOR = base.Vendor(
    name="onepassword",
    dataset="1password.signin_attempts",
    caps=frozenset({base.SESSION}),
    render=render,
    account=account,
)
