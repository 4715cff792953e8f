"""Lifecycle: whether the session was logged out or terminated before this event, and when."""

from __future__ import annotations

from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent, WritesFacts
from sessionwatch.enrichers.rounding import round3
from sessionwatch.enrichers.state import END_ACTIONS


class Lifecycle(WritesFacts):
    """Facts: ``sessionwatch.session.{ended,end_action,since_end_seconds}``.

    The ending event itself reports the state *before* it (not ended); every later event of the
    session reports the first accepted logout or termination. A failed logout ends nothing.
    """

    name = "lifecycle"
    scope = "session"

    def write_facts(self, event: CanonicalEvent, state: dict[str, Any], out: dict[str, Any]) -> None:
        group = out.get("session")
        if group is None:
            group = out["session"] = {}
        end = state.get("end")
        if end is None:
            if event.action in END_ACTIONS and event.outcome != "failure":
                state["end"] = [event.timestamp, event.action]
            group["ended"] = False
            return
        group["ended"] = True
        group["end_action"] = end[1]
        group["since_end_seconds"] = round3(event.timestamp - end[0])
