"""GeoIP / ASN: country and autonomous system of the client address, from MaxMind databases the
user supplies (``enrich --geoip-city FILE`` / ``--geoip-asn FILE``; needs ``sessionwatch[geoip]``).
Without a database this enricher adds nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent, WritesFacts
from sessionwatch.rules.errors import EnrichError, Location

CACHE_SIZE = 65_536
_MISS: dict[str, Any] = {}


def _open(path: str) -> Any:
    try:
        import maxminddb  # optional dependency, imported only when a database is given
    except ImportError:
        raise EnrichError("GeoIP needs the maxminddb package: pip install 'sessionwatch[geoip]'") from None
    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
        raise EnrichError(f"cannot open MaxMind database: {exc}", Location(path)) from None


class GeoIp(WritesFacts):
    """Facts: ``sessionwatch.geo.{country_iso_code,asn,as_org,country_changed,asn_changed}``;
    the ``*_changed`` facts compare with the session's first known country / ASN."""

    name = "geoip"
    scope = "session"

    def __init__(self) -> None:
        self.city: Any = None
        self.asn: Any = None
        self._cache: dict[str, dict[str, Any]] = {}

    def configure(self, options: Mapping[str, Any]) -> None:
        if options.get("geoip_city"):
            self.city = _open(str(options["geoip_city"]))
        if options.get("geoip_asn"):
            self.asn = _open(str(options["geoip_asn"]))

    def _lookup(self, ip: str) -> dict[str, Any]:
        found = self._cache.get(ip)
        if found is not None:
            return found
        found = {}
        record = self.city.get(ip) if self.city is not None else None
        if isinstance(record, dict):
            country = record.get("country") or record.get("registered_country") or {}
            if isinstance(country, dict) and isinstance(country.get("iso_code"), str):
                found["country"] = country["iso_code"]
        record = self.asn.get(ip) if self.asn is not None else None
        if isinstance(record, dict):
            if isinstance(record.get("autonomous_system_number"), int):
                found["asn"] = record["autonomous_system_number"]
            if isinstance(record.get("autonomous_system_organization"), str):
                found["org"] = record["autonomous_system_organization"]
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[ip] = found or _MISS
        return found

    def write_facts(self, event: CanonicalEvent, state: dict[str, Any], out: dict[str, Any]) -> None:
        if event.source_ip is None or (self.city is None and self.asn is None):
            return
        found = self._lookup(event.source_ip)
        geo: dict[str, Any] = {}
        country = found.get("country")
        if country is not None:
            first = state.setdefault("country", country)
            geo["country_iso_code"] = country
            geo["country_changed"] = country != first
        asn = found.get("asn")
        if asn is not None:
            first_asn = state.setdefault("asn", asn)
            geo["asn"] = asn
            geo["asn_changed"] = asn != first_asn
        if "org" in found:
            geo["as_org"] = found["org"]
        if geo:
            group = out.get("geo")
            if group is None:
                out["geo"] = geo
            else:
                group.update(geo)
