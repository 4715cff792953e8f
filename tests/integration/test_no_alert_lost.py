"""No alert is ever lost: 5,000 idle-timeout violations (five times the page size) give exactly
5,000 alerts from ``detect``, from the fixture harness (``test``) and from ``run`` — the one
evaluation path pages through every match."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.harness import run_case, run_rules
from sessionwatch.renderer.render import DEFAULT_MAX_HITS
from sessionwatch.rules import load_rule_file
from sessionwatch.rules.errors import Location
from sessionwatch.rules.model import ExpectedAlert, RuleCase
from tests.integration.test_runner_support import (
    DAY,
    IDLE_RULE,
    Names,
    cli_env,
    enrich,
    events_index,
    iso,
    load,
    run_cli,
)

SESSIONS = 5000
FROM, TO = DAY, DAY + timedelta(hours=12)


def idle_sessions(count: int) -> list[dict[str, Any]]:
    """``count`` sessions that log in, then come back after 2 h: one idle violation each."""
    events: list[dict[str, Any]] = []
    for n in range(count):
        sid = f"idle-{n:05d}"
        login = DAY + timedelta(hours=1, seconds=n % 3600)
        for k, at in enumerate((login, login + timedelta(hours=2))):
            events.append(
                {
                    "@timestamp": iso(at),
                    "event": {
                        "id": f"{sid}-{k}",
                        "dataset": "generic.portal",
                        "action": "login" if k == 0 else "view_invoice",
                        "outcome": "success",
                        **({"category": ["authentication", "session"], "type": ["start"]} if k == 0 else {}),
                    },
                    "session": {"id": sid},
                    "user": {"name": f"user{n % 97}"},
                    "source": {"ip": "198.51.100.7"},
                    "url": {"path": "/login" if k == 0 else "/app"},
                }
            )
    events.sort(key=lambda e: (e["@timestamp"], e["event"]["id"]))
    return events


@pytest.fixture(scope="module")
def raw_events() -> list[dict[str, Any]]:
    assert SESSIONS > DEFAULT_MAX_HITS * 4
    return idle_sessions(SESSIONS)


@pytest.fixture
def names(es: Elasticsearch) -> Iterator[Names]:
    made = Names()
    yield made
    made.drop(es)


def _write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_detect_raises_every_alert(raw_events: list[dict[str, Any]], es_url: str, tmp_path: Path) -> None:
    events = _write(tmp_path / "idle.ndjson", raw_events)
    done = run_cli(
        ["detect", "--events", str(events), "--rules", str(IDLE_RULE), "--from", iso(FROM), "--to", iso(TO)],
        cli_env(es_url),
        tmp_path,
    )
    assert done.returncode == 1, done.stderr
    alerts = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(alerts) == SESSIONS
    assert {a["sessionwatch"]["session"]["id"] for a in alerts} == {f"idle-{n:05d}" for n in range(SESSIONS)}
    assert f"indexed {SESSIONS * 2} of {SESSIONS * 2} enriched events" in done.stderr


def test_fixture_harness_raises_every_alert(
    es: Elasticsearch, raw_events: list[dict[str, Any]], tmp_path: Path
) -> None:
    _write(tmp_path / "idle.ndjson", raw_events)
    rule = load_rule_file(IDLE_RULE)
    case = RuleCase(
        name="five-thousand",
        fixture="idle.ndjson",
        at=TO,
        start=FROM,
        expect=tuple(ExpectedAlert(session=f"idle-{n:05d}") for n in range(SESSIONS)),
        location=Location(str(IDLE_RULE)),
    )
    rule = dataclasses.replace(rule, tests=(case,))
    alone = run_case(es, rule, case, ProfileRegistry.discover(), tmp_path)  # the pytest plugin's way
    (batched,) = run_rules(es, [rule], ProfileRegistry.discover(), tmp_path)  # sessionwatch test's way
    for result in (alone, batched):
        assert result.error is None
        assert len(result.alerts) == SESSIONS
        assert result.passed, result.diff()[:5]


def test_run_raises_every_alert(
    es: Elasticsearch, es_url: str, raw_events: list[dict[str, Any]], names: Names, tmp_path: Path
) -> None:
    load(es, events_index(es, names.events), enrich(raw_events))
    args = names.run_args("--start", iso(FROM), "--until", iso(TO), "--max-span", "1h")
    done = run_cli(args, cli_env(es_url), tmp_path)
    assert done.returncode == 0, done.stderr
    es.indices.refresh(index=names.alerts)
    assert es.count(index=names.alerts)["count"] == SESSIONS
