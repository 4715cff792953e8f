"""IP binding: the session's first address, the previous one, changes of address and network."""

from __future__ import annotations

import ipaddress
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent, WritesFacts

MAX_DISTINCT = 64  # addresses remembered per session; ``ip.distinct`` saturates here


def network_prefix(ip: str) -> str:
    """The /24 of an IPv4 address or the /64 of an IPv6 one, as text (``ip`` is canonical; an
    IPv6 zone id such as ``%eth0`` names the host's interface, not the network, and is ignored)."""
    if ":" not in ip:
        return ip.rsplit(".", 1)[0]
    return ipaddress.IPv6Address(ip.partition("%")[0]).exploded[:19]


class IpBinding(WritesFacts):
    """Facts: ``sessionwatch.ip.{first,previous,changed,prefix_changed,distinct}``.

    ``changed`` compares with the previous event that had an address; ``prefix_changed``
    compares the network (/24 IPv4, /64 IPv6) with the session's first address. Events without
    an address get no IP facts and do not move ``previous``.
    """

    name = "ip_binding"
    scope = "session"

    def write_facts(self, event: CanonicalEvent, state: dict[str, Any], out: dict[str, Any]) -> None:
        ip = event.source_ip
        if ip is None:
            return
        group = out.get("ip")
        if group is None:
            group = out["ip"] = {}
        first = state.get("first")
        if first is None:
            state["first"] = state["prev"] = ip
            state["net"] = network_prefix(ip)
            state["seen"] = [ip]
            group["first"] = ip
            group["changed"] = False
            group["prefix_changed"] = False
            group["distinct"] = 1
            return
        previous = state["prev"]
        seen: list[str] = state["seen"]
        if ip not in seen and len(seen) < MAX_DISTINCT:
            seen.append(ip)
        state["prev"] = ip
        group["first"] = first
        group["previous"] = previous
        group["changed"] = ip != previous
        group["prefix_changed"] = ip != first and network_prefix(ip) != state["net"]
        group["distinct"] = len(seen)
