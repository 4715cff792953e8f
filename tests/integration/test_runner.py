"""``sessionwatch run`` against a real node: exact alerts over overlapping windows, no duplicates,
late events inside the lookback, a runner killed mid-run, and the audit trail."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.alerts import alert_id
from sessionwatch.rules import load_rule_file
from sessionwatch.rules.identity import rule_hash
from sessionwatch.runner.clock import parse_iso
from tests.integration.test_runner_support import (
    DAY,
    IDLE_RULE,
    REPO,
    Names,
    alert_keys,
    all_docs,
    assert_windows_contiguous,
    cli_env,
    count,
    enrich,
    events_index,
    fixture_events,
    load,
    run_cli,
    start_cli,
    synthetic_events,
    wait_for,
)

FULL = ["--start", "2026-03-02T08:00:00Z", "--until", "2026-03-02T11:00:00Z"]
START, UNTIL = DAY + timedelta(hours=8), DAY + timedelta(hours=11)
LOOKBACK, STEP = timedelta(hours=1), timedelta(minutes=5)
FIXTURE_ALERTS = [("sess-a", "a-3"), ("sess-d", "d-3")]


@pytest.fixture
def names(es: Elasticsearch) -> Iterator[Names]:
    made = Names()
    yield made
    made.drop(es)


def _window_args(start: str, until: str) -> list[str]:
    return ["--start", start, "--until", until]


def test_overlapping_windows_raise_each_alert_once(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    load(es, events_index(es, names.events), fixture_events())
    env = cli_env(es_url)
    first = run_cli(names.run_args(*FULL), env, tmp_path)
    assert first.returncode == 0, first.stderr
    rule = load_rule_file(IDLE_RULE)
    alerts = all_docs(es, names.alerts)
    assert sorted(a["_id"] for a in alerts) == sorted(alert_id(rule, s, e) for s, e in FIXTURE_ALERTS)
    assert alert_keys(es, names.alerts) == FIXTURE_ALERTS
    assert {a["rule"]["id"] for a in alerts} == {str(rule.id)}

    audit = all_docs(es, names.audit)
    assert len(audit) == 36  # 3 h in 5-minute steps
    assert_windows_contiguous(audit, start=START, until=UNTIL, lookback=LOOKBACK, step=STEP)
    assert sum(r["alerts_raised"] for r in audit) == 2
    assert sum(r["alerts_known"] for r in audit) > 0  # later windows saw them again
    # the hash of the normalised rule (rules/identity.py), not of the file's bytes
    assert {r["rule"]["hash"] for r in audit} == {rule_hash(rule)}
    assert {(r["rule"]["id"], r["rule"]["version"], r["outcome"]) for r in audit} == {
        (str(rule.id), "1", "ok")
    }
    stamps = [parse_iso(d["@timestamp"]) for d in fixture_events()]
    for record in audit:  # documents_examined: the events inside the window
        low, high = parse_iso(record["window"]["start"]), parse_iso(record["window"]["end"])
        assert record["documents_examined"] == sum(low <= t < high for t in stamps), record["window"]
    checkpoint = es.get(index=names.state, id=f"runner:default:{rule.id}")["_source"]["data"]
    assert checkpoint["checkpoint"] == "2026-03-02T11:00:00.000Z"

    # The same runner again: the checkpoint is at --until, nothing left to evaluate.
    again = run_cli(names.run_args(*FULL), env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert count(es, names.audit) == 36
    # Another runner over the same windows: every alert is already known, none is duplicated.
    other = run_cli(
        names.run_args("--runner-id", "second", *FULL),
        env,
        tmp_path,
    )
    assert other.returncode == 0, other.stderr
    audit = all_docs(es, names.audit)
    assert len(audit) == 72
    second = [r for r in audit if r["runner"]["id"] == "second"]
    assert sum(r["alerts_raised"] for r in second) == 0
    assert (
        sum(r["alerts_known"] for r in second) == sum(r["alerts_known"] for r in audit if r not in second) + 2
    )
    assert alert_keys(es, names.alerts) == FIXTURE_ALERTS


def test_late_event_inside_the_lookback_is_caught(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    docs = fixture_events()
    late = [d for d in docs if d["sessionwatch"]["session"]["id"] == "sess-d"]
    load(es, events_index(es, names.events), [d for d in docs if d not in late])
    env = cli_env(es_url)
    early = run_cli(
        names.run_args(*_window_args("2026-03-02T08:00:00Z", "2026-03-02T09:40:00Z")), env, tmp_path
    )
    assert early.returncode == 0, early.stderr
    assert alert_keys(es, names.alerts) == [("sess-a", "a-3")]
    # sess-d's events (the violation at 09:25:01) arrive after the runner passed 09:40.
    load(es, names.events, late)
    later = run_cli(
        names.run_args(*_window_args("2026-03-02T08:00:00Z", "2026-03-02T10:00:00Z")), env, tmp_path
    )
    assert later.returncode == 0, later.stderr
    assert alert_keys(es, names.alerts) == FIXTURE_ALERTS


def test_runner_killed_mid_run_resumes_without_gaps_or_duplicates(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    raw, expected = synthetic_events(600)
    load(es, events_index(es, names.events), enrich(raw))
    start, until = DAY, DAY + timedelta(hours=21)
    args = names.run_args(*_window_args("2026-03-02T00:00:00Z", "2026-03-02T21:00:00Z"))
    env = cli_env(es_url)
    runner = start_cli(args, env, tmp_path, tmp_path / "first.log")
    try:
        wait_for(lambda: count(es, names.audit) >= 40, 120, "40 evaluations")
        assert runner.poll() is None, "the runner finished before it could be killed"
        runner.send_signal(signal.SIGKILL)
        runner.wait(30)
    finally:
        if runner.poll() is None:
            runner.kill()
    done_before = count(es, names.audit)
    assert done_before < 252, "the runner was not killed mid-run"
    began = time.monotonic()
    resumed = run_cli(args, env, tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    print(f"\nkilled after {done_before} of 252 windows; resumed in {time.monotonic() - began:.1f} s")
    assert alert_keys(es, names.alerts) == sorted(expected)
    assert_windows_contiguous(
        all_docs(es, names.audit), start=start, until=until, lookback=LOOKBACK, step=STEP
    )


def test_per_session_rule_raises_one_alert_per_session(
    es: Elasticsearch, es_url: str, names: Names, tmp_path: Path
) -> None:
    """Aggregation (per-entity) rules: a session in breach is one finding, whatever the windows
    that see it; later windows find it again (known), never raise it twice."""
    rule_path = REPO / "rules/pack/session_max_lifetime/nist-63b-r3-aal2-reauth-12h.yml"
    rule = load_rule_file(rule_path)
    fixture = REPO / "fixtures/session_max_lifetime/nist-63b-r3-aal2-reauth-12h/active-past-lifetime.ndjson"
    load(
        es, events_index(es, names.events), enrich([json.loads(x) for x in fixture.read_text().splitlines()])
    )
    args = names.run_args("--start", "2026-04-12T18:00:00Z", rule=rule_path)
    env = cli_env(es_url)
    one_hour = run_cli([*args, "--until", "2026-04-12T19:00:00Z"], env, tmp_path)
    assert one_hour.returncode == 0, one_hour.stderr
    expected = [alert_id(rule, "sessions", "entity=sess-a")]
    assert sorted(a["_id"] for a in all_docs(es, names.alerts)) == expected
    audit = all_docs(es, names.audit)
    assert sum(r["alerts_known"] for r in audit) > 0  # found again by later windows, not duplicated
    two_hours = run_cli([*args, "--until", "2026-04-12T20:00:00Z"], env, tmp_path)
    assert two_hours.returncode == 0, two_hours.stderr
    assert sorted(a["_id"] for a in all_docs(es, names.alerts)) == expected
    assert {a["sessionwatch"]["session"]["id"] for a in all_docs(es, names.alerts)} == {"sess-a"}
