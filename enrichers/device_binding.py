"""Device binding: a device fingerprint per event, the session's first device, and changes."""

from __future__ import annotations

import hashlib
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent, WritesFacts

MAX_DISTINCT = 32
UA_PREFIX = "ua:"


def fingerprint(device_id: str | None, user_agent: str | None) -> str | None:
    """The documented fingerprint: the device id when the source has one, else ``ua:`` and the
    first 16 hex digits of the SHA-256 of the user agent string; None when neither is known."""
    if device_id:
        return device_id
    if user_agent:
        found = _BY_AGENT.get(user_agent)
        if found is None:  # a few agents recur on every event of an estate: hash each once
            if len(_BY_AGENT) >= 4096:
                _BY_AGENT.clear()
            digest = hashlib.sha256(user_agent.encode("utf-8", "surrogatepass")).hexdigest()
            found = _BY_AGENT[user_agent] = UA_PREFIX + digest[:16]
        return found
    return None


_BY_AGENT: dict[str, str] = {}


class DeviceBinding(WritesFacts):
    """Facts: ``sessionwatch.device.{fingerprint,first,changed,distinct}``.

    A fingerprint is compared with the session's first fingerprint *of the same kind* (device
    id with device id, user-agent hash with user-agent hash): a source that reports the device id
    on some events only does not make every other event look like a new device.
    """

    name = "device_binding"
    scope = "session"

    def write_facts(self, event: CanonicalEvent, state: dict[str, Any], out: dict[str, Any]) -> None:
        found = fingerprint(event.device_id, event.user_agent)
        if found is None:
            return
        kind = "ua" if found.startswith(UA_PREFIX) and not event.device_id else "id"
        first = state.get(kind)
        if first is None:
            first = state[kind] = found
        seen: list[str] | None = state.get("seen")
        if seen is None:
            seen = state["seen"] = [found]
        elif found not in seen and len(seen) < MAX_DISTINCT:
            seen.append(found)
        group = out.get("device")
        if group is None:
            group = out["device"] = {}
        group["fingerprint"] = found
        group["first"] = first
        group["changed"] = found != first
        group["distinct"] = len(seen)
