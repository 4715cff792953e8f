from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.enrichers import events_mapping
from sessionwatch.renderer import Window, render, render_query
from sessionwatch.rules import RenderError, load_rule_file

WINDOW = Window("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z")


def test_idle_query_is_scriptless_and_uses_the_threshold(idle_rule_path: Path) -> None:
    body = render_query(load_rule_file(idle_rule_path), WINDOW)
    filters = body["query"]["bool"]["filter"]
    assert filters[0] == {"range": {"@timestamp": {"gte": WINDOW.start, "lt": WINDOW.end}}}
    assert {"range": {"sessionwatch.session.idle_seconds": {"gt": 900}}} in filters
    assert {"term": {"sessionwatch.session.reauth": False}} in filters
    assert "script" not in json.dumps(body)


def test_default_window_is_the_trailing_lookback(idle_rule_path: Path) -> None:
    body = render(load_rule_file(idle_rule_path), "query")
    assert body["query"]["bool"]["filter"][0]["range"]["@timestamp"] == {"gte": "now-1h", "lt": "now"}


HOSTILE = [
    '"},"query":{"match_all":{}}',
    "{{ 7 * 7 }}",
    "{% raw %}",
    "back\\slash \"quote' \u0000 \u2028 😀",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_scope_values_stay_values(
    value: str, tmp_path: Path, idle_rule_data: dict[str, Any], write_rule: Any
) -> None:
    idle_rule_data["scope"]["filters"] = [{"field": "event.dataset", "any_of": [value]}]
    rule = load_rule_file(write_rule(tmp_path, idle_rule_data))
    body = render_query(rule, WINDOW)
    filters = body["query"]["bool"]["filter"]
    assert filters[1] == {"terms": {"event.dataset": [value]}}
    assert len(filters) == 7  # window, scope, session, accepted, reauth, not ending, idle
    assert set(body) == {"size", "track_total_hits", "sort", "query"}


def test_unknown_target_is_an_error(idle_rule_path: Path) -> None:
    with pytest.raises(RenderError, match="unknown target 'nope'"):
        render(load_rule_file(idle_rule_path), "nope")


def test_mapping_types() -> None:
    props = events_mapping()["properties"]
    session = props["sessionwatch"]["properties"]["session"]["properties"]
    assert props["@timestamp"] == {"type": "date"}
    assert props["source"]["properties"]["ip"] == {"type": "ip"}
    assert session["id"]["type"] == "keyword"
    assert session["idle_seconds"] == {"type": "double"}
    assert session["reauth"] == {"type": "boolean"}
