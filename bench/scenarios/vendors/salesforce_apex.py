"""Salesforce sessions with their Apex activity (integration ``salesforce``, data streams
``salesforce.login``, ``salesforce.apex`` and ``salesforce.logout``).

Every EventLogFile record of a login session carries its LOGIN_KEY
(developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_eventlogfile_apexcallout.htm):
the Apex callouts, REST and SOAP calls and triggers between the login and the logout are the
session's activity. Apex records name the user by id only (``user.id``) and have no
``event.id``: the profile keys them by ``request_id`` + ``event_type``.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event
from bench.scenarios.vendors import base, salesforce

_APEX = [
    ("apex-callout", "ApexCallout", "CALLOUT-LOG"),
    ("apex-rest", "ApexRestApi", "/services/apexrest/Orders"),
    ("apex-soap", "ApexSoap", "/services/Soap/class/OrderService"),
    ("apex-trigger", "ApexTrigger", "OrderTrigger"),
]


def render(act: Act) -> list[Event]:
    if act.action != "activity":
        return salesforce.render(act)
    action, event_type, uri = _APEX[int(act.eid.rsplit("-", 1)[1]) % len(_APEX)]
    doc = base.ecs_base(act, "salesforce.apex", action)
    del doc["event"]["id"]
    doc["event"]["category"] = ["network"] if action == "apex-callout" else ["web"]
    doc["event"]["type"] = ["connection"] if action == "apex-callout" else ["access"]
    doc["event"]["provider"] = "EventLogFile"
    doc["event"]["url"] = uri
    doc["salesforce"] = {
        "apex": {
            "login_key": act.session,
            "event_type": event_type,
            "request_id": "4ex" + act.eid.replace("-", ""),
            "uri": uri,
            "organization_id": "00D5j000000DgAYEA0",
        }
    }
    doc["source"] = {"ip": act.ip}
    doc["user"] = {"id": salesforce.account(act.user)}
    return [doc]


VENDOR = base.Vendor(
    name="salesforce_apex",
    dataset="salesforce.apex",
    caps=frozenset({base.SESSION, base.LOGOUT}),
    render=render,
    account=salesforce.account,
)
