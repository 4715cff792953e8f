"""Salesforce login / logout (integration ``salesforce``, data streams ``salesforce.login`` and
``salesforce.logout``).

The Login and Logout EventLogFile records share the LOGIN_KEY
(developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_eventlogfile_logout.htm);
the activity in between (UI, API) is in other event types that these data streams do not carry,
so a session shows only its login and its logout. The login records the browser as parsed
fields, the logout as ``browser_type`` (the raw user agent).
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base


def account(user: User) -> str:
    return "005" + user.uid[:12] + "AAQ"


def render(act: Act) -> list[Event]:
    ua = act.device.user_agent if act.device else "Mozilla/5.0"
    if act.action == "login":
        doc = base.ecs_base(act, "salesforce.login", "login-attempt")
        doc["event"]["category"] = ["authentication"]
        doc["event"]["type"] = ["info"]
        doc["salesforce"] = {
            "login": {
                "key": act.session,
                "request": {"id": act.eid},
                "client": {"ip": act.ip},
                "login_type": "Application",
                "api": {"type": "f", "version": "58.0"},
            }
        }
        doc["user_agent"] = {"name": "Chrome", "os": {"name": "Windows"}}
    else:
        doc = base.ecs_base(act, "salesforce.logout", "logout")
        doc["event"].pop("outcome")
        doc["event"]["code"] = act.eid
        doc["event"]["category"] = ["authentication"]
        doc["event"]["type"] = ["info"]
        doc["salesforce"] = {
            "logout": {
                "login_key": act.session,
                "session": {"key": "sk-" + (act.session or ""), "level": "Standard Session", "type": "UI"},
                "browser_type": ua,
                "user_initiated_logout": "1",
                "user_id": account(act.user)[:15],
            }
        }
    del doc["event"]["id"]
    if act.action == "login":
        doc["event"]["id"] = act.eid
    doc["source"] = {"ip": act.ip}
    doc["user"] = {"id": account(act.user), "email": act.user.email}
    return [doc]


VENDOR = base.Vendor(
    name="salesforce",
    dataset="salesforce.login",
    caps=frozenset({base.SESSION, base.LOGOUT}),
    render=render,
    account=account,
)
