"""Device binding: a device fingerprint per event, the session's first device, and changes."""

from __future__ import annotations

import hashlib
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent

MAX_DISTINCT = 32


def fingerprint(device_id: str | None, user_agent: str | None) -> str | None:
    """The documented fingerprint: the device id when the source has one, else ``ua:`` and the
    first 16 hex digits of the SHA-256 of the user agent string; None when neither is known."""
    if device_id:
        return device_id
    if user_agent:
        return "ua:" + hashlib.sha256(user_agent.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return None


class DeviceBinding:
    """Facts: ``sessionwatch.device.{fingerprint,first,changed,distinct}``."""

    name = "device_binding"
    scope = "session"

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        found = fingerprint(event.device_id, event.user_agent)
        if found is None:
            return {}
        first = state.get("first")
        if first is None:
            first = state["first"] = found
            state["seen"] = [found]
        seen: list[str] = state["seen"]
        if found not in seen and len(seen) < MAX_DISTINCT:
            seen.append(found)
        return {
            "sessionwatch.device.fingerprint": found,
            "sessionwatch.device.first": first,
            "sessionwatch.device.changed": found != first,
            "sessionwatch.device.distinct": len(seen),
        }
