"""Elasticsearch access: TLS verified by default, credentials from the environment or files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from elasticsearch import ApiError, Elasticsearch, TransportError

from sessionwatch.rules.errors import ElasticsearchUnavailable

ENV_URL = "SESSIONWATCH_ES_URL"
ENV_API_KEY = "SESSIONWATCH_ES_API_KEY"
ENV_USERNAME = "SESSIONWATCH_ES_USERNAME"
ENV_PASSWORD = "SESSIONWATCH_ES_PASSWORD"  # noqa: S105 - the variable's name, not a secret
ENV_CA_CERTS = "SESSIONWATCH_ES_CA_CERTS"


def redact_url(url: str) -> str:
    """``url`` without user information, safe to print."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _secret(name: str) -> str | None:
    """``NAME`` from the environment, or the contents of the file named by ``NAME_FILE``."""
    value = os.environ.get(name)
    if value:
        return value
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
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
    client = Elasticsearch(resolved, **options)
    wait_until_ready(client, redact_url(resolved))
    return client


def wait_until_ready(client: Elasticsearch, shown_url: str, timeout: str = "30s") -> None:
    """Block until the cluster is at least yellow (uses ``_cluster/health``, which every
    distribution serves; ``GET /`` is absent from the minimal one)."""
    try:
        health = client.cluster.health(wait_for_status="yellow", timeout=timeout)
    except (TransportError, ApiError) as exc:
        raise ElasticsearchUnavailable(
            f"Elasticsearch at {shown_url} is unreachable: {_describe(exc)}"
        ) from None
    if health.get("timed_out") or health.get("status") == "red":
        raise ElasticsearchUnavailable(
            f"Elasticsearch at {shown_url} is not ready (status {health.get('status')})"
        )


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"HTTP {exc.meta.status} {exc.error}"
    return type(exc).__name__ + (f": {exc.message}" if hasattr(exc, "message") else "")
