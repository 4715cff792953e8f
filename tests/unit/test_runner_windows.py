"""Window planning, backoff, audit records and the ``run`` command's option errors (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.alerts import GROUPS_AGG
from sessionwatch.cli import main
from sessionwatch.renderer import Window
from sessionwatch.rules import load_rule_file, load_rules
from sessionwatch.runner.audit import AuditRecord
from sessionwatch.runner.backoff import Backoff
from sessionwatch.runner.evaluation import next_page, rule_hash, search_window
from sessionwatch.runner.windows import Slot, is_due, next_slot

PACK = Path(__file__).resolve().parents[2] / "rules" / "pack"

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HOUR, FIVE = timedelta(hours=1), timedelta(minutes=5)


def test_window_starts_one_lookback_before_the_checkpoint() -> None:
    slot = next_slot(T0, T0 + FIVE, lookback=HOUR, span=FIVE)
    assert slot == Slot(T0 - HOUR, T0 + FIVE)
    assert slot.window.start == "2026-03-02T08:00:00.000Z"
    assert slot.window.end == "2026-03-02T09:05:00.000Z"


def test_catch_up_is_cut_into_spans_and_never_passes_the_horizon() -> None:
    checkpoint, horizon, slots = T0, T0 + timedelta(minutes=12), []
    while (slot := next_slot(checkpoint, horizon, lookback=HOUR, span=FIVE)) is not None:
        slots.append(slot)
        checkpoint = slot.end
    assert [s.end - T0 for s in slots] == [FIVE, 2 * FIVE, timedelta(minutes=12)]
    assert [s.start for s in slots] == [T0 - HOUR, T0 + FIVE - HOUR, T0 + 2 * FIVE - HOUR]


def test_consecutive_windows_overlap_by_the_lookback() -> None:
    first = next_slot(T0, T0 + HOUR, lookback=HOUR, span=FIVE)
    assert first is not None
    second = next_slot(first.end, T0 + HOUR, lookback=HOUR, span=FIVE)
    assert second is not None
    assert first.end - second.start == HOUR


def test_nothing_to_do_at_or_before_the_checkpoint() -> None:
    assert next_slot(T0, T0, lookback=HOUR, span=FIVE) is None
    assert next_slot(T0, T0 - FIVE, lookback=HOUR, span=FIVE) is None
    with pytest.raises(ValueError, match="span must be positive"):
        next_slot(T0, T0 + FIVE, lookback=HOUR, span=timedelta(0))


def test_due_after_one_interval() -> None:
    assert not is_due(T0, T0 + timedelta(minutes=4, seconds=59), FIVE)
    assert is_due(T0, T0 + FIVE, FIVE)


def test_backoff_grows_to_its_cap() -> None:
    fixed = Backoff(base=1.0, factor=2.0, cap=10.0, jitter=False)
    assert [fixed.delay(n) for n in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    jittered = Backoff(base=1.0, cap=10.0)
    assert all(2.0 <= jittered.delay(2) <= 4.0 for _ in range(50))


def test_audit_record_document(idle_rule_path: Path) -> None:
    rule = load_rule_file(idle_rule_path)
    slot = Slot(T0 - HOUR, T0)
    record = AuditRecord(rule, rule_hash(rule), slot.window, "r1", "2026-03-02T09:00:01.000Z")
    record.documents_examined, record.matches, record.alerts_raised = 12, 2, 1
    record.terminations = {"delivered": 1}
    doc = record.as_doc()
    assert doc["rule"] == {"id": str(rule.id), "name": rule.name, "version": "1", "hash": rule_hash(rule)}
    assert doc["window"] == {"start": "2026-03-02T08:00:00.000Z", "end": "2026-03-02T09:00:00.000Z"}
    assert (doc["documents_examined"], doc["matches"], doc["alerts_raised"], doc["outcome"]) == (
        12,
        2,
        1,
        "ok",
    )
    assert doc["terminations"] == {"delivered": 1}
    assert "error" not in doc
    assert rule_hash(rule).startswith("sha256:")
    assert len(rule_hash(rule)) == len("sha256:") + 64


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--every", "5 minutes"], "--every: not a duration"),
        (["--until", "2026-03-02 10:00"], "--until: time without offset"),
        (["--max-span", "0m"], "--max-span: not a duration"),
    ],
    ids=["every", "until", "max-span"],
)
def test_option_mistakes_are_one_line_errors(
    args: list[str], message: str, idle_rule_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--rules", str(idle_rule_path), *args]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_follow_needs_a_source_index(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["enrich", "--follow"]) == 1
    assert "--follow needs --source-index PATTERN" in capsys.readouterr().err


def test_search_window_widens_only_period_kinds_to_their_first_period(idle_rule_path: Path) -> None:
    idle = load_rule_file(idle_rule_path)
    concurrency = next(r for r in load_rules([PACK]) if r.name == "org-concurrent-sessions")  # within 15m
    window = Window("2026-03-02T08:05:00.000Z", "2026-03-02T09:05:00.000Z")
    assert search_window(idle, window) == window
    assert search_window(concurrency, window) == Window("2026-03-02T08:00:00.000Z", window.end)
    aligned = Window("2026-03-02T08:15:00.000Z", "2026-03-02T09:05:00.000Z")
    assert search_window(concurrency, aligned) == aligned


def test_next_page_follows_composite_buckets_then_sorted_hits() -> None:
    composite: dict[str, Any] = {"size": 0, "aggs": {GROUPS_AGG: {"composite": {"size": 2, "sources": []}}}}
    page = {"aggregations": {GROUPS_AGG: {"after_key": {"entity": "s2"}, "buckets": [{}, {}]}}}
    following = next_page(composite, page)
    assert following is not None
    assert following["aggs"][GROUPS_AGG]["composite"]["after"] == {"entity": "s2"}
    assert "after" not in composite["aggs"][GROUPS_AGG]["composite"]  # the request is not mutated
    assert (
        next_page(composite, {"aggregations": {GROUPS_AGG: {"after_key": {"e": 1}, "buckets": []}}}) is None
    )
    sorted_hits = {"size": 2, "sort": [{"@timestamp": "asc"}]}
    full = {"hits": {"hits": [{"sort": [1]}, {"sort": [2]}]}}
    assert next_page(sorted_hits, full) == {**sorted_hits, "search_after": [2]}
    assert next_page(sorted_hits, {"hits": {"hits": [{"sort": [1]}]}}) is None


def test_missing_webhook_secret_stops_the_runner_before_it_connects(
    idle_rule_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SESSIONWATCH_WEBHOOK_URL", "https://hooks.example.org/revoke")
    monkeypatch.delenv("SESSIONWATCH_WEBHOOK_AUTHORIZATION", raising=False)
    monkeypatch.delenv("SESSIONWATCH_WEBHOOK_AUTHORIZATION_FILE", raising=False)
    monkeypatch.setenv("SESSIONWATCH_ES_URL", "http://127.0.0.1:9")  # never reached
    assert main(["run", "--rules", str(idle_rule_path), "--once", "--terminate", "generic"]) == 1
    err = capsys.readouterr().err
    assert "generic webhook: environment variables not set: SESSIONWATCH_WEBHOOK_AUTHORIZATION" in err
