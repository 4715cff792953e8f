"""Fixture cases replayed the way ``sessionwatch test`` replays them: every case's events in one
events index, and per case a filtered alias holding only its own documents. One index instead of
one per case (each cost the node a mapping and a cluster state update, twice)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NamedTuple

from elasticsearch import Elasticsearch

from sessionwatch.bulk import document_id, index_documents
from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.harness import enrich_fixture
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
        ids: list[list[str]] = []
        docs: list[tuple[str, dict[str, Any]]] = []
        for number, (rule, case) in enumerate(cases):
            enriched = enrich_fixture(fixture_path(rule, case), profiles, case.profile)
            ids.append([f"c{number}:{document_id(doc)}" for doc in enriched])
            docs += zip(ids[-1], enriched, strict=True)
        report = index_documents(es, index, docs)
        assert report.ok, report.failed
        aliases = [f"{index}-c{number}" for number in range(len(cases))]
        es.indices.update_aliases(
            actions=[
                {"add": {"index": index, "alias": alias, "filter": {"ids": {"values": own}}}}
                for alias, own in zip(aliases, ids, strict=True)
            ]
        )
        yield [CaseAlias(alias, len(own)) for alias, own in zip(aliases, ids, strict=True)]
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
