"""Token clock: token lifetime, time past expiry, and revocation — by token id and by session."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent
from sessionwatch.enrichers.rounding import round3
from sessionwatch.enrichers.timefmt import isoformat

MAX_TOKENS = 2_000_000
MAX_SESSIONS = 1_000_000


class TokenClock:
    """Facts: ``sessionwatch.token.{lifetime_seconds,past_expiry_seconds,revoked,
    since_revocation_seconds}``, plus ``issued_at`` / ``expires_at`` remembered from an earlier
    event of the same token when this one does not carry them.

    Stream-scoped, because a token outlives and crosses sessions. State: ``tokens`` maps a token
    id to ``[issued_at, expires_at, revoked_at]``; ``sessions`` maps a session id to the time a
    ``token_revoke`` without a token id revoked it. A ``token_revoke`` names its target in the
    profile's ``revoke_target`` field (Vault ``revoke-accessor``), else revokes its own token,
    else its session. The revoking event reports the state before it.
    """

    name = "token_clock"
    scope = "stream"
    reads = (
        "timestamp",
        "token_id",
        "token_issued_at",
        "token_expires_at",
        "session_id",
        "action",
        "outcome",
        "revoke_target",
    )

    def __init__(self) -> None:
        self.horizon = 7 * 86400.0
        self._swept = float("-inf")

    def configure(self, options: Mapping[str, Any]) -> None:
        self.horizon = float(options.get("idle_horizon", self.horizon))

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        tokens: dict[str, list[Any]] | None = state.get("tokens")
        if tokens is None:  # (not ``setdefault``: that builds two dicts per event)
            tokens = state["tokens"] = {}
        sessions: dict[str, float] | None = state.get("sessions")
        if sessions is None:
            sessions = state["sessions"] = {}
        ts, tid = event.timestamp, event.token_id
        issued, expires = event.token_issued_at, event.token_expires_at
        out: dict[str, Any] = {}
        record = tokens.get(tid) if tid is not None else None
        if record is not None:
            if issued is None and record[0] is not None:
                issued = record[0]
                out["sessionwatch.token.issued_at"] = isoformat(issued)
            if expires is None and record[1] is not None:
                expires = record[1]
                out["sessionwatch.token.expires_at"] = isoformat(expires)
        if issued is not None and expires is not None:
            out["sessionwatch.token.lifetime_seconds"] = round3(expires - issued)
        if expires is not None:
            out["sessionwatch.token.past_expiry_seconds"] = round3(ts - expires)
        revoked_at = record[2] if record is not None else None
        by_session = sessions.get(event.session_id) if event.session_id is not None else None
        if by_session is not None and (revoked_at is None or by_session < revoked_at):
            revoked_at = by_session
        if tid is not None or event.session_id is not None:
            revoked = revoked_at is not None and revoked_at <= ts
            out["sessionwatch.token.revoked"] = revoked
            if revoked and revoked_at is not None:
                out["sessionwatch.token.since_revocation_seconds"] = round3(ts - revoked_at)
        self._remember(tokens, tid, event.token_issued_at, event.token_expires_at)
        if event.action == "token_revoke" and event.outcome != "failure":
            self._revoke(tokens, sessions, event)
        return out

    @staticmethod
    def _remember(
        tokens: dict[str, list[Any]], tid: str | None, issued: float | None, exp: float | None
    ) -> None:
        if tid is None or (issued is None and exp is None):
            return
        record = tokens.get(tid)
        if record is None:
            if len(tokens) >= MAX_TOKENS:
                del tokens[next(iter(tokens))]
            tokens[tid] = [issued, exp, None]
            return
        if issued is not None:
            record[0] = issued
        if exp is not None:
            record[1] = exp  # a renewal moves the expiry

    @staticmethod
    def _revoke(tokens: dict[str, list[Any]], sessions: dict[str, float], event: CanonicalEvent) -> None:
        target = event.revoke_target or event.token_id
        ts = event.timestamp
        if target is not None:
            record = tokens.get(target)
            if record is None:
                if len(tokens) >= MAX_TOKENS:
                    del tokens[next(iter(tokens))]
                record = tokens[target] = [None, None, None]
            if record[2] is None or ts < record[2]:
                record[2] = ts
        elif event.session_id is not None:
            if len(sessions) >= MAX_SESSIONS:
                del sessions[next(iter(sessions))]
            sessions.setdefault(event.session_id, ts)

    def sweep(self, state: dict[str, Any], now: float) -> None:
        """Forget tokens expired or revoked longer than the horizon ago."""
        if now - self._swept < self.horizon / 100:
            return  # a full pass costs O(tokens): at most a hundred per horizon
        self._swept = now
        cutoff = now - self.horizon
        tokens: dict[str, list[Any]] = state.get("tokens", {})
        for tid in [t for t, (_, exp, rev) in tokens.items() if max(exp or now, rev or now) < cutoff]:
            del tokens[tid]
        sessions: dict[str, float] = state.get("sessions", {})
        for sid in [s for s, rev in sessions.items() if rev < cutoff]:
            del sessions[sid]
