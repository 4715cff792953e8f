"""Elasticsearch access: TLS verified by default, credentials from the environment or files.

Also the one retry policy (``Backoff``, ``transient``, ``retrying``) and the one error
description (``describe_error``) every caller of the cluster uses: bulk writing, the alert
store, the runner, the follower, ``detect`` and the pytest plugin.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from elastic_transport import TlsError
from elasticsearch import ApiError, Elasticsearch, TransportError

from sessionwatch import redact
from sessionwatch.rules.errors import ElasticsearchUnavailable, SessionwatchError

T = TypeVar("T")
log = logging.getLogger("sessionwatch.es")

# Statuses that mean "try again later": too many requests, and a node or shard not there yet.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Statuses that never get better by waiting: refused credentials or privileges.
REFUSED_STATUSES = frozenset({401, 403})
# Why a shard fails while a node restarts or a shard copy moves: the node freed the search's
# context between its query and fetch phases (seen in a rolling restart: the fetch phase's
# ``search_context_missing_exception``, 404), the copy is gone or not started yet, or the node
# holding it left. A search takes its HTTP status from its shard failures
# (``SearchPhaseExecutionException.status``): 404 for these, 500 for a lost node. So a search
# that failed only for these reasons is retried, by type; every caller retries by sending the
# whole search again (no scroll; the follower opens a new point in time).
MOVING_SHARD_FAILURES = frozenset(
    {
        "search_context_missing_exception",
        "shard_not_found_exception",
        "no_shard_available_action_exception",
        "illegal_index_shard_state_exception",
        "index_shard_closed_exception",
        "index_shard_not_started_exception",
        "index_shard_relocated_exception",
        "already_closed_exception",
        "node_closed_exception",
        "node_disconnected_exception",
        "node_not_connected_exception",
        "connect_transport_exception",
        "send_request_transport_exception",
    }
)


class ClusterRefused(ElasticsearchUnavailable):
    """The cluster refused our credentials or privileges (401, 403): waiting will not help."""


class ClusterDown(ElasticsearchUnavailable):
    """The cluster stayed unreachable or kept failing on its side: waiting may help."""


@dataclass(frozen=True)
class Backoff:
    """Delays ``base * factor**attempt`` capped at ``cap`` seconds, with jitter in ``[0.5, 1]``;
    ``give_up_after`` seconds of failing (None = never) bound ``retrying``."""

    base: float = 1.0
    factor: float = 2.0
    cap: float = 60.0
    jitter: bool = True
    give_up_after: float | None = None

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (0 = the first retry)."""
        raw = min(self.cap, self.base * self.factor ** max(attempt, 0))
        if not self.jitter:
            return raw
        return raw * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not cryptography


# A one-shot command (detect, test, a bulk load): about two and a half minutes of retries,
# long enough for a node to restart.
COMMAND_RETRY = Backoff(base=0.2, cap=10.0, give_up_after=150.0)


def transient(exc: BaseException) -> bool:
    """Whether waiting may help: a retryable HTTP status, a search that failed only on shards a
    node restart makes unavailable (``MOVING_SHARD_FAILURES``, whatever its status), or a
    lost/refused/timed-out connection (never a TLS failure, a bad request or refused
    credentials). By type and status only."""
    if isinstance(exc, ApiError):
        if exc.meta.status in RETRY_STATUSES:
            return True
        return shards_moving(_error_object(exc))
    if isinstance(exc, ElasticsearchUnavailable):
        return isinstance(exc, ClusterDown)
    return isinstance(exc, TransportError) and not isinstance(exc, TlsError)


def _error_object(exc: ApiError) -> Any:
    """The ``error`` object of an error answer (None when its body has none)."""
    return exc.body.get("error") if isinstance(exc.body, dict) else None


def shards_moving(error: Any) -> bool:
    """Whether ``error`` (the ``error`` object of an answer, or of one multi-search item) is a
    search whose every failed shard failed for a reason in ``MOVING_SHARD_FAILURES``."""
    kinds = shard_failure_kinds(error)
    return kinds is not None and kinds <= MOVING_SHARD_FAILURES


def shard_failure_kinds(error: Any) -> frozenset[str] | None:
    """The error types of the failed shards (``failed_shards``, else ``root_cause``) of ``error``,
    the ``error`` object of an answer; None when it is not a search that failed on its shards."""
    if not isinstance(error, dict) or error.get("type") != "search_phase_execution_exception":
        return None
    failures = error.get("failed_shards") or error.get("root_cause")
    if not isinstance(failures, list) or not failures:
        return None
    kinds = set()
    for failure in failures:
        if not isinstance(failure, dict):
            return None
        reason = failure.get("reason")  # a failed shard's; a root cause names its own type
        kind = reason.get("type") if isinstance(reason, dict) else failure.get("type")
        if not isinstance(kind, str):
            return None
        kinds.add(kind)
    return frozenset(kinds)


def describe_error(exc: BaseException) -> str:
    """A failure in words that carry no credentials or URLs."""
    if isinstance(exc, ApiError):
        shards = shard_failure_kinds(_error_object(exc))
        because = f" ({', '.join(sorted(shards))})" if shards else ""
        return f"HTTP {exc.meta.status} {exc.error}{because}"
    if isinstance(exc, SessionwatchError):
        return exc.message
    if isinstance(exc, TransportError):
        return f"{type(exc).__name__}: {exc.message}"
    return type(exc).__name__


