"""Termination webhook templates: one call per alert, values encoded, secrets from the environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.renderer.webhooks import PROVIDERS, build_request, inject, is_secret, load_provider
from sessionwatch.rules import RenderError, load_rule_file
from sessionwatch.rules.model import Rule

ENV = {
    "SESSIONWATCH_OKTA_DOMAIN": "example.okta.com",
    "SESSIONWATCH_OKTA_API_TOKEN": "okta-secret",
    "SESSIONWATCH_AUTH0_DOMAIN": "tenant.eu.auth0.com",
    "SESSIONWATCH_AUTH0_TOKEN": "auth0-secret",
    "SESSIONWATCH_KEYCLOAK_HOST": "sso.example.org",
    "SESSIONWATCH_KEYCLOAK_REALM": "staff",
    "SESSIONWATCH_KEYCLOAK_TOKEN": "kc-secret",
    "SESSIONWATCH_MSGRAPH_TOKEN": "graph-secret",
    "SESSIONWATCH_WEBHOOK_URL": "https://hooks.example.org/revoke",
    "SESSIONWATCH_WEBHOOK_AUTHORIZATION": "Bearer generic-secret",
}
ALERT: dict[str, Any] = {
    "@timestamp": "2026-03-02T09:25:00Z",
    "event": {"id": "abc"},
    "user": {"name": "alice@example.org"},
    "sessionwatch": {"session": {"id": "sess/../a b"}, "evidence": {"event_ids": ["a-3"]}},
}


@pytest.fixture
def rule(idle_rule_path: Path) -> Rule:
    return load_rule_file(idle_rule_path)


@pytest.mark.parametrize(
    ("provider", "method", "url", "auth"),
    [
        (
            "okta",
            "DELETE",
            "https://example.okta.com/api/v1/users/alice%40example.org/sessions",
            "SSWS okta-secret",
        ),
        (
            "auth0",
            "DELETE",
            "https://tenant.eu.auth0.com/api/v2/sessions/sess%2F..%2Fa%20b",
            "Bearer auth0-secret",
        ),
        (
            "keycloak",
            "DELETE",
            "https://sso.example.org/admin/realms/staff/sessions/sess%2F..%2Fa%20b",
            "Bearer kc-secret",
        ),
        (
            "msgraph",
            "POST",
            "https://graph.microsoft.com/v1.0/users/alice%40example.org/revokeSignInSessions",
            "Bearer graph-secret",
        ),
        ("generic", "POST", "https://hooks.example.org/revoke", "Bearer generic-secret"),
    ],
)
def test_each_provider_builds_its_revocation_call(
    rule: Rule, provider: str, method: str, url: str, auth: str
) -> None:
    request = build_request(load_provider(provider, rule), ALERT, ENV)
    assert request.method == method
    assert request.url == url
    assert request.headers["Authorization"] == auth
    assert "secret" not in request.shown()


def test_generic_body_names_the_rule_session_and_user(rule: Rule) -> None:
    request = build_request(load_provider("generic", rule), ALERT, ENV)
    assert request.body is not None
    assert json.loads(request.body) == {
        "rule": {"id": str(rule.id), "name": rule.name, "category": "session_idle_timeout", "version": "1"},
        "severity": 73,
        "timestamp": "2026-03-02T09:25:00Z",
        "session_id": "sess/../a b",
        "user": "alice@example.org",
        "event_id": "a-3",
    }


def test_missing_environment_names_variables_not_values(rule: Rule) -> None:
    env = {k: v for k, v in ENV.items() if k != "SESSIONWATCH_OKTA_API_TOKEN"}
    with pytest.raises(RenderError) as caught:
        build_request(load_provider("okta", rule), ALERT, env)
    assert "SESSIONWATCH_OKTA_API_TOKEN" in str(caught.value)
    assert "okta-secret" not in str(caught.value)


def test_missing_alert_value_is_an_error(rule: Rule) -> None:
    with pytest.raises(RenderError, match="needs the alert's session"):
        build_request(load_provider("auth0", rule), {"user": {"name": "x"}}, ENV)


def test_inject_keeps_structure_and_reads_files(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text('s3"cret}\n')
    doc = {"a": ["${SESSIONWATCH_X_TOKEN}"], "b": {"c": "pre-${SESSIONWATCH_Y}"}, "n": 1}
    out = inject(doc, {"SESSIONWATCH_X_TOKEN_FILE": str(secret), "SESSIONWATCH_Y": '"},{'})
    assert out == {"a": ['s3"cret}'], "b": {"c": 'pre-"},{'}, "n": 1}


def test_inject_refuses_forbidden_text() -> None:
    with pytest.raises(RenderError, match="SESSIONWATCH_Y contains"):
        inject({"h": "${SESSIONWATCH_Y}"}, {"SESSIONWATCH_Y": "{{ctx}}"}, forbid=("{{", "}}"))


def test_secret_names() -> None:
    assert is_secret("SESSIONWATCH_OKTA_API_TOKEN")
    assert is_secret("SESSIONWATCH_WATCHER_ES_PASSWORD")
    assert not is_secret("SESSIONWATCH_OKTA_DOMAIN")


def test_unknown_provider(rule: Rule) -> None:
    with pytest.raises(RenderError, match="unknown webhook provider"):
        load_provider("ldap", rule)
    assert set(PROVIDERS) == {"okta", "auth0", "keycloak", "msgraph", "generic"}
