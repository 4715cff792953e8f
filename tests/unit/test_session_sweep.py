"""The session store's sweep: the same sessions dropped as a full scan would drop, at each boundary.

The sweep visits only what it drops (the idle prefix of the LRU order, the due prefix of the
ended queue); the reference here scans every session with the rule the store documents.
Generated streams step over the horizon and the retention by exactly the limit, one second
less and one second more, so every near miss is tried.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sessionwatch.enrichers.state import Limits, SessionStore

Step = tuple[str, float, str, bool]  # session id, seconds since the previous event, action, accepted


def _full_scan(store: SessionStore, now: float) -> None:
    """Every session idle past the horizon, or ended past the retention and idle longer than
    the shorter limit, dropped (counted as the store counts them)."""
    limits = store.limits
    floor = min(limits.idle_horizon, limits.ended_retention)
    for sid in list(store.sessions):
        last, ended = store.sessions[sid]["_"]
        if now - last > limits.idle_horizon:
            store.evicted_idle += 1
        elif ended is not None and now - ended > limits.ended_retention and now - last > floor:
            store.evicted_ended += 1
        else:
            continue
        del store.sessions[sid]
        store._bury(sid, last)


def _replay(store: SessionStore, steps: list[Step], sweep_every: int, scan: bool) -> list[Any]:
    """Feed ``steps`` to ``store``, sweeping every ``sweep_every`` events; what each event saw."""
    seen: list[Any] = []
    now = 1_000.0
    for number, (sid, gap, action, accepted) in enumerate(steps, start=1):
        now += gap
        state, evicted = store.open(sid, now, action, accepted)
        seen.append((sid, evicted, None if state is None else dict(state.get("n", {}))))
        if state is not None:
            state.setdefault("n", {})["events"] = state.get("n", {}).get("events", 0) + 1
            store.close(sid, state, now, action, accepted)
        if number % sweep_every == 0:
            _full_scan(store, now) if scan else store.sweep(now)
    return seen


HORIZON, RETENTION = 100.0, 30.0
_GAPS = st.sampled_from([0.0, 1.0, 5.0, 29.0, 30.0, 31.0, 99.0, 100.0, 101.0])
_STEPS = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d", "e"]),
        _GAPS,
        st.sampled_from(["login", "view", "view", "logout", "termination"]),
        st.booleans(),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(steps=_STEPS, sweep_every=st.integers(1, 7), longer_retention=st.booleans())
def test_the_sweep_drops_what_a_full_scan_drops(
    steps: list[Step], sweep_every: int, longer_retention: bool
) -> None:
    limits = (
        Limits(idle_horizon=RETENTION, ended_retention=HORIZON)
        if longer_retention
        else Limits(idle_horizon=HORIZON, ended_retention=RETENTION)
    )
    swept, scanned = SessionStore(limits), SessionStore(limits)
    assert _replay(swept, steps, sweep_every, scan=False) == _replay(scanned, steps, sweep_every, scan=True)
    assert list(swept.sessions) == list(scanned.sessions)
    assert swept.tombstones == scanned.tombstones
    assert (swept.evicted_idle, swept.evicted_ended) == (scanned.evicted_idle, scanned.evicted_ended)


def test_a_session_used_after_its_end_stays_until_it_falls_idle() -> None:
    store = SessionStore(Limits(idle_horizon=100.0, ended_retention=30.0))
    for ts, action in ((0.0, "login"), (10.0, "logout"), (25.0, "view"), (38.0, "view")):
        state, _ = store.open("s", ts, action, True)  # activity after the logout: what rules look for
        assert state is not None
        store.close("s", state, ts, action, True)
    store.sweep(45.0)  # ended 35 s ago, but its last event is 7 s old: kept
    assert "s" in store.sessions
    assert list(store.ended) == ["s"]
    store.sweep(69.0)  # and now 31 s idle: dropped as ended
    assert "s" not in store.sessions
    assert not store.ended
    assert (store.evicted_ended, store.tombstones) == (1, {"s": 38.0})


def test_a_new_session_under_an_ended_id_is_not_dropped_for_the_old_end() -> None:
    store = SessionStore(Limits(idle_horizon=100.0, ended_retention=30.0))
    for ts, action in ((0.0, "login"), (5.0, "logout"), (50.0, "login")):  # pid reuse at 50
        state, _ = store.open("s", ts, action, True)
        assert state is not None
        store.close("s", state, ts, action, True)
    store.sweep(60.0)  # the old end (5) is past the retention; the new session is not ended
    assert store.sessions["s"]["_"] == [50.0, None]
    assert not store.ended
    assert store.evicted_ended == 0


def test_loaded_state_queues_its_ended_sessions_by_end_time() -> None:
    store = SessionStore(Limits(idle_horizon=100.0, ended_retention=30.0))
    store.load({"sessions": {"x": {"_": [40.0, 20.0]}, "y": {"_": [35.0, 10.0]}, "z": {"_": [45.0, None]}}})
    assert list(store.ended) == ["y", "x"]  # by last event
    store.sweep(66.0)  # y ended 56 s ago and idle 31 s; x ended 46 s ago but idle only 26 s
    assert sorted(store.sessions) == ["x", "z"]
