"""Session clock: start, age, idle gap and (re-)authentication of each session."""

from __future__ import annotations

from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent, WritesFacts
from sessionwatch.enrichers.rounding import round3
from sessionwatch.enrichers.timefmt import isoformat

AUTH_ACTIONS = frozenset({"login", "reauth"})

__all__ = ["AUTH_ACTIONS", "SessionClock", "isoformat"]


class SessionClock(WritesFacts):
    """Facts: ``sessionwatch.session.{start,start_observed,sequence,age_seconds,idle_seconds,
    reauth,since_auth_seconds}``.

    The idle gap is measured from the previous *accepted* event: rejected requests do not keep
    a session alive. A successful login or reauth marks ``reauth`` and restarts the idle clock.
    """

    name = "session_clock"
    scope = "session"

    def write_facts(self, event: CanonicalEvent, state: dict[str, Any], out: dict[str, Any]) -> None:
        ts = event.timestamp
        accepted = event.outcome != "failure"
        auth = accepted and event.action in AUTH_ACTIONS
        if "start" not in state:
            state["start"] = ts
            state["start_iso"] = isoformat(ts)
            state["observed"] = accepted and event.action == "login"
            state["seq"] = 0
        sequence = state["seq"] = state["seq"] + 1
        previous = state.get("accepted")
        if accepted:
            state["accepted"] = ts
        if auth:
            state["auth"] = ts
        last_auth = state.get("auth")
        group = out.get("session")
        if group is None:
            group = out["session"] = {}
        group["start"] = state["start_iso"]
        group["start_observed"] = state["observed"]
        group["sequence"] = sequence
        group["age_seconds"] = round3(ts - state["start"])
        if previous is not None:
            group["idle_seconds"] = round3(ts - previous)
        group["reauth"] = auth
        if last_auth is not None:
            group["since_auth_seconds"] = round3(ts - last_auth)
