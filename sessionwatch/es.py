"""Elasticsearch access: TLS verified by default, credentials from the environment or files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from elasticsearch import ApiError, Elasticsearch, TransportError

from sessionwatch import redact
from sessionwatch.rules.errors import ElasticsearchUnavailable

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
    if secret and from_command_line:
        print(
            "warning: a password in --es-url is visible to every user of this machine (ps); "
            f"set {ENV_PASSWORD} or {ENV_PASSWORD}_FILE (or {ENV_API_KEY}[_FILE]) instead",
            file=sys.stderr,
        )


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
