"""Webhooks do only what was configured: no redirects, https only, safe path segments, 2xx only,
and no credential in what is logged. Receivers are plain http servers on 127.0.0.1."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.alerts import alert_from_hit
from sessionwatch.renderer.webhooks import HttpRequest, build_request, load_provider
from sessionwatch.rules import Rule, load_rule_file
from sessionwatch.rules.errors import RenderError
from sessionwatch.runner.webhook import ENV_ALLOW_HTTP_LOOPBACK, WebhookClient, WebhookConfigError
from tests.unit.test_webhook_client import Receiver

TOKEN = "Bearer hostile-test-token-51c9"


@pytest.fixture
def rule(idle_rule_path: Path) -> Rule:
    return load_rule_file(idle_rule_path)


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    pair = (Receiver(), Receiver())
    yield pair
    for made in pair:
        made.close()


def alert(rule: Rule, session: str = "sess-a") -> dict[str, Any]:
    source = {
        "@timestamp": "2026-03-02T09:25:00Z",
        "user": {"name": "alice"},
        "sessionwatch": {"session": {"id": session}, "event": {"id": "a-3"}},
    }
    return alert_from_hit(rule, {"_id": "a-3", "_source": source})


def generic(url: str, allow_loopback: bool = True) -> WebhookClient:
    environ = {"SESSIONWATCH_WEBHOOK_URL": url, "SESSIONWATCH_WEBHOOK_AUTHORIZATION": TOKEN}
    if allow_loopback:
        environ[ENV_ALLOW_HTTP_LOOPBACK] = "1"
    return WebhookClient("generic", environ=environ, sleep=lambda _: None)


def test_a_redirect_is_a_failure_and_the_token_never_reaches_its_target(
    receivers: tuple[Receiver, Receiver], rule: Rule
) -> None:
    configured, elsewhere = receivers
    configured.script = [(302, {"Location": elsewhere.url})] * 4
    delivery = generic(configured.url).deliver(rule, alert(rule))
    assert delivery.status == "failed"
    assert delivery.http_status == 302
    assert "redirect refused" in (delivery.error or "")
    assert len(configured.calls) == 1  # not retried
    assert elsewhere.calls == []  # the credential went nowhere else


def test_307_is_refused_too(receivers: tuple[Receiver, Receiver], rule: Rule) -> None:
    configured, elsewhere = receivers
    configured.script = [(307, {"Location": elsewhere.url})]
    assert generic(configured.url).deliver(rule, alert(rule)).status == "failed"
    assert elsewhere.calls == []


def test_only_2xx_is_delivered(receivers: tuple[Receiver, Receiver], rule: Rule) -> None:
    configured, _ = receivers
    configured.script = [(204, {})]
    assert generic(configured.url).deliver(rule, alert(rule)).status == "delivered"
    configured.script = [(304, {})]
    assert generic(configured.url).deliver(rule, alert(rule)).status == "failed"


@pytest.mark.parametrize(
    ("url", "allowed", "reason"),
    [
        ("http://192.0.2.7/hook", True, "must be https"),
        ("http://hooks.example.org/hook", True, "must be https"),
        ("ftp://hooks.example.org/hook", True, "not https"),
        ("http://127.0.0.1:9/hook", False, ENV_ALLOW_HTTP_LOOPBACK),
    ],
)
def test_plain_http_is_refused_unless_loopback_and_allowed(
    rule: Rule, url: str, allowed: bool, reason: str
) -> None:
    client = generic(url, allow_loopback=allowed)
    delivery = client.deliver(rule, alert(rule))
    assert delivery.status == "failed"
    assert delivery.attempts == 0
    assert reason in (delivery.error or "")
    with pytest.raises(WebhookConfigError, match=reason):
        client.check([rule])


def test_loopback_http_works_when_allowed(receivers: tuple[Receiver, Receiver], rule: Rule) -> None:
    configured, _ = receivers
    assert generic(configured.url).deliver(rule, alert(rule)).status == "delivered"


@pytest.mark.parametrize("session", ["..", ".", "", "..."])
def test_dot_segments_from_an_alert_are_refused(rule: Rule, session: str) -> None:
    environ = {
        "SESSIONWATCH_KEYCLOAK_HOST": "idp.example.org",
        "SESSIONWATCH_KEYCLOAK_REALM": "acme",
        "SESSIONWATCH_KEYCLOAK_TOKEN": "t",
    }
    spec = load_provider("keycloak", rule)
    hit = alert(rule, session)
    if session == "":
        hit["session"] = {"id": ""}
    with pytest.raises(RenderError, match=r"not a usable path segment|missing"):
        build_request(spec, hit, environ)
    delivery = WebhookClient("keycloak", environ=environ).deliver(rule, hit)
    assert delivery.status == "failed"
    assert delivery.attempts == 0


def test_every_path_segment_is_percent_encoded(rule: Rule) -> None:
    environ = {
        "SESSIONWATCH_KEYCLOAK_HOST": "idp.example.org",
        "SESSIONWATCH_KEYCLOAK_REALM": "ac/me",
        "SESSIONWATCH_KEYCLOAK_TOKEN": "t",
    }
    call = build_request(load_provider("keycloak", rule), alert(rule, "../../users?x=1#f"), environ)
    assert call.url == "https://idp.example.org/admin/realms/ac%2Fme/sessions/..%2F..%2Fusers%3Fx%3D1%23f"


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pa55word-xyz@hooks.example.org/x",
        "https://hooks.example.org?token=pa55word-xyz",
        "https://pa55word-xyz@hooks.example.org/services/x",
    ],
)
def test_shown_and_logged_urls_carry_no_credential(
    rule: Rule, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    shown = HttpRequest("post", url, {}, None).shown()
    assert "pa55word" not in shown
    assert shown == "POST https://hooks.example.org"
    client = WebhookClient(
        "generic", environ={"SESSIONWATCH_WEBHOOK_URL": url, "SESSIONWATCH_WEBHOOK_AUTHORIZATION": TOKEN}
    )
    with caplog.at_level(logging.DEBUG):
        if "@" in url:  # credentials before the host: refused, and the error does not show them
            with pytest.raises(WebhookConfigError, match="credentials before its host") as refused:
                client.check([rule])
            logging.getLogger("sessionwatch.runner").error("%s", refused.value)
        else:
            logging.getLogger("sessionwatch.runner").info("termination webhook: %s", client.check([rule]))
    assert "pa55word" not in caplog.text
