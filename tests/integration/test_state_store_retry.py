"""A checkpoint write retried after its response was lost conflicts with its own first attempt;
the store accepts it when the stored document is exactly what it wrote, and still refuses a
write another process made in between (real node)."""

from __future__ import annotations

import uuid

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.runner.state import STATE_MAPPING, CheckpointConflict, StateStore


@pytest.fixture
def store(es: Elasticsearch) -> StateStore:
    index = f"sw-state-retry-{uuid.uuid4().hex[:10]}"
    es.indices.create(index=index, mappings=STATE_MAPPING)
    return StateStore(es, index)


def test_a_retried_write_of_the_same_checkpoint_is_accepted(store: StateStore) -> None:
    first = store.put("follow:x", "follow", {"position": 1}, store.get("follow:x"), "2026-03-02T09:00:00Z")
    second = store.put("follow:x", "follow", {"position": 2}, first, "2026-03-02T09:01:00Z")
    # the same request again, as the client's retry sends it after a lost response
    again = store.put("follow:x", "follow", {"position": 2}, first, "2026-03-02T09:01:00Z")
    assert (again.seq_no, again.primary_term) == (second.seq_no, second.primary_term)
    assert store.get("follow:x").data == {"position": 2}


def test_a_write_by_another_process_is_still_a_conflict(store: StateStore) -> None:
    first = store.put("follow:y", "follow", {"position": 1}, store.get("follow:y"), "2026-03-02T09:00:00Z")
    store.put("follow:y", "follow", {"position": 5}, first, "2026-03-02T09:01:00Z")  # someone else
    with pytest.raises(CheckpointConflict):
        store.put("follow:y", "follow", {"position": 2}, first, "2026-03-02T09:01:00Z")
