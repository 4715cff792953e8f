"""The termination webhook client: one HTTP call per new alert, with timeouts and retries.

Secrets (header values, a URL carrying a token) come from the environment or from files,
never from the command line, and never appear in logs, audit records or errors: a webhook
is shown as ``scheme://host`` only, and responses bodies are not recorded.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from sessionwatch.enrichers.events import get_path
from sessionwatch.rules.errors import SessionwatchError
from sessionwatch.runner.backoff import Backoff

ENV_URL = "SESSIONWATCH_WEBHOOK_URL"
ENV_CA_CERTS = "SESSIONWATCH_WEBHOOK_CA_CERTS"
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_@.]+)\}")

Body = Callable[[Mapping[str, Any]], Any]
Sleep = Callable[[float], None]


class WebhookConfigError(SessionwatchError):
    """The webhook is misconfigured (missing URL, unset secret, bad header spec)."""


def _secret(name: str) -> str:
    """``$NAME``, or the contents of the file ``$NAME_FILE``."""
    value = os.environ.get(name)
    if value:
        return value
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise WebhookConfigError(f"cannot read {name}_FILE: {exc.strerror}") from None
    raise WebhookConfigError(f"environment variable {name} (or {name}_FILE) is not set")


def shown(url: str) -> str:
    """``scheme://host[:port]``: all a log may say about a webhook URL."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def default_body(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The generic request body: what a revocation endpoint needs to find the session."""
    return {
        "alert_id": get_path(alert, "event.id"),
        "rule": {k: get_path(alert, f"rule.{k}") for k in ("id", "name", "category", "version")},
        "severity": get_path(alert, "event.severity"),
        "timestamp": get_path(alert, "@timestamp"),
        "session_id": get_path(alert, "sessionwatch.session.id"),
        "user": get_path(alert, "user.name"),
        "source_ip": get_path(alert, "source.ip"),
        "message": get_path(alert, "message"),
    }


def expand_url(template: str, alert: Mapping[str, Any]) -> str:
    """Fill ``{field.path}`` placeholders from the alert; each value is percent-encoded, so no
    value from a log can change the URL's structure."""

    def value(match: re.Match[str]) -> str:
        found = get_path(alert, match.group(1))
        if found is None or isinstance(found, dict | list):
            raise WebhookConfigError(f"alert has no value for {{{match.group(1)}}}")
        return quote(str(found), safe="")

    return _PLACEHOLDER.sub(value, template)


@dataclass(frozen=True)
class Delivery:
    """What happened to one alert's webhook call."""

    status: str  # "delivered" or "failed"
    attempts: int
    http_status: int | None = None
    error: str | None = None

    def as_doc(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"status": self.status, "attempts": self.attempts}
        if self.http_status is not None:
            doc["http_status"] = self.http_status
        if self.error:
            doc["error"] = self.error
        return doc


@dataclass(frozen=True)
class WebhookConfig:
    """Where and how to call. ``headers`` hold resolved secrets and are never shown."""

    url: str
    method: str = "POST"
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout: float = 10.0
    attempts: int = 4
    backoff: Backoff = field(default_factory=lambda: Backoff(base=1.0, cap=30.0))
    ca_certs: str | None = None
    body: Body = default_body

    def __repr__(self) -> str:
        return f"WebhookConfig({self.method} {shown(self.url)}, headers={sorted(self.headers)})"

    @classmethod
    def from_env(
        cls,
        url: str | None = None,
        *,
        method: str = "POST",
        header_specs: Sequence[str] = (),
        timeout: float = 10.0,
        attempts: int = 4,
        body: Body = default_body,
    ) -> WebhookConfig:
        """``url`` (else ``$SESSIONWATCH_WEBHOOK_URL``); each header spec is ``Name=ENV_VAR``,
        the value read from ``$ENV_VAR`` or the file ``$ENV_VAR_FILE``."""
        resolved = url or os.environ.get(ENV_URL)
        if not resolved:
            raise WebhookConfigError(f"no webhook URL: pass --webhook-url or set {ENV_URL}")
        if urlsplit(resolved).scheme not in ("http", "https"):
            raise WebhookConfigError(f"webhook URL must be http(s): {shown(resolved)}")
        headers: dict[str, str] = {}
        for spec in header_specs:
            name, sep, env = spec.partition("=")
            if not sep or not name.strip() or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", env.strip()):
                raise WebhookConfigError(f"--webhook-header {name or spec!r}: expected NAME=ENV_VAR")
            headers[name.strip()] = _secret(env.strip())
        return cls(
            url=resolved,
            method=method.upper(),
            headers=headers,
            timeout=timeout,
            attempts=max(1, attempts),
            ca_certs=os.environ.get(ENV_CA_CERTS),
            body=body,
        )


class WebhookClient:
    """Calls the webhook for one alert at a time; never raises for HTTP or network failures."""

    def __init__(self, config: WebhookConfig, sleep: Sleep = time.sleep) -> None:
        self.config = config
        self.sleep = sleep
        self._context = ssl.create_default_context(cafile=config.ca_certs)

    def deliver(self, alert: Mapping[str, Any]) -> Delivery:
        try:
            request = self._request(alert)
        except WebhookConfigError as exc:
            return Delivery("failed", 0, error=exc.message)
        last: Delivery = Delivery("failed", 0, error="not attempted")
        for attempt in range(self.config.attempts):
            last, retry_after = self._attempt(request, attempt + 1)
            if last.status == "delivered" or retry_after is None:
                return last
            if attempt + 1 < self.config.attempts:
                self.sleep(max(retry_after, self.config.backoff.delay(attempt)))
        return last

    def _request(self, alert: Mapping[str, Any]) -> urllib.request.Request:
        alert_id = str(get_path(alert, "event.id") or "")
        body = self.config.body(alert)
        data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", "Idempotency-Key": alert_id}
        headers.update(self.config.headers)
        return urllib.request.Request(  # noqa: S310 - http(s) only, checked in from_env
            expand_url(self.config.url, alert), data=data, headers=headers, method=self.config.method
        )

    def _attempt(self, request: urllib.request.Request, number: int) -> tuple[Delivery, float | None]:
        """One call: the outcome, and the minimum wait before a retry (None = do not retry)."""
        try:
            with urllib.request.urlopen(  # noqa: S310 - scheme checked in from_env
                request, timeout=self.config.timeout, context=self._context
            ) as response:
                response.read(65536)
                return Delivery("delivered", number, http_status=response.status), None
        except urllib.error.HTTPError as exc:
            status = exc.code
            retry_after = _retry_after(exc.headers.get("Retry-After")) if exc.headers else None
            exc.close()
            outcome = Delivery("failed", number, http_status=status, error=f"HTTP {status}")
            if status in RETRY_STATUSES:
                return outcome, min(retry_after or 0.0, self.config.backoff.cap)
            return outcome, None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return Delivery("failed", number, error=_describe(exc)), 0.0


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _describe(exc: BaseException) -> str:
    """The kind of failure, without the URL or anything the server sent."""
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError | ssl.SSLError | ConnectionError):
        return type(reason).__name__
    if isinstance(reason, OSError) and reason.strerror:
        return f"{type(reason).__name__}: {reason.strerror}"
    return type(reason).__name__
