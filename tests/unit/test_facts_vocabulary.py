"""The facts vocabulary: generated docs are current, and the engine writes exactly these facts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from sessionwatch.enrichers import FACTS, discover_enrichers, events_mapping, fact_names, profiles_doc
from sessionwatch.enrichers.facts import markdown_document
from tests.unit.test_enrich_helpers import sample_outputs

REPO = Path(__file__).resolve().parents[2]


def test_committed_facts_doc_is_the_generated_one() -> None:
    committed = (REPO / "docs" / "facts.md").read_text(encoding="utf-8")
    assert committed == markdown_document(), "run: python -m sessionwatch.enrichers facts > docs/facts.md"


def test_generator_runs_as_a_module(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sessionwatch.enrichers", "facts"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == markdown_document()
    assert done.stderr == ""


def test_fact_names_are_unique_and_sourced() -> None:
    names = [f.name for f in FACTS]
    assert len(names) == len(set(names))
    sources = {e.name for e in discover_enrichers()} | {"profile", "engine"}
    assert {f.source for f in FACTS} <= sources


def test_mapping_has_every_fact_with_its_type() -> None:
    mapping = events_mapping()
    assert mapping["dynamic"] is False
    for fact in FACTS:
        node: Any = mapping
        for part in fact.name.split("."):
            node = node["properties"][part]
        assert node["type"] == fact.type, fact.name


def _leaves(node: dict[str, Any], prefix: str) -> set[str]:
    out: set[str] = set()
    for key, value in node.items():
        path = f"{prefix}.{key}"
        out |= _leaves(value, path) if isinstance(value, dict) else {path}
    return out


def test_engine_writes_only_declared_facts_and_every_fact_is_written() -> None:
    written: set[str] = set()
    for doc in sample_outputs():
        written |= _leaves(doc["sessionwatch"], "sessionwatch")
    assert written - fact_names() == set()  # dynamic: false would silently drop anything else
    assert fact_names() - written == set()  # a declared fact nothing computes is a broken promise


def test_committed_profiles_doc_is_the_generated_one() -> None:
    committed = (REPO / "docs" / "profiles.md").read_text(encoding="utf-8")
    assert committed == profiles_doc.markdown_document(), "run: python -m sessionwatch.enrichers profiles"
    for name in ("generic", "okta", "entra", "auth0", "hashicorp_vault", "teleport", "system_auth"):
        assert f"### `{name}`" in committed
