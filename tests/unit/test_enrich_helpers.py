"""Shared helpers for the enrichment unit tests (holds no tests itself)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sessionwatch.enrichers import Engine, EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.engine import Output
from sessionwatch.enrichers.events import compile_path, get_path, has_dotted_keys

PROFILE_DATA = Path(__file__).resolve().parent / "data" / "profiles"
CONFORMANCE = Path(__file__).resolve().parents[2] / "fixtures" / "profiles"  # every shipped profile


def run(lines: Iterable[bytes | str], **options: Any) -> tuple[Engine, list[Output]]:
    engine = Engine(ProfileRegistry.discover(), discover_enrichers(), options=EngineOptions(**options))
    return engine, list(engine.process(lines))


def facts_by_id(outputs: Iterable[Output]) -> dict[str, dict[str, Any]]:
    """``sessionwatch`` object of every enriched output, keyed by its event id."""
    found: dict[str, dict[str, Any]] = {}
    for out in outputs:
        assert out.doc is not None, out.dead
        facts = out.doc["sessionwatch"]
        found[facts["event"]["id"]] = facts
    return found


def profile_facts(profile: str, **options: Any) -> dict[str, dict[str, Any]]:
    with (PROFILE_DATA / profile / "events.ndjson").open("rb") as handle:
        engine, outputs = run(handle, **options)
    assert engine.counts.conserved
    assert engine.counts.dead_letter == 0
    return facts_by_id(outputs)


def get(facts: Mapping[str, Any], dotted: str) -> Any:
    node: Any = facts
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def sample_outputs() -> list[dict[str, Any]]:
    """Enriched documents carrying every fact: all vendor fixtures, plus what they lack (a late
    event, a session evicted after a month, a generic token timeline)."""
    lines: list[bytes | str] = []
    fixtures = [*sorted(PROFILE_DATA.glob("*/events.ndjson")), *sorted(CONFORMANCE.glob("*/events.ndjson"))]
    for fixture in fixtures:
        lines += fixture.read_bytes().splitlines()
    lines += [
        json.dumps({"@timestamp": t, "event": {"id": i, "action": a}, "session": {"id": "q1"}, **extra})
        for t, i, a, extra in (
            ("2030-01-01T10:00:00Z", "q-1", "login", {"token": {"id": "tk", "iat": 1893492000}}),
            ("2030-01-01T09:00:00Z", "q-2", "view", {}),
            ("2030-02-01T10:00:00Z", "q-3", "view", {}),
        )
    ]
    lines += [
        json.dumps({"@timestamp": t, "event": {"id": i}, "session": {"id": "v6"}, "source": {"ip": ip}})
        for t, i, ip in (
            ("2030-01-01T10:00:00Z", "v6-1", "2001:db8:1:2::5"),
            ("2030-01-01T10:01:00Z", "v6-2", "2001:db8:1:2:ffff::9"),
            ("2030-01-01T10:02:00Z", "v6-3", "2001:db8:1:3::5"),
        )
    ]
    lines += [
        json.dumps({"@timestamp": t, "event": {"id": i}, "session": {"id": "geo"}, "source": {"ip": ip}})
        for t, i, ip in (
            ("2030-01-01T10:00:00Z", "geo-1", "198.51.100.7"),
            ("2030-01-01T10:01:00Z", "geo-2", "203.0.113.7"),
        )
    ]
    lines.append(  # a field Elasticsearch would refuse: repaired and recorded
        json.dumps({"@timestamp": "2030-01-01T10:03:00Z", "event": {"id": "rp-1"}, "client": {"ip": "-"}})
    )
    with tempfile.TemporaryDirectory() as folder:
        _, outs = run(lines, reorder_window=0.0, enricher_options=write_geoip_databases(Path(folder)))
    return [o.doc for o in outs if o.doc is not None and "sessionwatch" in o.doc]


def write_geoip_databases(folder: Path) -> dict[str, str]:
    """Two tiny MaxMind databases (City-like and ASN) for documentation ranges; the enricher
    options that use them."""
    from mmdb_writer import MmdbU32, MMDBWriter
    from netaddr import IPSet  # type: ignore[import-untyped]  # mmdb-writer's own input type; no stubs exist

    city = MMDBWriter(ip_version=6, database_type="GeoIP2-City", ipv4_compatible=True)
    city.insert_network(IPSet(["198.51.100.0/24", "192.0.2.0/24"]), {"country": {"iso_code": "NL"}})
    city.insert_network(IPSet(["203.0.113.0/24"]), {"country": {"iso_code": "BR"}})
    city.insert_network(IPSet(["2001:db8::/32"]), {"country": {"iso_code": "DE"}})
    asn = MMDBWriter(ip_version=6, database_type="GeoLite2-ASN", ipv4_compatible=True)
    asn.insert_network(
        IPSet(["198.51.100.0/24"]),
        {"autonomous_system_number": MmdbU32(64500), "autonomous_system_organization": "Example Transit"},
    )
    asn.insert_network(
        IPSet(["203.0.113.0/24", "192.0.2.0/24"]),
        {"autonomous_system_number": MmdbU32(64511), "autonomous_system_organization": "Example Hosting"},
    )
    paths = {"geoip_city": str(folder / "city.mmdb"), "geoip_asn": str(folder / "asn.mmdb")}
    city.to_db_file(paths["geoip_city"])
    asn.to_db_file(paths["geoip_asn"])
    return paths


def test_compiled_path_readers_read_what_get_path_reads() -> None:
    """Paths of one, two and three parts (the short ones are unrolled), nested, flat, mixed,
    missing, through a value that is not an object, and with the caller's ``dotted=False``."""
    docs: list[Any] = [
        {"a": 1},
        {"a": None},
        {"a": {"b": 2}},
        {"a": {"b": None}},
        {"a": {"b": {"c": 3}}},
        {"a": "text"},
        {"a": {"b": "text"}},
        {"a.b": 4},
        {"a.b.c": 5},
        {"a": {"b.c": 6}},
        {"a.b": {"c": 7}},
        {},
        {"x": 1},
        [1],
    ]
    for path in ("a", "a.b", "a.b.c"):
        read = compile_path(path)
        for doc in docs:
            expected = get_path(doc, path) if isinstance(doc, dict) else None
            assert read(doc) == expected, (path, doc)
            if isinstance(doc, dict) and not has_dotted_keys(doc):
                assert read(doc, False) == expected, (path, doc)
