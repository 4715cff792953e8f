"""Session clock: start, age, idle gap and (re-)authentication of each session."""

from __future__ import annotations

from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent
from sessionwatch.enrichers.timefmt import isoformat

AUTH_ACTIONS = frozenset({"login", "reauth"})

__all__ = ["AUTH_ACTIONS", "SessionClock", "isoformat"]


class SessionClock:
    """Facts: ``sessionwatch.session.{start,start_observed,sequence,age_seconds,idle_seconds,
    reauth,since_auth_seconds}``.

    The idle gap is measured from the previous *accepted* event: rejected requests do not keep
    a session alive. A successful login or reauth marks ``reauth`` and restarts the idle clock.
    """

    name = "session_clock"
    scope = "session"

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        ts = event.timestamp
        accepted = event.accepted
        auth = accepted and event.action in AUTH_ACTIONS
        if "start" not in state:
            state["start"] = ts
            state["start_iso"] = isoformat(ts)
            state["observed"] = accepted and event.action == "login"
            state["seq"] = 0
        state["seq"] += 1
        previous = state.get("accepted")
        if accepted:
            state["accepted"] = ts
        if auth:
            state["auth"] = ts
        last_auth = state.get("auth")
        return {
            "sessionwatch.session.start": state["start_iso"],
            "sessionwatch.session.start_observed": state["observed"],
            "sessionwatch.session.sequence": state["seq"],
            "sessionwatch.session.age_seconds": round(ts - state["start"], 3),
            "sessionwatch.session.idle_seconds": None if previous is None else round(ts - previous, 3),
            "sessionwatch.session.reauth": auth,
            "sessionwatch.session.since_auth_seconds": None
            if last_auth is None
            else round(ts - last_auth, 3),
        }
