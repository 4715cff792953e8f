"""Conformance: every shipped profile enriches its fixture (events in the layout the Elastic
integration writes) into the canonical facts written by hand in ``expected.json``.

``fixtures/profiles/<profile>/events.ndjson`` holds the events; ``expected.json`` maps a line
number to facts under ``sessionwatch`` (dotted, without the prefix). ``null`` means the fact must
be absent. Each line is also checked to be claimed by a profile named in the file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.enrichers import Engine, EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.engine import Output
from sessionwatch.enrichers.profiles import load_builtin

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "profiles"
PROFILES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
MISSING = object()


def _outputs(profile: str) -> list[Output]:
    lines = (FIXTURES / profile / "events.ndjson").read_bytes().splitlines()
    engine = Engine(ProfileRegistry.discover(), discover_enrichers(), options=EngineOptions())
    outputs = sorted(engine.process(lines), key=lambda out: out.line)
    assert engine.counts.conserved
    assert engine.counts.dead_letter == 0, [out.dead for out in outputs if out.dead]
    assert engine.counts.passed_through == 0
    return outputs


def enrich(profile: str) -> list[dict[str, Any]]:
    """The ``sessionwatch`` object of every line of the profile's fixture, in line order."""
    return [out.facts or {} for out in _outputs(profile)]


def fixture_documents(profile: str) -> list[dict[str, Any]]:
    """The enriched documents of the profile's fixture (input plus facts), in line order."""
    return [out.doc or {} for out in _outputs(profile)]


def fact(facts: dict[str, Any], dotted: str) -> Any:
    node: Any = facts
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return MISSING
        node = node[part]
    return node


def expected(profile: str) -> dict[int, dict[str, Any]]:
    data = json.loads((FIXTURES / profile / "expected.json").read_text(encoding="utf-8"))
    return {int(line): facts for line, facts in data.items()}


def test_every_builtin_profile_has_a_conformance_fixture() -> None:
    assert set(PROFILES) == {p.name for p in load_builtin()}
    assert len(PROFILES) >= 18


@pytest.mark.parametrize("profile", PROFILES)
def test_fixture_gives_the_documented_facts(profile: str) -> None:
    enriched = enrich(profile)
    wanted = expected(profile)
    assert wanted, "a conformance fixture asserts something"
    problems = []
    for line, facts in sorted(wanted.items()):
        got = enriched[line - 1]
        for name, value in facts.items():
            found = fact(got, name)
            if value is None:
                if found is not MISSING:
                    problems.append(f"line {line}: {name} should be absent, is {found!r}")
            elif found is MISSING or found != value:
                shown = None if found is MISSING else found
                problems.append(f"line {line}: {name} = {shown!r}, expected {value!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("profile", PROFILES)
def test_fixture_is_claimed_by_its_profile(profile: str) -> None:
    used = {fact(facts, "event.profile") for facts in enrich(profile)}
    assert profile in used
    named = {f["event.profile"] for f in expected(profile).values() if "event.profile" in f}
    assert used <= {profile, *named}


@pytest.mark.parametrize("profile", [p.name for p in load_builtin()])
def test_profile_cites_the_vendor_documentation(profile: str) -> None:
    found = {p.name: p for p in load_builtin()}[profile]
    if profile == "generic":
        assert not found.references  # our own ECS convention: nothing to cite
        return
    assert found.references, f"{profile}: the action mapping must cite the vendor's documentation"
    assert all(url.startswith("https://") for _, url in found.references)
