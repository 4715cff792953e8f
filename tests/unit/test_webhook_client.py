"""The runner's webhook client against a local receiver on 127.0.0.1 (no other network)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.alerts import alert_from_hit
from sessionwatch.rules import Rule, load_rule_file
from sessionwatch.runner.webhook import WebhookClient, WebhookConfigError

SECRET = "Bearer unit-test-secret-7f3a"


class Receiver:
    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str]]] = []  # responses to give, in order
        self.hang = 0.0
        self.calls: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.calls.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                if receiver.hang:
                    time.sleep(receiver.hang)
                status, headers = receiver.script.pop(0) if receiver.script else (200, {})
                self.send_response(status)
                for name, value in {**headers, "Content-Length": "0"}.items():
                    self.send_header(name, value)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.close()


@pytest.fixture
def rule(idle_rule_path: Path) -> Rule:
    return load_rule_file(idle_rule_path)


def _alert(rule: Rule, user: str = "alice") -> dict[str, Any]:
    source = {
        "@timestamp": "2026-03-02T09:25:00Z",
        "user": {"name": user},
        "sessionwatch": {"session": {"id": "sess-a"}, "event": {"id": "a-3"}},
    }
    return alert_from_hit(rule, {"_id": "a-3", "_source": source})


def _client(url: str, sleeps: list[float], **options: Any) -> WebhookClient:
    environ = {
        "SESSIONWATCH_WEBHOOK_URL": url,
        "SESSIONWATCH_WEBHOOK_AUTHORIZATION": SECRET,
        "SESSIONWATCH_WEBHOOK_ALLOW_HTTP_LOOPBACK": "1",  # the receiver is plain http on 127.0.0.1
    }
    return WebhookClient("generic", environ=environ, sleep=sleeps.append, **options)


def test_delivers_once_with_the_secret_header_and_the_alert(receiver: Receiver, rule: Rule) -> None:
    sleeps: list[float] = []
    alert = _alert(rule)
    delivery = _client(receiver.url, sleeps).deliver(rule, alert)
    assert delivery.as_doc() == {"status": "delivered", "attempts": 1, "http_status": 200}
    (call,) = receiver.calls
    assert call["headers"]["Authorization"] == SECRET
    assert call["headers"]["Idempotency-Key"] == alert["event"]["id"]
    assert call["body"]["session_id"] == "sess-a"
    assert call["body"]["user"] == "alice"
    assert call["body"]["event_id"] == "a-3"
    assert sleeps == []


def test_retries_server_errors_with_backoff_and_retry_after(receiver: Receiver, rule: Rule) -> None:
    receiver.script = [(503, {"Retry-After": "3"}), (502, {})]
    sleeps: list[float] = []
    delivery = _client(receiver.url, sleeps).deliver(rule, _alert(rule))
    assert delivery.as_doc() == {"status": "delivered", "attempts": 3, "http_status": 200}
    assert len(receiver.calls) == 3
    assert len(sleeps) == 2
    assert sleeps[0] >= 3.0  # Retry-After is honoured


def test_gives_up_after_the_last_attempt(receiver: Receiver, rule: Rule) -> None:
    receiver.script = [(500, {})] * 5
    sleeps: list[float] = []
    delivery = _client(receiver.url, sleeps, attempts=3).deliver(rule, _alert(rule))
    assert delivery.as_doc() == {"status": "failed", "attempts": 3, "http_status": 500, "error": "HTTP 500"}
    assert len(sleeps) == 2


def test_client_errors_are_not_retried(receiver: Receiver, rule: Rule) -> None:
    receiver.script = [(401, {})]
    delivery = _client(receiver.url, []).deliver(rule, _alert(rule))
    assert delivery.as_doc() == {"status": "failed", "attempts": 1, "http_status": 401, "error": "HTTP 401"}
    assert len(receiver.calls) == 1


def test_a_hanging_receiver_times_out(receiver: Receiver, rule: Rule) -> None:
    receiver.hang = 2.0
    began = time.monotonic()
    delivery = _client(receiver.url, [], timeout=0.3, attempts=2).deliver(rule, _alert(rule))
    assert delivery.as_doc() == {"status": "failed", "attempts": 2, "error": "TimeoutError"}
    assert time.monotonic() - began < 2.0


def test_a_closed_port_is_a_connection_failure(receiver: Receiver, rule: Rule) -> None:
    url = receiver.url
    receiver.close()
    delivery = _client(url, [], attempts=2).deliver(rule, _alert(rule))
    assert delivery.status == "failed"
    assert delivery.attempts == 2
    assert delivery.error is not None
    assert "Connection" in delivery.error


def test_missing_environment_is_named_before_any_call(rule: Rule) -> None:
    client = WebhookClient("generic", environ={"SESSIONWATCH_WEBHOOK_URL": "https://hooks.example.org/x"})
    with pytest.raises(WebhookConfigError, match="SESSIONWATCH_WEBHOOK_AUTHORIZATION"):
        client.check([rule])
    with pytest.raises(WebhookConfigError, match="unknown webhook provider 'nope'"):
        WebhookClient("nope")


def test_check_shows_only_method_scheme_and_host(rule: Rule) -> None:
    environ = {
        "SESSIONWATCH_WEBHOOK_URL": "https://hooks.example.org/services/T0/B0/tokeninpath?key=abc",
        "SESSIONWATCH_WEBHOOK_AUTHORIZATION": SECRET,
    }
    shown = WebhookClient("generic", environ=environ).check([rule])
    assert shown == "POST https://hooks.example.org"


def test_an_alert_without_the_needed_value_fails_without_a_call(receiver: Receiver, rule: Rule) -> None:
    environ = {"SESSIONWATCH_OKTA_DOMAIN": "okta.example.org", "SESSIONWATCH_OKTA_API_TOKEN": "x"}
    alert = _alert(rule)
    del alert["user"]
    delivery = WebhookClient("okta", environ=environ).deliver(rule, alert)
    assert delivery.status == "failed"
    assert delivery.attempts == 0
    assert "user" in (delivery.error or "")
    assert receiver.calls == []


def test_credentials_before_the_host_are_refused_and_never_sent(receiver: Receiver, rule: Rule) -> None:
    url = receiver.url.replace("http://", "http://hook:tok3n-in-userinfo@")
    client = _client(url, [])
    with pytest.raises(WebhookConfigError, match="credentials before its host") as raised:
        client.check([rule])
    assert "tok3n" not in str(raised.value)
    delivery = client.deliver(rule, _alert(rule))
    assert (delivery.status, delivery.attempts) == ("failed", 0)
    assert "credentials before its host" in (delivery.error or "")
    assert receiver.calls == []
