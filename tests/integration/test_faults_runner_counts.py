"""The runner's counts match the alerts index: one audit record per window, and the summary's
``alerts_raised`` counts alerts created even when the window had to be evaluated again.

The fault: the checkpoint write fails once right after the alerts and the audit record were
written (a node hiccup at the worst moment). The window is evaluated again: it finds its alerts
already there (``known``). Before, the summary said ``alerts_raised=0`` and the window had two
audit records (one saying 2 raised, one saying 0 raised, 2 known).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from sessionwatch.rules import load_rule_file
from sessionwatch.rules.errors import ElasticsearchUnavailable
from sessionwatch.runner.backoff import Backoff
from sessionwatch.runner.loop import Runner, RunnerOptions
from tests.integration.test_runner_support import (
    IDLE_RULE,
    Names,
    all_docs,
    events_index,
    fixture_events,
    load,
)


@pytest.fixture
def names(es: Elasticsearch) -> Iterator[Names]:
    made = Names()
    yield made
    made.drop(es)


def test_a_window_evaluated_twice_has_one_audit_record_and_true_counts(
    es: Elasticsearch, names: Names
) -> None:
    load(es, events_index(es, names.events), fixture_events())
    options = RunnerOptions(
        runner_id=f"counts-{names.tag}",
        index=names.events,
        alerts_index=names.alerts,
        audit_index=names.audit,
        state_index=names.state,
        start=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        until=datetime(2026, 3, 2, 11, 0, tzinfo=UTC),
        retry=Backoff(base=0.01, cap=0.05),
        give_up_after=60.0,
    )
    runner = Runner(es, [load_rule_file(IDLE_RULE)], options)
    put = runner.state.put
    failed: list[str] = []

    def flaky_put(*args: Any, **kwargs: Any) -> Any:
        exists = es.indices.exists(index=names.alerts)
        if exists:  # alerts created a moment ago are counted only after a refresh
            es.indices.refresh(index=names.alerts)
        if not failed and exists and es.count(index=names.alerts)["count"] > 0:
            failed.append("checkpoint")
            raise ElasticsearchUnavailable("checkpoint not written (injected)")
        return put(*args, **kwargs)

    runner.state.put = flaky_put  # type: ignore[method-assign]
    summary = runner.run()
    assert failed == ["checkpoint"], "the fault was injected once, after alerts were created"
    es.indices.refresh(index=[names.alerts, names.audit])
    alerts = es.count(index=names.alerts)["count"]
    assert alerts == 2
    assert summary.alerts_raised == alerts
    records = [d for d in all_docs(es, names.audit) if d["outcome"] == "ok"]
    per_window = Counter((r["window"]["start"], r["window"]["end"]) for r in records)
    assert max(per_window.values()) == 1, per_window.most_common(3)
    assert sum(r["alerts_raised"] for r in records) == alerts
