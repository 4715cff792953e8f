"""Shared helpers for the enrichment unit tests (holds no tests itself)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sessionwatch.enrichers import Engine, EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.engine import Output

PROFILE_DATA = Path(__file__).resolve().parent / "data" / "profiles"


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
