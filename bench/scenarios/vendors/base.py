"""What a vendor module provides: one function that renders an act in the vendor's ECS layout."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.scenarios.model import Act, Event, User, iso

# Capabilities a vendor's layout carries (the generator injects only what the layout can show).
SESSION = "session"  # a session id on session events
REAUTH = "reauth"
LOGOUT = "logout"
DEVICE = "device"  # a device id or user agent on every session event
ACCOUNT_ADMIN = "account_admin"  # admin disables / re-enables a target account
TOKEN_EXPIRY = "token_expiry"  # noqa: S105 - a capability name  # issue time + TTL (or exp) on every use
TOKEN_REVOKE = "token_revoke"  # noqa: S105
TOKEN_REFRESH = "token_refresh"  # noqa: S105  # refresh events with client and grant type
PATHS = "paths"  # request paths (rate and sensitive-path rules)
UPLOAD_AFTER_END = "upload_after_end"


@dataclass(frozen=True)
class Vendor:
    name: str  # the sessionwatch profile that reads this layout
    dataset: str
    caps: frozenset[str]
    render: Callable[[Act], list[Event]]  # one act can be several lines (Vault: request + response)
    account: Callable[[User], str]  # how sessionwatch names the account (actor)


def ecs_base(act: Act, dataset: str, action: str, *, outcome: str = "success") -> Event:
    """Fields every integration writes: timestamp, event.*, data_stream.dataset."""
    module = dataset.split(".")[0]
    return {
        "@timestamp": iso(act.t),
        "data_stream": {"dataset": dataset, "namespace": "default", "type": "logs"},
        "ecs": {"version": "8.11.0"},
        "event": {
            "action": action,
            "dataset": dataset,
            "id": act.eid,
            "kind": "event",
            "module": module,
            "outcome": outcome,
        },
    }