def unavailable(what: str, exc: BaseException) -> SessionwatchError:
    """The error to raise after ``exc``: ``ElasticsearchUnavailable`` (exit 2) only when the cluster
    is unreachable or failing on its side; a rejected request (4xx) is a plain error."""
    message = f"{what}: {describe_error(exc)}"
    if isinstance(exc, ApiError) and 400 <= exc.meta.status < 500 and not transient(exc):
        if exc.meta.status in REFUSED_STATUSES:
            return ClusterRefused(message)
        return SessionwatchError(message)
    return ClusterDown(message) if transient(exc) else ElasticsearchUnavailable(message)


def retrying(
    call: Callable[[], T],
    what: str,
    policy: Backoff = COMMAND_RETRY,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``call()``, retried with ``policy`` while it fails transiently; then ``unavailable``."""
    began = time.monotonic()
    attempt = 0
    while True:
        try:
            return call()
        except (ApiError, TransportError, ElasticsearchUnavailable) as exc:
            spent = time.monotonic() - began
            if not transient(exc) or (policy.give_up_after is not None and spent >= policy.give_up_after):
                raise unavailable(what, exc) from None
            delay = policy.delay(attempt)
            attempt += 1
            log.warning("%s: %s; retry %d in %.1f s", what, describe_error(exc), attempt, delay)
            sleep(delay)


ENV_URL = "SESSIONWATCH_ES_URL"
ENV_API_KEY = "SESSIONWATCH_ES_API_KEY"
ENV_USERNAME = "SESSIONWATCH_ES_USERNAME"
ENV_PASSWORD = "SESSIONWATCH_ES_PASSWORD"  # noqa: S105 - the variable's name, not a secret
ENV_CA_CERTS = "SESSIONWATCH_ES_CA_CERTS"


def redact_url(url: str) -> str:
    """``url`` without user information, safe to print (see ``sessionwatch.redact``)."""
    return redact.redact_url(url)


def _secret(name: str) -> str | None:
    """``NAME`` from the environment, or the contents of the file named by ``NAME_FILE``."""
    value = os.environ.get(name)
    if value:
        redact.register_secret(value)
        return value
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            value = Path(file_name).read_text(encoding="utf-8").strip()
            redact.register_secret(value)
            return value
        except OSError as exc:
            raise ElasticsearchUnavailable(f"cannot read {name}_FILE: {exc.strerror}") from None
    return None


def resolve_url(url: str | None) -> str:
    resolved = url or os.environ.get(ENV_URL)
    if not resolved:
        raise ElasticsearchUnavailable(f"no Elasticsearch URL: pass --es-url or set {ENV_URL}")
    return resolved


def connect(
    url: str | None = None, *, ca_certs: str | None = None, request_timeout: float = 30.0
) -> Elasticsearch:
    """A client for ``url`` (or ``$SESSIONWATCH_ES_URL``); waits until the cluster is usable."""
    resolved = resolve_url(url)
    _check_url(resolved, from_command_line=bool(url))
    options: dict[str, Any] = {"request_timeout": request_timeout, "verify_certs": True}
    ca = ca_certs or os.environ.get(ENV_CA_CERTS)
    if ca:
        options["ca_certs"] = ca
    api_key = _secret(ENV_API_KEY)
    username = os.environ.get(ENV_USERNAME)
    if api_key:
        options["api_key"] = api_key
    elif username:
        options["basic_auth"] = (username, _secret(ENV_PASSWORD) or "")
    try:
        client = Elasticsearch(resolved, **options)
    except ValueError:  # its message quotes the URL, password included
        raise ElasticsearchUnavailable(
            f"invalid Elasticsearch URL {redact_url(resolved)}: expected scheme://host:port"
        ) from None
    wait_until_ready(client, redact_url(resolved))
    return client


def _check_url(url: str, *, from_command_line: bool) -> None:
    """Register the URL's credentials for redaction; refuse a URL that cannot be parsed (its
    text is never shown); warn when a password was given on the command line."""
    secret = redact.url_secret(url)
    redact.register_secret(secret)
    redact.register_secret(unquote(secret or ""))
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a bad port
        if "://" not in url or not parts.hostname:
            raise ValueError(url)
    except ValueError:
        raise ElasticsearchUnavailable(
            f"invalid Elasticsearch URL {redact_url(url)}: expected scheme://host:port"
        ) from None
    if from_command_line:
        redact.command_line_url(url)  # warns once per process


def wait_until_ready(client: Elasticsearch, shown_url: str, timeout: str = "30s") -> None:
    """Block until the cluster is at least yellow (uses ``_cluster/health``, which every
    distribution serves; ``GET /`` is absent from the minimal one)."""
    try:
        health = client.cluster.health(wait_for_status="yellow", timeout=timeout)
    except (TransportError, ApiError) as exc:
        error = unavailable(f"Elasticsearch at {shown_url} is unreachable", exc)
        if not isinstance(error, ElasticsearchUnavailable):  # a 4xx here: not a cluster URL
            error = ElasticsearchUnavailable(error.message)
        raise error from None
    if health.get("timed_out") or health.get("status") == "red":
        raise ClusterDown(f"Elasticsearch at {shown_url} is not ready (status {health.get('status')})")
