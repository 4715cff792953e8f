"""The benchmark workload generator: deterministic, realistic, and every violation kind injected."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from sessionwatch.rules.kinds import Kind

WORKLOAD_FILE = Path(__file__).resolve().parents[2] / "bench" / "workload.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sessionwatch_bench_workload", WORKLOAD_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


workload = _load()
EVENTS = 60_000
Generated = tuple[list[dict[str, Any]], Any]


def _digest(spec: Any) -> tuple[str, Any]:
    stream = workload.Workload(spec)
    digest = hashlib.sha256()
    for doc in stream:
        digest.update(workload.dumps(doc).encode())
    return digest.hexdigest(), stream.manifest


@pytest.fixture(scope="module")
def generated() -> Generated:
    stream = workload.Workload(workload.Spec(events=EVENTS))
    return list(stream), stream.manifest


def test_same_seed_gives_the_same_bytes() -> None:
    spec = workload.Spec(events=20_000, seed=11)
    first, manifest_a = _digest(spec)
    second, manifest_b = _digest(spec)
    assert first == second
    assert manifest_a == manifest_b


def test_another_seed_gives_another_stream() -> None:
    assert _digest(workload.Spec(events=5_000, seed=1))[0] != _digest(workload.Spec(events=5_000, seed=2))[0]


def test_exactly_the_requested_number_of_events_in_time_order(generated: Generated) -> None:
    docs, manifest = generated
    stamps = [str(doc["@timestamp"]) for doc in docs]
    assert len(docs) == EVENTS
    assert manifest.events == EVENTS
    assert stamps == sorted(stamps)


def test_event_ids_are_unique(generated: Generated) -> None:
    docs, _ = generated
    ids = [doc["event"]["id"] for doc in docs]
    assert len(set(ids)) == len(ids)


def test_every_rule_kind_is_injected(generated: Generated) -> None:
    _, manifest = generated
    counts = manifest.kinds()
    assert set(workload.KINDS) == {kind.value for kind in Kind}
    assert [kind for kind, count in counts.items() if count == 0] == []


def test_injected_evidence_is_in_the_stream_and_matches_its_session(
    generated: Generated,
) -> None:
    docs, manifest = generated
    by_id = {doc["event"]["id"]: json.dumps(doc) for doc in docs}
    for item in manifest.injected:
        text = by_id[item.event_id]
        assert item.user in text
        if item.kind != "account_inactive_use":  # the disable event itself names no session
            assert item.session in text


def test_violations_are_rare(generated: Generated) -> None:
    _, manifest = generated
    assert 0 < len(manifest.injected) <= manifest.sessions / 100


def test_mix_of_sources_and_zipf_users(generated: Generated) -> None:
    docs, _ = generated
    datasets = Counter(doc["event"]["dataset"] for doc in docs)
    users = Counter(doc["user"]["name"] for doc in docs)
    top = users.most_common()
    assert set(datasets) == {
        "generic.webapp",
        "okta.system",
        "auth0.logs",
        "hashicorp_vault.audit",
        "teleport.audit",
    }
    assert min(datasets.values()) > EVENTS * 0.05
    # Zipf: the busiest user has many times the median user's events
    assert top[0][1] > 10 * top[len(top) // 2][1]


def test_open_sessions_workload_keeps_every_session_open() -> None:
    docs = list(workload.open_sessions(500, rounds=2))
    actions = Counter(doc["event"]["action"] for doc in docs)
    assert len(docs) == 500 * 3
    assert not {"logout", "success-logout", "session.end", "user.session.end"} & set(actions)
