"""The termination webhook client: one HTTP call per new alert, with timeouts and retries.

Requests come from the provider templates of ``sessionwatch.renderer.webhooks`` (Okta, Auth0,
Keycloak, Microsoft Graph, generic), the same ones the watches use. Their ``${NAME}`` secrets
are read from the environment (or ``NAME_FILE``) at call time and never appear in logs, audit
records or errors: a webhook is shown as ``METHOD scheme://host``, and response bodies are
not recorded.

A call goes only where it was configured: ``https`` (plain ``http`` only to a loopback address
and only when ``SESSIONWATCH_WEBHOOK_ALLOW_HTTP_LOOPBACK=1``), redirects are never followed (the
credentials would go to whatever host the redirect names: a redirect is a failed delivery), and
only a 2xx answer counts as delivered.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from sessionwatch.enrichers.events import get_path
from sessionwatch.renderer.webhooks import (
    PROVIDERS,
    HttpRequest,
    WebhookSpec,
    build_request,
    inject,
    load_provider,
)
from sessionwatch.rules.errors import RenderError, SessionwatchError
from sessionwatch.rules.model import Rule
from sessionwatch.runner.backoff import Backoff

ENV_CA_CERTS = "SESSIONWATCH_WEBHOOK_CA_CERTS"
ENV_ALLOW_HTTP_LOOPBACK = "SESSIONWATCH_WEBHOOK_ALLOW_HTTP_LOOPBACK"  # "1": http to 127.0.0.1/::1
LOOPBACK_NAMES = frozenset({"localhost"})
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})

Sleep = Callable[[float], None]


class WebhookConfigError(SessionwatchError):
    """The webhook is misconfigured (unknown provider, unset environment variable)."""


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


class WebhookClient:
    """Calls ``provider``'s revocation endpoint for one alert at a time; never raises for HTTP
    or network failures (they come back as a failed ``Delivery``)."""

    def __init__(
        self,
        provider: str,
        *,
        timeout: float = 10.0,
        attempts: int = 4,
        backoff: Backoff | None = None,
        environ: Mapping[str, str] | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        if provider not in PROVIDERS:
            raise WebhookConfigError(f"unknown webhook provider {provider!r}; known: {', '.join(PROVIDERS)}")
        self.provider = provider
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.backoff = backoff or Backoff(base=1.0, cap=30.0)
        self.environ = os.environ if environ is None else environ
        self.sleep = sleep
        self._specs: dict[str, WebhookSpec] = {}
        self._context = ssl.create_default_context(cafile=self.environ.get(ENV_CA_CERTS) or None)
        self._opener = urllib.request.build_opener(
            _RefuseRedirects(), urllib.request.HTTPSHandler(context=self._context)
        )
        self.allow_http_loopback = self.environ.get(ENV_ALLOW_HTTP_LOOPBACK, "") == "1"

    def spec(self, rule: Rule) -> WebhookSpec:
        key = str(rule.id)
        if key not in self._specs:
            self._specs[key] = load_provider(self.provider, rule)
        return self._specs[key]

    def check(self, rules: Iterable[Rule]) -> str:
        """Fail early when a ``${NAME}`` the provider needs is not set; returns what a log may
        show about the target (``METHOD scheme://host``)."""
        shown = ""
        for rule in rules:
            spec = self.spec(rule)
            try:
                inject({"url": spec.base_url, "headers": dict(spec.headers)}, self.environ)
                base = inject(spec.base_url, self.environ)
            except RenderError as exc:
                raise WebhookConfigError(f"{self.provider} webhook: {exc.message}") from None
            shown = HttpRequest(spec.method.upper(), base, {}, None).shown()
            refused = self.refuse_url(base)
            if refused:
                raise WebhookConfigError(f"{self.provider} webhook {shown}: {refused}")
        return shown

    def deliver(self, rule: Rule, alert: Mapping[str, Any]) -> Delivery:
        try:
            call = build_request(self.spec(rule), alert, self.environ)
        except RenderError as exc:
            return Delivery("failed", 0, error=exc.message)
        refused = self.refuse_url(call.url)
        if refused:
            return Delivery("failed", 0, error=refused)
        headers = {"Idempotency-Key": str(get_path(alert, "event.id") or ""), **call.headers}
        if call.body is not None:
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
            call.url, data=call.body, headers=headers, method=call.method
        )
        last = Delivery("failed", 0, error="not attempted")
        for attempt in range(self.attempts):
            last, retry_after = self._attempt(request, attempt + 1)
            if last.status == "delivered" or retry_after is None:
                return last
            if attempt + 1 < self.attempts:
                self.sleep(max(retry_after, self.backoff.delay(attempt)))
        return last

    def refuse_url(self, url: str) -> str | None:
        """Why a call to ``url`` is not made (None: it may be)."""
        try:
            parts = urllib.parse.urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            return "webhook URL cannot be parsed"
        if not host:
            return "webhook URL has no host"
        if "@" in parts.netloc:  # a token before the host would be sent as part of the host name
            return "webhook URL carries credentials before its host: give them as a header instead"
        if parts.scheme == "https":
            return None
        if parts.scheme != "http":
            return "webhook URL is not https"
        if not _loopback(host):
            return "webhook URL must be https (plain http only to a loopback address)"
        if not self.allow_http_loopback:
            return f"plain http to {host} needs {ENV_ALLOW_HTTP_LOOPBACK}=1"
        return None

    def _attempt(self, request: urllib.request.Request, number: int) -> tuple[Delivery, float | None]:
        """One call: the outcome, and the minimum wait before a retry (None = do not retry)."""
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                response.read(65536)
                status = response.status
                if not 200 <= status < 300:
                    return Delivery("failed", number, http_status=status, error=f"HTTP {status}"), None
                return Delivery("delivered", number, http_status=status), None
        except urllib.error.HTTPError as exc:
            status = exc.code
            if 300 <= status < 400:
                exc.close()
                error = f"HTTP {status} redirect refused: credentials go only to the configured host"
                return Delivery("failed", number, http_status=status, error=error), None
            retry_after = _retry_after(exc.headers.get("Retry-After")) if exc.headers else None
            exc.close()
            outcome = Delivery("failed", number, http_status=status, error=f"HTTP {status}")
            if status in RETRY_STATUSES:
                return outcome, min(retry_after or 0.0, self.backoff.cap)
            return outcome, None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return Delivery("failed", number, error=_describe(exc)), 0.0


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: urllib then raises ``HTTPError`` with the 3xx status."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
