"""Fixture cases replayed the way ``sessionwatch test`` replays them (``harness.run_rules``, whose
document ids and aliases these are): every case's events in one events index, and per case a
filtered alias holding only its own documents. One index instead of one per case (each cost the
node a mapping and a cluster state update, twice)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from elasticsearch import Elasticsearch

from sessionwatch.bulk import index_documents
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.harness import alias_cases, case_document_id, enrich_fixture
from sessionwatch.indices import create_events_index
from sessionwatch.rules import Rule
from sessionwatch.rules.model import RuleCase


class CaseAlias(NamedTuple):
    name: str  # the alias: search it as the case's own events index
    documents: int  # how many events the case's fixture gave


@contextmanager
def case_aliases(
    es: Elasticsearch, cases: Sequence[tuple[Rule, RuleCase]], profiles: ProfileRegistry, prefix: str
) -> Iterator[list[CaseAlias]]:
    """One ``CaseAlias`` per case of ``cases``, in order; the index is deleted afterwards."""
    index = f"{prefix}{uuid.uuid4().hex[:12]}"
    create_events_index(es, index)
    try:
        ids: dict[int, list[str]] = {}
        docs: list[tuple[str, dict[str, Any]]] = []
        for number, (rule, case) in enumerate(cases):
            enriched = enrich_fixture(fixture_path(rule, case), profiles, case.profile)
            ids[number] = [case_document_id(number, doc) for doc in enriched]
            docs += zip(ids[number], enriched, strict=True)
        report = index_documents(es, index, docs)
        assert report.ok, report.failed
        aliases = alias_cases(es, index, ids)
        yield [CaseAlias(aliases[number], len(own)) for number, own in ids.items()]
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
