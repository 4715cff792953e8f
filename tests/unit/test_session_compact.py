"""Compacting the session store copies each state into new objects and changes nothing else:
the same values and types, the same order, the same output of every later event."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

from sessionwatch.enrichers import Engine, EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers import state as state_module
from sessionwatch.enrichers.state import SessionStore, fresh_copy
from tests.unit.test_enrich_reference import corpus


def _same(a: Any, b: Any) -> bool:
    """Equal, with the same types all the way down, float signs and NaN included."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return bool(a == b)


@pytest.mark.parametrize(
    "state",
    [
        {"_": [1772409600.123, None], "session_clock": {"start": 1772409600.123, "seq": 3, "observed": True}},
        {"ip_binding": {"first": "10.0.0.1", "seen": ["10.0.0.1", "10.0.0.2"]}, "x": {"z": -0.0, "a": 0.0}},
        {"plugin": {"nan": math.nan, "inf": -math.inf, "big": 2**70, "tuple": (1, 2.5), "bad": "\ud800"}},
        {"plugin": {1: "int key"}},
    ],
)
def test_a_fresh_copy_is_the_same_state_in_new_objects(state: dict[str, Any]) -> None:
    copied = fresh_copy(state)
    assert _same(copied, state)
    assert copied is not state
    for name, own in state.items():
        assert copied[name] is not own  # containers are new
    first = state.get("_")
    if first is not None:
        assert copied["_"][0] is not first[0]  # and so are floats


def _outputs(compact_every: int) -> list[str]:
    options = EngineOptions(reorder_window=20.0)
    engine = Engine(ProfileRegistry.discover(), discover_enrichers(), options=options)
    written = []
    lines = corpus()
    for start in range(0, len(lines), 50):
        for out in engine.process(lines[start : start + 50], first_line=start + 1):
            written.append(out.text() if out.dead is None else f"dead {out.dead.reason}")
        if compact_every and start % compact_every == 0:
            engine.back.store.compact()
    written.append(repr(engine.state()))
    return written


def test_compacting_between_events_changes_no_output_and_no_saved_state() -> None:
    assert _outputs(compact_every=100) == _outputs(compact_every=0)


def test_the_sweep_compacts_every_so_often(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = itertools.count()
    monkeypatch.setattr(SessionStore, "compact", lambda self: next(calls))
    monkeypatch.setattr(state_module, "COMPACT_SWEEPS", 3)
    store = SessionStore()
    for now in range(7):
        store.sweep(float(now))
    assert next(calls) == 2  # after the third and the sixth sweep
