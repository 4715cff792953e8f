"""Google Workspace OAuth token audit (integration ``google_workspace``, data stream
``google_workspace.token``).

``authorize`` is a user granting an application (``token.client.id``) access, ``revoke`` takes the
grant back, ``activity`` is the application calling a Google API with it
(developers.google.com/admin-sdk/reports/v1/appendix/activity/token). A grant is per user and
client, so that pair is the token; there is no session id.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base

CLIENT = "923474483785.apps.googleusercontent.com"
# a clean "login" is the day's first grant of the add-on
_ACTIONS = {
    "login": "authorize",
    "token_issue": "authorize",
    "token_revoke": "revoke",
    "activity": "activity",
}
_APIS = [
    ("gmail", "gmail.users.messages.list"),
    ("drive", "drive.files.list"),
    ("calendar", "calendar.events.list"),
]


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    action = _ACTIONS[act.action]
    doc = base.ecs_base(act, "google_workspace.token", action)
    doc["event"]["category"] = ["iam"] if action != "activity" else ["web"]
    doc["event"]["type"] = ["change"] if action != "activity" else ["access"]
    client = str(act.extra.get("client", CLIENT))
    token: dict[str, object] = {"client": {"id": client, "type": "WEB"}, "app_name": "Mail Merge Add-on"}
    if action == "activity":
        api, method = _APIS[int(act.eid.rsplit("-", 1)[1]) % len(_APIS)]
        token["api_name"], token["method_name"] = api, method
    if action == "authorize":
        token["scope"] = {"value": ["https://www.googleapis.com/auth/gmail.readonly"]}
    doc["google_workspace"] = {
        "id": {"unique_qualifier": act.eid, "application_name": "token"},
        "actor": {"email": act.user.email, "type": "USER"},
        "kind": "admin#reports#activity",
        "token": token,
    }
    doc["source"] = {"ip": act.ip, "user": {"email": act.user.email}}
    doc["user"] = {"email": act.user.email, "name": act.user.name, "domain": "example.com"}
    return [doc]


VENDOR = base.Vendor(
    name="google_workspace_token",
    dataset="google_workspace.token",
    caps=frozenset({base.TOKEN_REVOKE}),
    render=render,
    account=account,
)
