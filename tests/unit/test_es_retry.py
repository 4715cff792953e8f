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


def api_error(status: int, kind: str = "some_exception") -> ApiError:
    meta = ApiResponseMeta(
        status=status,
        http_version="1.1",
        headers=HttpHeaders(),
        duration=0.0,
        node=NodeConfig("http", "h", 9200),
    )
    return ApiError(kind, meta=meta, body={"error": {"type": kind}})


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


def test_retrying_waits_through_transient_failures_only() -> None:
    calls: list[int] = []
    failures: list[Exception] = [ConnectionError("down"), api_error(503)]

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
