"""Connecting to a cluster that may not be up yet: retry with backoff, bounded when asked."""

from __future__ import annotations

import logging
import time

from elasticsearch import Elasticsearch

from sessionwatch.es import Backoff, connect, transient
from sessionwatch.rules.errors import ElasticsearchUnavailable

log = logging.getLogger("sessionwatch.runner")


def connect_with_retry(
    url: str | None, *, ca_certs: str | None = None, give_up_after: float | None = None
) -> Elasticsearch:
    """``sessionwatch.es.connect``, retried while the cluster is unreachable or not ready;
    ``give_up_after`` seconds (None = forever) bound the wait. A missing URL and refused
    credentials (401, 403) fail at once (``transient`` classifies by error type and status)."""
    backoff = Backoff(base=1.0, cap=60.0)
    began = time.monotonic()
    attempt = 0
    while True:
        try:
            return connect(url, ca_certs=ca_certs)
        except ElasticsearchUnavailable as exc:
            if not transient(exc) or (
                give_up_after is not None and time.monotonic() - began >= give_up_after
            ):
                raise
            delay = backoff.delay(attempt)
            attempt += 1
            log.warning("%s; retrying in %.1f s", exc.message, delay)
            time.sleep(delay)
