"""The shared small pieces: one ISO-8601 formatter, one counters line, one entry-point loader."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from importlib import metadata

import pytest

from sessionwatch.enrichers.engine import Counts
from sessionwatch.follow import FollowSummary
from sessionwatch.rules import plugins
from sessionwatch.rules.errors import PluginError
from sessionwatch.rules.instants import iso, parse_instant
from sessionwatch.runner.loop import Summary


def test_iso_is_utc_milliseconds_with_z_from_datetimes_and_epochs() -> None:
    paris = timezone(timedelta(hours=1))
    assert iso(datetime(2026, 3, 2, 10, 0, 0, 123456, tzinfo=paris)) == "2026-03-02T09:00:00.123Z"
    assert iso(0) == "1970-01-01T00:00:00.000Z"
    assert iso(1.5) == "1970-01-01T00:00:01.500Z"
    assert parse_instant("2026-03-02T09:00:00Z") == datetime(2026, 3, 2, 9, tzinfo=UTC)
    with pytest.raises(ValueError, match="without offset"):
        parse_instant("2026-03-02T09:00:00")


def test_every_counters_class_logs_the_same_way() -> None:
    assert Counts(read=3, enriched=2, dead_letter=1).line() == (
        "read=3 enriched=2 passed_through=0 dead_letter=1 out_of_order=0 state_evicted=0"
        " repaired=0 evicted_for_memory=0"
    )
    expected = "pages=1 read=4 indexed=0 dead_letter=0 errors=0 foreign=0"
    assert FollowSummary(pages=1, read=4).line() == expected
    summary = Summary(evaluations=2, terminations={"okta": 1})
    assert summary.line() == "evaluations=2 errors=0 alerts_raised=0 alerts_known=0 webhook: okta=1"


def test_a_failing_entry_point_is_a_located_plugin_error() -> None:
    entry = metadata.EntryPoint("acme", "no_such_module_sessionwatch:thing", "sessionwatch.enrichers")
    with pytest.raises(PluginError) as caught:
        plugins.load(entry, "enricher")
    assert str(caught.value.location) == "entry point sessionwatch.enrichers:acme"
    assert "enricher entry point 'acme' (no_such_module_sessionwatch:thing) failed" in caught.value.message
    names = [e.name for e in plugins.entry_points("sessionwatch.enrichers")]
    assert names
    assert names == sorted(set(names))
