"""Lifecycle: whether the session was logged out or terminated before this event, and when."""

from __future__ import annotations

from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent
from sessionwatch.enrichers.state import END_ACTIONS


class Lifecycle:
    """Facts: ``sessionwatch.session.{ended,end_action,since_end_seconds}``.

    The ending event itself reports the state *before* it (not ended); every later event of the
    session reports the first accepted logout or termination. A failed logout ends nothing.
    """

    name = "lifecycle"
    scope = "session"

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        end = state.get("end")
        if end is None:
            if event.action in END_ACTIONS and event.accepted:
                state["end"] = [event.timestamp, event.action]
            return {"sessionwatch.session.ended": False}
        return {
            "sessionwatch.session.ended": True,
            "sessionwatch.session.end_action": end[1],
            "sessionwatch.session.since_end_seconds": round(event.timestamp - end[0], 3),
        }
