"""GitHub audit log (integration ``github``, data stream ``github.audit``).

Audit events name the actor (``user.name``), its address (``github.actor_ip``) and, for
organisation membership changes, the member acted on (``user.target.name``)
(docs.github.com/en/organizations/keeping-your-organization-secure/managing-security-settings-for-your-organization/audit-log-events-for-your-organization).
``org.remove_member`` takes a member out of the organisation, ``org.add_member`` adds one. There
is no session id: the stream shows what an account did, not which web session it used.
"""

from __future__ import annotations

from bench.scenarios.model import Act, Event, User
from bench.scenarios.vendors import base

ORG = "example-org"
_ACTIVITY = ["repo.download_zip", "git.clone", "pull_request.create", "repo.access", "git.fetch"]
_ACTIONS = {"account_disable": "org.remove_member", "account_enable": "org.add_member"}


def account(user: User) -> str:
    return user.name


def render(act: Act) -> list[Event]:
    action = _ACTIONS.get(act.action) or _ACTIVITY[int(act.eid.rsplit("-", 1)[1]) % len(_ACTIVITY)]
    doc = base.ecs_base(act, "github.audit", action)
    doc["event"].pop("outcome")
    doc["event"]["category"] = ["configuration", "web"]
    doc["event"]["type"] = ["change"] if act.action in _ACTIONS else ["access"]
    category = action.split(".", 1)[0]
    doc["github"] = {"category": category, "org": ORG, "actor_ip": act.ip}
    doc["user"] = {"name": act.user.name}
    if act.target is not None:
        doc["user"]["target"] = {"name": act.target.name, "group": {"name": ORG}}
    doc["related"] = {"ip": [act.ip], "user": [act.user.name]}
    return [doc]


VENDOR = base.Vendor(
    name="github",
    dataset="github.audit",
    caps=frozenset({base.ACCOUNT_ADMIN}),
    render=render,
    account=account,
)
