"""Emits acts through the vendors' layouts, keeps sessions' state, and records labels."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from bench.scenarios.model import Act, Device, Event, Label, Limits, Token, User, iso
from bench.scenarios.vendors import base
from bench.scenarios.vendors.base import Vendor


@dataclass
class Sess:
    """A session (or, for Vault, a token) as the generator drives it."""

    vendor: Vendor
    user: User
    sid: str | None
    device: Device | None
    ip: str
    start: float
    last: float
    token: Token | None = None
    ended: bool = False
    login_eid: str = ""


class Builder:
    def __init__(self, rng: random.Random, limits: Limits, clients: list[str]) -> None:
        self.rng = rng
        self.limits = limits
        self.clients = clients
        self._lines: list[tuple[float, int, Event]] = []
        self._count = 0
        self.labels: list[Label] = []
        self.refresh_log: set[str] = set()  # ids of every token refresh event
        self._written: dict[str, list[float]] = {}  # event id -> time of each line written

    # ----------------------------------------------------------------- low level
    def new_id(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}-{self._count:07d}"

    def emit(self, vendor: Vendor, act: Act, *, delivered_after: float = 0.0) -> str:
        """Render ``act``; ``delivered_after`` > 0 writes it that many seconds late in the file."""
        act.eid = self.new_id("sc")
        for doc in vendor.render(act):
            stamp = datetime.fromisoformat(doc["@timestamp"].replace("Z", "+00:00")).timestamp()
            self._written.setdefault(act.eid, []).append(stamp)
            self._count += 1
            self._lines.append((act.t + delivered_after, self._count, doc))
        return act.eid

    def events(self) -> list[Event]:
        """Every line in delivery order (the order a shipper would write them)."""
        return [doc for _, _, doc in sorted(self._lines, key=lambda line: (line[0], line[1]))]

    def label(
        self,
        kind: str,
        truth: str,
        sess_or_vendor: Sess | Vendor,
        description: str,
        spans: list[tuple[str, float]],
        *,
        account: User | None = None,
        needs: tuple[str, ...] = (),
    ) -> None:
        """Record one violation or near miss; ``spans`` are (event id, time) of the offending events."""
        user: User | None
        if isinstance(sess_or_vendor, Sess):
            vendor, sid, user = sess_or_vendor.vendor, sess_or_vendor.sid, sess_or_vendor.user
        else:
            vendor, sid, user = sess_or_vendor, None, account
        assert user is not None, "a label names a session or an account"
        stamps = [iso(stamp) for eid, _ in spans for stamp in self._written[eid]]
        self.labels.append(
            Label(
                label_id=f"{truth[:2]}-{len(self.labels) + 1:03d}",
                kind=kind,
                truth=truth,
                vendor=vendor.name,
                description=description,
                event_ids=[eid for eid, _ in spans],
                start=min(stamps),
                end=max(stamps),
                session=sid if account is None else None,
                account=vendor.account(account or user),
                needs=list(needs),
            )
        )

    # ----------------------------------------------------------------- session verbs
    def start(
        self, vendor: Vendor, user: User, t: float, device: Device | None, ip: str, *, ttl: float = 3600
    ) -> Sess:
        sid = None
        token = None
        if base.SESSION in vendor.caps:
            sid = self.session_id(vendor)
        if vendor.name == "hashicorp_vault":
            token = Token(self.new_id("hmac-sha256:acc"), t, ttl, grant="oidc")
            sid = token.token_id
        elif base.TOKEN_EXPIRY in vendor.caps or base.TOKEN_REFRESH in vendor.caps:
            token = Token(self.new_id("tok"), t, ttl, client=self.rng.choice(self.clients))
        sess = Sess(vendor, user, sid, device, ip, t, t, token)
        login = Act("login", t, user, sid, ip, device, token=token, extra={"session_start": t})
        sess.login_eid = self.emit(vendor, login)
        if vendor.name == "system_auth":
            self.emit(vendor, Act("activity", t + 0.2, user, sid, ip, device))
        return sess

    def session_id(self, vendor: Vendor) -> str:
        raw = self.new_id("s")
        return {
            "okta": "102" + raw.replace("-", ""),
            "entra": f"{self.rng.getrandbits(128):032x}",
            "salesforce": "LK" + raw.replace("-", ""),
            "teleport": f"{self.rng.getrandbits(64):016x}-sess",
        }.get(vendor.name, raw)

    def act(self, s: Sess, action: str, t: float, **fields: object) -> str:
        ip = fields.pop("ip", s.ip)
        device = fields.pop("device", s.device)
        act = Act(action, t, s.user, s.sid, str(ip), device, token=s.token, **fields)  # type: ignore[arg-type]
        delivered_after = float(act.extra.pop("delivered_after", 0.0))
        act.extra["session_start"] = s.start
        eid = self.emit(s.vendor, act, delivered_after=delivered_after)
        # ends are not use; Auth0 writes token exchanges without the session id (not seen on it)
        if action not in ("logout", "termination", "upload") and not (
            action == "token_refresh" and s.vendor.name == "auth0"
        ):
            s.last = max(s.last, t)
        return eid

    def reauth(self, s: Sess, t: float) -> str:
        """Re-authentication; an application with tokens issues a fresh one with it."""
        if s.token is not None and s.vendor.name != "hashicorp_vault":
            s.token = Token(
                self.new_id("tok"), t, s.token.ttl, client=s.token.client, grant="authorization_code"
            )
        return self.act(s, "reauth", t)

    def use(self, s: Sess, t: float, **fields: object) -> str:
        return self.act(s, "activity", t, **fields)

    def refresh(self, s: Sess, t: float, *, grant: str = "refresh_token", client: str | None = None) -> str:
        """A new access token through the refresh flow; later uses carry it."""
        assert s.token is not None
        s.token = Token(self.new_id("tok"), t, s.token.ttl, client=client or s.token.client, grant=grant)
        eid = self.act(s, "token_refresh", t)
        self.refresh_log.add(eid)
        return eid

    def end(self, s: Sess, t: float, *, how: str = "logout") -> str:
        s.ended = True
        eid = self.act(s, how, t)
        if base.UPLOAD_AFTER_END in s.vendor.caps:
            self.act(s, "upload", t + self.rng.uniform(45, 150))
        return eid
