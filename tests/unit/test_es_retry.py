"""The one retry policy and error description of ``sessionwatch.es`` (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig, TlsError
from elasticsearch import ApiError

from sessionwatch.es import (
    Backoff,
    ClusterDown,
    ClusterRefused,
    describe_error,
    retrying,
    transient,
    unavailable,
)
from sessionwatch.rules.errors import ElasticsearchUnavailable, SessionwatchError

NO_WAIT = Backoff(base=0.0, cap=0.0, jitter=False, give_up_after=5.0)


def api_error(status: int, kind: str = "some_exception", error: dict[str, Any] | None = None) -> ApiError:
    """An error answer of ``status``: its ``error`` object, by default only its ``type``."""
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "h", 9200),
    )
    return ApiError(kind, meta=meta, body={"error": error or {"type": kind}, "status": status})


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (api_error(429), True),
        (api_error(503), True),
        (api_error(400), False),
        (api_error(401), False),
        (api_error(404), False),
        (ConnectionError("refused"), True),
        (TlsError("bad certificate"), False),
        (ClusterDown("node restarting"), True),
        (ElasticsearchUnavailable("no Elasticsearch URL"), False),
    ],
)
def test_transient_is_decided_by_type_and_status(error: BaseException, expected: bool) -> None:
    assert transient(error) is expected


def test_a_bad_request_is_not_reported_as_an_unavailable_cluster() -> None:
    bad = unavailable("search for rule x", api_error(400, "search_phase_execution_exception"))
    assert type(bad) is SessionwatchError
    assert bad.message == "search for rule x: HTTP 400 search_phase_execution_exception"
    assert isinstance(unavailable("connect", api_error(403)), ClusterRefused)
    assert isinstance(unavailable("search", api_error(503)), ClusterDown)
    assert isinstance(unavailable("search", ConnectionError("refused")), ClusterDown)


@pytest.mark.parametrize(
    "transients",
    [
        lambda: [ConnectionError("down"), api_error(503)],
        # a node restarting under a search (``search_failed``: 404 and 500 with its shards' reasons)
        lambda: [
            search_failed(404, "shard_not_found_exception"),
            search_failed(500, "node_closed_exception"),
        ],
    ],
)
def test_retrying_waits_through_transient_failures_only(transients: Any) -> None:
    calls: list[int] = []
    failures: list[Exception] = transients()

    def flaky() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"

    waits: list[float] = []
    assert retrying(flaky, "search", NO_WAIT, sleep=waits.append) == "ok"
    assert len(calls) == 3
    assert len(waits) == 2

    def bad_request() -> Any:
        raise api_error(400)

    with pytest.raises(SessionwatchError) as caught:
        retrying(bad_request, "search", NO_WAIT, sleep=waits.append)
    assert not isinstance(caught.value, ElasticsearchUnavailable)
    assert len(waits) == 2  # no retry for a 400


def test_retrying_gives_up_after_the_policy_limit() -> None:
    def down() -> Any:
        raise ConnectionError("down")

    with pytest.raises(ClusterDown, match="search: ConnectionError"):
        retrying(down, "search", Backoff(base=0.0, jitter=False, give_up_after=0.0), sleep=lambda _: None)


def test_describe_error_names_type_and_status_without_urls() -> None:
    assert describe_error(api_error(429, "es_rejected_execution_exception")) == (
        "HTTP 429 es_rejected_execution_exception"
    )
    assert describe_error(ConnectionError("refused")).startswith("ConnectionError")


def search_failed(status: int, *shard_kinds: str, root_causes: bool = False) -> ApiError:
    """A failed search as Elasticsearch answers it: the search's own type, and one entry per failed
    shard (``failed_shards``, each with its ``reason``; or only ``root_cause`` entries)."""
    error: dict[str, Any] = {"type": "search_phase_execution_exception", "reason": "Partial shards failure"}
    if root_causes:
        error["root_cause"] = [{"type": kind, "reason": "..."} for kind in shard_kinds]
    else:
        error["root_cause"] = []
        error["failed_shards"] = [
            {"shard": n, "index": "events", "node": "n1", "reason": {"type": kind, "reason": "..."}}
            for n, kind in enumerate(shard_kinds)
        ]
    return api_error(status, "search_phase_execution_exception", error)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # a node restarting: its search context gone before the fetch phase (seen in a rolling
        # restart), its shard copy gone or not started, the node itself leaving: 404 or 500
        (search_failed(404, "search_context_missing_exception"), True),
        (search_failed(404, "shard_not_found_exception"), True),
        (search_failed(500, "node_disconnected_exception", "shard_not_found_exception"), True),
        (search_failed(500, "illegal_index_shard_state_exception"), True),
        (search_failed(404, "shard_not_found_exception", root_causes=True), True),
        # the same search refused for what it asks, or one shard failing for good: no waiting helps
        (search_failed(400, "query_shard_exception"), False),
        (search_failed(404, "shard_not_found_exception", "index_not_found_exception"), False),
        (search_failed(500, "too_complex_to_determinize_exception"), False),
        (search_failed(404), False),  # no shard named: nothing says the shards are moving
        (api_error(404, "index_not_found_exception"), False),
        (api_error(404, "search_phase_execution_exception"), False),
    ],
)
def test_a_search_failing_on_moving_shards_is_transient(error: ApiError, expected: bool) -> None:
    assert transient(error) is expected
    assert isinstance(unavailable("search", error), ClusterDown) is expected


def test_a_failed_search_is_described_with_its_shards_reasons() -> None:
    error = search_failed(
        404, "shard_not_found_exception", "node_closed_exception", "shard_not_found_exception"
    )
    assert describe_error(error) == (
        "HTTP 404 search_phase_execution_exception (node_closed_exception, shard_not_found_exception)"
    )
    bad = unavailable("search for rule x", search_failed(400, "query_shard_exception"))
    assert type(bad) is SessionwatchError
    assert (
        bad.message == "search for rule x: HTTP 400 search_phase_execution_exception (query_shard_exception)"
    )
