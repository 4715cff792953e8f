"""Per-session state: bounded, evictable, JSON-serialisable.

Each session's entry is a dict: ``"_"`` holds the engine's own ``[last_ts, ended_ts]`` and every
session-scoped enricher keeps its private dict under its name. Whether a session counts as
expired is decided from its own timestamps only (idle longer than the horizon, or ended longer
ago than the retention), which keeps the result independent of how the stream is partitioned;
only the ``max_sessions`` cap, a memory safeguard, depends on what else a worker holds.

A sweep visits only what it drops. Entries stay in least-recently-used order, so the idle ones
are a prefix; ended sessions are also queued by their last event, so the ones past their
retention (ended, and idle longer than the shorter limit) are a prefix of that queue. (A sweep
that walked every session idle longer than the retention but not yet past the horizon cost
O(open sessions) each time: the cost per event doubled between 100 k and 800 k events.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

END_ACTIONS = frozenset({"logout", "termination"})
STATE_FORMAT = "sessionwatch-enrich-state/1"


@dataclass(frozen=True)
class Limits:
    idle_horizon: float = 7 * 86400.0  # seconds without events before a session's state is dropped
    ended_retention: float = 86400.0  # seconds an ended session is kept (post-logout evidence)
    # open sessions kept at most (least recently used evicted first, counted as
    # ``evicted_for_memory``): 2.3-2.5 KB each, so the default stays under 1 GiB with the process
    # itself (docs/reliability.md)
    max_sessions: int = 300_000
    max_tombstones: int = 1_000_000


@dataclass
class SessionStore:
    limits: Limits = field(default_factory=Limits)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    tombstones: dict[str, float] = field(default_factory=dict)  # evicted id -> its last event time
    ended: dict[str, float] = field(default_factory=dict)  # ended id -> its last event time, LRU
    evicted_idle: int = 0
    evicted_ended: int = 0
    evicted_cap: int = 0

    def open(self, sid: str, ts: float, action: str, accepted: bool) -> tuple[dict[str, Any] | None, bool]:
        """The session's state for an event at ``ts`` (None when the event is late for its
        session), and whether earlier state of this session had been evicted."""
        state = self.sessions.pop(sid, None)
        evicted = False
        if state is not None:
            last, ended = state["_"]
            if ts < last:
                self.sessions[sid] = state
                return None, False
            if ended is not None and action == "login" and accepted:
                state = None  # a new login on an ended session key starts a new session (pid reuse)
            elif ts - last > self.limits.idle_horizon:
                state, evicted = None, True
                self.evicted_idle += 1
            elif ended is not None and ts - ended > self.limits.ended_retention:
                state, evicted = None, True
                self.evicted_ended += 1
        elif self.tombstones:
            evicted = self.tombstones.pop(sid, None) is not None
        if state is None:
            if len(self.sessions) >= self.limits.max_sessions:
                self._evict_oldest()
                self.evicted_cap += 1
            state = {"_": [ts, None]}
        self.sessions[sid] = state
        return state, evicted

    def close(self, sid: str, state: dict[str, Any], ts: float, action: str, accepted: bool) -> None:
        meta = state["_"]
        meta[0] = ts
        if meta[1] is None:
            if action not in END_ACTIONS or not accepted:
                return
            meta[1] = ts
        self.ended.pop(sid, None)  # to the end of the queue, as in ``sessions``
        self.ended[sid] = ts

    def _evict_oldest(self) -> None:
        sid = next(iter(self.sessions))
        self._bury(sid, self.sessions.pop(sid)["_"][0])

    def _bury(self, sid: str, last: float) -> None:
        if len(self.tombstones) >= self.limits.max_tombstones:
            del self.tombstones[next(iter(self.tombstones))]
        self.tombstones[sid] = last

    def sweep(self, now: float) -> None:
        """Drop sessions idle past the horizon, or ended past the retention, as of ``now``."""
        horizon = self.limits.idle_horizon
        idle: list[tuple[str, float]] = []
        for sid, state in self.sessions.items():
            last = state["_"][0]
            if now - last <= horizon:
                break  # LRU order: everything after this was used more recently
            idle.append((sid, last))
        for sid, last in idle:
            del self.sessions[sid]
            self.evicted_idle += 1
            self._bury(sid, last)
        self._sweep_ended(now)

    def _sweep_ended(self, now: float) -> None:
        """Drop the sessions ended past the retention and idle longer than the shorter of the
        two limits (the ended are queued by last event, so those are a prefix of the queue)."""
        limits = self.limits
        floor = min(limits.idle_horizon, limits.ended_retention)
        due: list[str] = []
        for sid, last in self.ended.items():
            if now - last <= floor:
                break
            due.append(sid)
        for sid in due:
            del self.ended[sid]
            state = self.sessions.get(sid)
            if state is None or state["_"][1] is None:
                continue  # evicted already, or a new session under this id
            last, ended = state["_"]
            if now - ended <= limits.ended_retention:  # (a guard: ended <= last makes it due)
                self.ended[sid] = last
                continue
            del self.sessions[sid]
            self.evicted_ended += 1
            self._bury(sid, last)

    def to_json(self) -> dict[str, Any]:
        return {"sessions": self.sessions, "tombstones": self.tombstones}

    def load(self, data: dict[str, Any]) -> None:
        sessions = sorted(data.get("sessions", {}).items(), key=lambda item: item[1]["_"][0])
        self.sessions.update(sessions)
        self.ended.update((sid, state["_"][0]) for sid, state in sessions if state["_"][1] is not None)
        self.tombstones.update(data.get("tombstones", {}))
