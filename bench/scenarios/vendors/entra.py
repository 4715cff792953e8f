"""Microsoft Entra ID sign-in logs (integration ``azure``, data stream ``azure.signinlogs``).

Entra logs sign-ins, not page views: an interactive sign-in (category ``SignInLogs``) starts or
re-authenticates a session; the apps' silent token redemptions on that session are
non-interactive sign-ins (``NonInteractiveUserSignInLogs``, incoming token ``refreshToken`` or
``primaryRefreshToken``), the only "activity" the log shows
(learn.microsoft.com/entra/identity/monitoring-health/concept-noninteractive-sign-ins).
``authenticationProtocol`` names the interactive protocol (``none`` for token redemptions), not
an OAuth grant type. Sign-in logs have no logout record.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base

SHAREPOINT = "00000003-0000-0ff1-ce00-000000000000"  # the application the sign-ins are for
APP_IDS = [SHAREPOINT]


def account(user: User) -> str:
    return user.email


def render(act: Act) -> list[Event]:
    interactive = act.action in ("login", "reauth")
    doc = base.ecs_base(act, "azure.signinlogs", "Sign-in activity")
    doc["event"]["category"] = ["authentication"]
    doc["event"]["type"] = ["info"]
    device = act.device
    props: dict[str, object] = {
        "id": act.eid,
        "session_id": act.session,
        "correlation_id": "c" + act.eid,
        "unique_token_identifier": "utid-" + act.eid,
        "user_principal_name": act.user.email,
        "user_id": act.user.uid,
        "user_display_name": act.user.name,
        "app_id": SHAREPOINT,
        "app_display_name": "Office 365 SharePoint Online",
        "client_app_used": "Browser",
        "is_interactive": interactive,
        "incoming_token_type": "none" if interactive else "primaryRefreshToken",
        "authentication_protocol": "none",
        "authentication_requirement": "multiFactorAuthentication"
        if interactive
        else "singleFactorAuthentication",
        "status": {"error_code": 0},
        "device_detail": {
            "device_id": device.fingerprint if device else "",
            "browser": "Edge 120.0.0",
            "operating_system": "Windows10" if device and device.kind == "Computer" else "Ios",
        },
    }
    doc["azure"] = {
        "signinlogs": {
            "category": "SignInLogs" if interactive else "NonInteractiveUserSignInLogs",
            "operation_name": "Sign-in activity",
            "caller_ip_address": act.ip,
            "identity": act.user.name,
            "result_signature": "None",
            "properties": props,
        }
    }
    doc["source"] = {"ip": act.ip}
    doc["client"] = {"ip": act.ip}
    doc["user"] = {"id": act.user.uid, "name": act.user.email, "full_name": act.user.name}
    if device is not None:
        doc["user_agent"] = {"original": device.user_agent}
    return [doc]


VENDOR = base.Vendor(
    name="entra",
    dataset="azure.signinlogs",
    caps=frozenset({base.SESSION, base.REAUTH, base.DEVICE}),
    render=render,
    account=account,
)
