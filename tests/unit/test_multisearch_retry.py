"""``evaluate_many``: a multi-search item whose shards failed for a restarting node is searched
again on its own; any other failed item stays that item's error (no network: a recording
client answers as Elasticsearch does)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sessionwatch.es import Backoff
from sessionwatch.renderer import Window
from sessionwatch.rules import load_rules
from sessionwatch.runner.evaluation import Request, evaluate_many

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"
NO_WAIT = Backoff(base=0.0, cap=0.0, jitter=False, give_up_after=5.0)


def _failed(*kinds: str, status: int = 404) -> dict[str, Any]:
    """A multi-search item as Elasticsearch writes a search that failed on its shards."""
    shards = [
        {"shard": n, "index": "e", "reason": {"type": kind, "reason": "..."}} for n, kind in enumerate(kinds)
    ]
    error = {"type": "search_phase_execution_exception", "phase": "fetch", "failed_shards": shards}
    return {"error": error, "status": status}


def _hits(session: str) -> dict[str, Any]:
    source = {
        "@timestamp": "2026-03-02T09:30:00Z",
        "user": {"name": "alice"},
        "sessionwatch": {
            "event": {"id": f"{session}-1"},
            "actor": {"name": "alice"},
            "session": {"id": session},
        },
    }
    return {"hits": {"total": {"value": 1}, "hits": [{"_id": "1", "_source": source}]}}


class Recorder:
    """``msearch`` answers the given items; ``search`` answers ``_hits`` of the index it is asked."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items
        self.searched: list[str] = []

    def msearch(self, searches: list[dict[str, Any]]) -> Any:
        return type("Answer", (), {"body": {"responses": self.items}})()

    def search(self, index: str, body: dict[str, Any], **params: Any) -> Any:
        self.searched.append(index)
        return type("Answer", (), {"body": _hits(index)})()


def test_only_the_items_failed_by_a_restarting_node_are_searched_again() -> None:
    rule = next(r for r in load_rules([PACK]) if r.name == "pci-dss-idle-15m")
    window = Window("2026-03-02T09:00:00.000Z", "2026-03-02T10:00:00.000Z")
    requests = [Request(rule, name, window) for name in ("ok", "moved", "refused", "mixed")]
    client = Recorder(
        [
            _hits("ok"),
            _failed("search_context_missing_exception"),
            _failed("query_shard_exception", status=400),
            _failed("search_context_missing_exception", "index_not_found_exception"),
        ]
    )
    results = evaluate_many(client, requests, retry=NO_WAIT)  # type: ignore[arg-type]
    assert client.searched == ["moved"]
    assert [a["sessionwatch"]["session"]["id"] for a in results[0]] == ["ok"]  # type: ignore[index]
    assert [a["sessionwatch"]["session"]["id"] for a in results[1]] == ["moved"]  # type: ignore[index]
    assert results[2:] == ["search_phase_execution_exception", "search_phase_execution_exception"]


def test_without_a_retry_policy_every_failed_item_is_its_error() -> None:
    rule = next(r for r in load_rules([PACK]) if r.name == "pci-dss-idle-15m")
    window = Window("2026-03-02T09:00:00.000Z", "2026-03-02T10:00:00.000Z")
    client = Recorder([_failed("search_context_missing_exception")])
    assert evaluate_many(client, [Request(rule, "moved", window)]) == ["search_phase_execution_exception"]  # type: ignore[arg-type]
    assert client.searched == []
