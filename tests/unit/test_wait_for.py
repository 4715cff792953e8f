"""The integration tests' ``wait_for`` retries only while the node is not answering yet."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from elastic_transport import ApiResponseMeta, ConnectionError, HttpHeaders, NodeConfig
from elasticsearch import ApiError

from tests.integration.test_runner_support import wait_for


def _api_error(status: int) -> ApiError:
    meta = ApiResponseMeta(status, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "localhost", 9200))
    return ApiError("error", meta, {})


def test_a_mistake_fails_at_once() -> None:
    calls = 0

    def broken() -> bool:
        nonlocal calls
        calls += 1
        raise KeyError("hits")

    started = time.monotonic()
    with pytest.raises(KeyError):
        wait_for(broken, 30, "a typo")
    assert calls == 1
    assert time.monotonic() - started < 5

    def bad_request() -> bool:
        raise _api_error(400)

    with pytest.raises(ApiError):
        wait_for(bad_request, 30, "a bad request")


def test_a_node_not_answering_yet_is_waited_for() -> None:
    answers: Iterator[Exception | bool] = iter([ConnectionError("refused"), _api_error(503), True])

    def flaky() -> bool:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    wait_for(flaky, 30, "the node", pause=0.01)


def test_timeout_names_the_last_error() -> None:
    def down() -> bool:
        raise ConnectionError("connection refused")

    with pytest.raises(AssertionError, match=r"timed out .* the node \(last error: .*connection refused"):
        wait_for(down, 0.2, "the node", pause=0.05)
