"""Microsoft 365 unified audit log (integration ``o365``, data stream ``o365.audit``).

``UserLoggedIn`` is an Entra ID sign-in to a Microsoft 365 application. Workload records
(Exchange ``MailItemsAccessed``, SharePoint ``FileAccessed`` …) carry the Entra session the token
came from in ``AppAccessContext.AADSessionId`` and the token in ``UniqueTokenId``
(learn.microsoft.com/purview/audit-log-activities). ``Disable account.`` is an admin disabling
the user named in ``ObjectId``; ``Enable account.`` re-enables it
(learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities). There is no
logout record.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User, iso
from bench.scenarios.vendors import base

_WORK = [
    ("MailItemsAccessed", "Exchange"),
    ("FileAccessed", "SharePoint"),
    ("FileModified", "OneDrive"),
    ("MessageSent", "MicrosoftTeams"),
]
_ADMIN = {"account_disable": "Disable account.", "account_enable": "Enable account."}
OFFICE_APP = "00000002-0000-0ff1-ce00-000000000000"


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    if act.action == "login":
        operation, workload = "UserLoggedIn", "AzureActiveDirectory"
    elif act.action in _ADMIN:
        operation, workload = _ADMIN[act.action], "AzureActiveDirectory"
    else:
        operation, workload = _WORK[int(act.eid.rsplit("-", 1)[1]) % len(_WORK)]
    doc = base.ecs_base(act, "o365.audit", operation)
    doc["event"]["provider"] = workload
    doc["event"]["category"] = ["authentication"] if act.action == "login" else ["web"]
    audit: dict[str, object] = {
        "Id": act.eid,
        "Operation": operation,
        "UserId": act.user.email,
        "Workload": workload,
        "RecordType": 15 if workload == "AzureActiveDirectory" else 2,
        "ClientIP": act.ip,
    }
    if act.session is not None:
        audit["AppAccessContext"] = {
            "AADSessionId": act.session,
            "UniqueTokenId": "tok" + act.session[:18],
            "ClientAppId": OFFICE_APP,
            "IssuedAtTime": iso(float(act.extra.get("session_start", act.t))).removesuffix("Z"),
        }
    if act.target is not None:
        audit["ObjectId"] = act.target.email
        audit["Target"] = [{"ID": act.target.email, "Type": 5}]
    doc["o365"] = {"audit": audit}
    doc["client"] = {"ip": act.ip, "address": act.ip}
    doc["source"] = {"ip": act.ip}
    doc["user"] = {
        "email": act.user.email,
        "id": act.user.email,
        "name": act.user.name,
        "domain": "example.com",
    }
    if act.device is not None:
        doc["user_agent"] = {"original": act.device.user_agent}
    return [doc]


VENDOR = base.Vendor(
    name="o365",
    dataset="o365.audit",
    caps=frozenset({base.SESSION, base.ACCOUNT_ADMIN}),
    render=render,
    account=account,
)
