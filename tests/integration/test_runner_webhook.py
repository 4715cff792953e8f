"""The runner's termination webhook against a local receiver (http.server on 127.0.0.1):
one call per new alert, retries after failures, a timeout on a receiver that hangs, and the
secret from the environment never written to logs, alerts, outcomes, audit records or
checkpoints. Alerts are never updated: each outcome is its own document, under the alert's id."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.alerts import alert_id
from sessionwatch.rules import load_rule_file
from tests.integration.test_runner_support import (
    IDLE_RULE,
    Names,
    all_docs,
    cli_env,
    events_index,
    fixture_events,
    load,
    run_cli,
    termination_outcomes,
)

WINDOW = ["--start", "2026-03-02T08:00:00Z", "--until", "2026-03-02T11:00:00Z"]
FIXTURE_ALERTS = {("sess-a", "a-3", "alice"), ("sess-d", "d-3", "dave")}


@dataclass
class Receiver:
    """Records every call; answers 503 to the first ``fail_first`` calls per alert, or hangs."""

    fail_first: int = 0
    hang: float = 0.0
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def per_alert(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self.calls:
            key = call["headers"]["Idempotency-Key"]
            counts[key] = counts.get(key, 0) + 1
        return counts


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with receiver.lock:
                receiver.calls.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                seen = receiver.per_alert()[self.headers["Idempotency-Key"]]
            if receiver.hang:
                time.sleep(receiver.hang)
            status = 503 if seen <= receiver.fail_first else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    made = Receiver(**getattr(request, "param", {}))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(made))
    server.daemon_threads = True
    made.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield made
    server.shutdown()
    server.server_close()


@pytest.fixture
def names(es: Elasticsearch) -> Iterator[Names]:
    made = Names()
    load(es, events_index(es, made.events), fixture_events())
    yield made
    made.drop(es)


def _run(
    names: Names, receiver: Receiver, es_url: str, tmp_path: Path, secret: str, *extra: str
) -> tuple[int, str]:
    env = cli_env(
        es_url,
        SESSIONWATCH_WEBHOOK_URL=f"http://127.0.0.1:{receiver.port}/revoke",
        SESSIONWATCH_WEBHOOK_ALLOW_HTTP_LOOPBACK="1",  # plain http to loopback is opt-in
        SESSIONWATCH_WEBHOOK_AUTHORIZATION=f"Bearer {secret}",
    )
    result = run_cli(names.run_args(*WINDOW, "--terminate", "generic", *extra), env, tmp_path)
    return result.returncode, result.stdout + result.stderr


def _stored_text(es: Elasticsearch, names: Names) -> str:
    docs = [*all_docs(es, names.alerts), *all_docs(es, names.audit), *all_docs(es, names.state)]
    docs += list(termination_outcomes(es, names.terminations).values())
    return json.dumps(docs)


def test_one_call_per_new_alert_and_no_secret_anywhere(
    es: Elasticsearch, es_url: str, names: Names, receiver: Receiver, tmp_path: Path
) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    code, output = _run(names, receiver, es_url, tmp_path, secret)
    assert code == 0, output
    rule = load_rule_file(IDLE_RULE)
    ids = {alert_id(rule, s, e) for s, e, _ in FIXTURE_ALERTS}
    assert receiver.per_alert() == dict.fromkeys(ids, 1)
    assert {(c["body"]["session_id"], c["body"]["event_id"], c["body"]["user"]) for c in receiver.calls} == (
        FIXTURE_ALERTS
    )
    assert {c["headers"]["Authorization"] for c in receiver.calls} == {f"Bearer {secret}"}
    assert {c["path"] for c in receiver.calls} == {"/revoke"}
    alerts = all_docs(es, names.alerts)
    assert [a["sessionwatch"]["termination"] for a in alerts] == [{"requested": True}] * 2
    outcomes = termination_outcomes(es, names.terminations)
    assert set(outcomes) == ids
    assert {o["status"] for o in outcomes.values()} == {"delivered"}
    assert {o["attempts"] for o in outcomes.values()} == {1}
    assert {o["provider"] for o in outcomes.values()} == {"generic"}
    audit = all_docs(es, names.audit)
    assert sum(r.get("terminations", {}).get("delivered", 0) for r in audit) == 2

    # Another runner over the same windows: the alerts are known, nobody is called again.
    code, more = _run(names, receiver, es_url, tmp_path, secret, "--runner-id", "again")
    assert code == 0, more
    assert len(receiver.calls) == 2
    for text in (output, more, _stored_text(es, names)):
        assert secret not in text
    assert "127.0.0.1" in output  # the target is named (scheme and host only)


@pytest.mark.parametrize("receiver", [{"fail_first": 2}], indirect=True)
def test_failing_receiver_is_retried(
    es: Elasticsearch, es_url: str, names: Names, receiver: Receiver, tmp_path: Path
) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    code, output = _run(names, receiver, es_url, tmp_path, secret)
    assert code == 0, output
    assert sorted(receiver.per_alert().values()) == [3, 3]
    outcomes = termination_outcomes(es, names.terminations)
    assert set(outcomes) == {a["_id"] for a in all_docs(es, names.alerts)}
    assert [o["status"] for o in outcomes.values()] == ["delivered", "delivered"]
    assert [o["attempts"] for o in outcomes.values()] == [3, 3]
    assert secret not in output + _stored_text(es, names)


@pytest.mark.parametrize("receiver", [{"hang": 4.0}], indirect=True)
def test_hanging_receiver_times_out_and_the_run_goes_on(
    es: Elasticsearch, es_url: str, names: Names, receiver: Receiver, tmp_path: Path
) -> None:
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    began = time.monotonic()
    code, output = _run(
        names, receiver, es_url, tmp_path, secret, "--webhook-timeout", "1", "--webhook-attempts", "2"
    )
    elapsed = time.monotonic() - began
    assert code == 0, output
    assert sorted(receiver.per_alert().values()) == [2, 2]
    outcomes = termination_outcomes(es, names.terminations)
    assert set(outcomes) == {a["_id"] for a in all_docs(es, names.alerts)}
    assert (
        list(outcomes.values())
        == [{"status": "failed", "attempts": 2, "error": "TimeoutError", "provider": "generic"}] * 2
    )
    audit = all_docs(es, names.audit)
    assert sum(r.get("terminations", {}).get("failed", 0) for r in audit) == 2
    assert len(audit) == 36  # every window evaluated and checkpointed despite the failures
    assert elapsed < 60
    assert "webhook for alert" in output
    assert secret not in output + _stored_text(es, names)


def test_alert_left_pending_by_a_crash_is_terminated_on_the_next_run(
    es: Elasticsearch, es_url: str, names: Names, receiver: Receiver, tmp_path: Path
) -> None:
    """A runner that died between creating an alert and recording its webhook outcome left the
    alert without an outcome and did not move its checkpoint; the next run evaluates the window
    again and makes the call. An alert created without a termination request is left alone."""
    rule = load_rule_file(IDLE_RULE)
    pending_id = alert_id(rule, "sess-a", "a-3")
    es.create(
        index=names.alerts,
        id=pending_id,
        document={
            "@timestamp": "2026-03-02T09:25:00Z",
            "event": {"kind": "alert", "id": pending_id},
            "rule": {"id": str(rule.id), "name": rule.name},
            "user": {"name": "alice"},
            "sessionwatch": {
                "session": {"id": "sess-a"},
                "evidence": {"event_ids": ["a-3"]},
                "termination": {"requested": True},
            },
        },
        refresh=True,
    )
    code, output = _run(names, receiver, es_url, tmp_path, f"s3cr3t-{uuid.uuid4().hex}")
    assert code == 0, output
    assert receiver.per_alert() == {pending_id: 1, alert_id(rule, "sess-d", "d-3"): 1}
    outcomes = termination_outcomes(es, names.terminations)
    assert {k: o["status"] for k, o in outcomes.items()} == dict.fromkeys(receiver.per_alert(), "delivered")
    audit = all_docs(es, names.audit)
    assert sum(r["alerts_raised"] for r in audit) == 1  # only sess-d's alert is new


def test_known_alerts_without_a_request_or_with_an_outcome_are_not_called(
    es: Elasticsearch, es_url: str, names: Names, receiver: Receiver, tmp_path: Path
) -> None:
    """sess-a's alert was created by a runner without ``--terminate`` (no request); sess-d's has
    its outcome recorded already: the run finds both known and calls nobody."""
    rule = load_rule_file(IDLE_RULE)
    requested = {"sess-a": None, "sess-d": {"requested": True}}
    events = {"sess-a": "a-3", "sess-d": "d-3"}
    for session, request in requested.items():
        known_id = alert_id(rule, session, events[session])
        evidence: dict[str, Any] = {"session": {"id": session}, "evidence": {"event_ids": [events[session]]}}
        if request:
            evidence["termination"] = request
        document = {"event": {"kind": "alert", "id": known_id}, "sessionwatch": evidence}
        es.create(index=names.alerts, id=known_id, document=document, refresh=True)
    recorded_id = alert_id(rule, "sess-d", "d-3")
    recorded = {"status": "failed", "attempts": 4}
    earlier = {"alert": {"id": recorded_id}, "termination": recorded}
    es.create(index=names.terminations, id=recorded_id, document=earlier, refresh=True)
    code, output = _run(names, receiver, es_url, tmp_path, f"s3cr3t-{uuid.uuid4().hex}")
    assert code == 0, output
    assert receiver.calls == []
    assert termination_outcomes(es, names.terminations) == {recorded_id: recorded}
    audit = all_docs(es, names.audit)
    assert sum(r["alerts_raised"] for r in audit) == 0
    assert sum(r["alerts_known"] for r in audit) > 0
