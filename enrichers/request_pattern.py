"""Request pattern: how many requests the session made in the last minute, first use of a path."""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent, WritesFacts

WINDOW_SECONDS = 60.0
MAX_TIMES = 10_000  # ``requests_last_minute`` saturates here
MAX_PATHS = 1_000  # beyond this many distinct paths, first use is no longer reported


class RequestPattern(WritesFacts):
    """Facts: ``sessionwatch.session.requests_last_minute`` (events of the session in the 60 s
    up to and including this one, rejected ones too) and ``sessionwatch.session.path_first_use``
    (only for events with a ``url.path``)."""

    name = "request_pattern"
    scope = "session"

    def write_facts(self, event: CanonicalEvent, state: dict[str, Any], out: dict[str, Any]) -> None:
        ts = event.timestamp
        times: list[float] | None = state.get("t")
        if times is None:
            times = state["t"] = []
        cut = bisect_right(times, ts - WINDOW_SECONDS)
        if cut:
            del times[:cut]
        if len(times) >= MAX_TIMES:
            del times[0]
        times.append(ts)
        group = out.get("session")
        if group is None:
            group = out["session"] = {}
        group["requests_last_minute"] = len(times)
        path = event.url_path
        if path is not None:
            paths: dict[str, int] | None = state.get("p")
            if paths is None:
                paths = state["p"] = {}
            if path in paths:
                group["path_first_use"] = False
            elif len(paths) < MAX_PATHS:
                paths[path] = 1
                group["path_first_use"] = True
