"""What of an event travels to the parent of a partitioned run: the fields its stream-scoped
enrichers declare they read (``reads``), or every field, the document included, when one
declares nothing; and an enricher reading the document sees what one process shows it."""

from __future__ import annotations

from typing import Any

import pytest

from sessionwatch.enrichers import discover_enrichers
from sessionwatch.enrichers.base import CanonicalEvent
from sessionwatch.enrichers.engine import split_enrichers
from sessionwatch.enrichers.parallel_worker import stream_fields
from sessionwatch.rules.errors import EnrichError
from tests.unit.test_enrich_engine import _mixed_stream
from tests.unit.written_lines import enrich_lines


class _ReadsUndeclared:
    """Stream-scoped, reads fields no built-in stream enricher reads, declares nothing."""

    name = "reads_undeclared"
    scope = "stream"

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        seen = state.setdefault("seen", {})
        key = f"{event.source_ip}|{event.user_agent}|{event.url_path}"
        seen[key] = seen.get(key, 0) + 1
        return {"sessionwatch.quality.same_source_seen": seen[key]}


def test_the_built_in_stream_enrichers_get_only_what_they_read() -> None:
    stream, _ = split_enrichers(discover_enrichers())
    shipped = stream_fields(stream)
    assert shipped[0] == "timestamp"
    assert {"actor", "token_id", "outcome", "account_target", "revoke_target"} <= set(shipped)
    assert not {"event_id", "user_agent", "source_ip", "url_path"} & set(shipped)


def test_one_enricher_declaring_nothing_ships_every_field() -> None:
    stream, _ = split_enrichers([*discover_enrichers(), _ReadsUndeclared()])
    assert "user_agent" in stream_fields(stream)
    assert stream_fields(stream) == tuple(CanonicalEvent.__dataclass_fields__)  # the document too


def test_facts_replaced_on_the_instance_ship_every_field() -> None:
    stream, _ = split_enrichers(discover_enrichers())
    stream[0].facts = lambda event, state: {}  # type: ignore[method-assign]
    assert "event_id" in stream_fields(stream)


def test_a_declared_name_that_is_no_field_is_refused() -> None:
    class Typo(_ReadsUndeclared):
        reads = ("timestamp", "actr")

    with pytest.raises(EnrichError, match=r"enricher reads_undeclared reads \['actr'\]"):
        stream_fields([Typo()])


@pytest.mark.parametrize("workers", [1, 2])
def test_an_undeclared_stream_enricher_sees_every_field_with_workers(workers: int) -> None:
    lines = _mixed_stream(900, seed=4)
    outputs = []
    for count in (1, workers):
        written, _, result = enrich_lines(lines, count, enrichers=[*discover_enrichers(), _ReadsUndeclared()])
        assert result.counts.dead_letter == sum(1 for line in lines if line == "{broken")
        outputs.append(written)
    assert outputs[1] == outputs[0]
    assert any('"same_source_seen":2' in line for line in outputs[0])


class _ReadsTheDocument:
    """Reads a field of the vendor's document that no profile maps (declared: ``doc``)."""

    name = "reads_the_document"
    scope = "stream"
    reads = ("doc",)

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        return {
            "sessionwatch.quality.document_keys": len(event.doc),
            "sessionwatch.quality.tag": event.doc.get("k"),
        }


class _SessionReadsTheDocument(_ReadsTheDocument):
    name = "session_reads_the_document"
    scope = "session"


@pytest.mark.parametrize("enricher", [_ReadsTheDocument(), _SessionReadsTheDocument(), _ReadsUndeclared()])
@pytest.mark.parametrize("workers", [2, 3])
def test_an_enricher_reading_the_document_writes_with_workers_what_one_process_writes(
    enricher: Any, workers: int
) -> None:
    """The document travels as its line and is read there on first use (``LazyDoc``): the same
    facts as one process, where the enricher gets the mapped document itself (with workers it
    got an empty one before, for the stream and the session scope alike)."""
    if isinstance(enricher, _ReadsUndeclared):  # declares nothing: it gets the document too
        enricher = type("ReadsAll", (_ReadsUndeclared,), {"facts": _ReadsTheDocument.facts})()
    lines = _mixed_stream(600, seed=9)
    enrichers = [*discover_enrichers(), enricher]
    one, dead_one, _ = enrich_lines(lines, 1, enrichers=enrichers)
    many, dead_many, _ = enrich_lines(lines, workers, enrichers=enrichers)
    assert many == one
    assert dead_many == dead_one
    assert not any('"document_keys":0' in line for line in one)


def test_a_declared_document_is_a_field() -> None:
    assert stream_fields([_ReadsTheDocument()]) == ("timestamp", "doc")
