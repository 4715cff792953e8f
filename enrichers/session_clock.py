"""Session clock: start, age, idle gap and re-authentication of each session."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent

AUTH_ACTIONS = frozenset({"login", "reauth"})


def isoformat(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SessionClock:
    """Facts: ``sessionwatch.session.{start,start_observed,sequence,age_seconds,idle_seconds,reauth}``.

    The idle gap is measured from the previous *accepted* event: rejected requests do not keep
    a session alive. A successful login or reauth marks ``reauth`` and restarts the idle clock.
    """

    name = "session_clock"

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        ts = event.timestamp
        if "last" in state and ts < state["last"]:
            return {"sessionwatch.quality.out_of_order": True}
        state["last"] = ts
        reauth = event.action in AUTH_ACTIONS and event.accepted
        if "start" not in state:
            state["start"] = ts
            state["observed"] = event.action == "login" and event.accepted
        state["seq"] = state.get("seq", 0) + 1
        previous = state.get("accepted")
        if event.accepted:
            state["accepted"] = ts
        return {
            "sessionwatch.session.start": isoformat(state["start"]),
            "sessionwatch.session.start_observed": state["observed"],
            "sessionwatch.session.sequence": state["seq"],
            "sessionwatch.session.age_seconds": round(ts - state["start"], 3),
            "sessionwatch.session.idle_seconds": None if previous is None else round(ts - previous, 3),
            "sessionwatch.session.reauth": reauth,
        }
