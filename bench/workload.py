# ruff: noqa: S311 - seeded pseudo-random numbers on purpose: workloads must be reproducible
"""Deterministic, seeded workloads for the benchmarks: raw ECS events as their sources log them.

The stream is realistic on purpose (the enricher's cost depends on it):

* sessions arrive as a Poisson process whose rate follows the working day (night-time traffic
  is about a fifth of the afternoon peak);
* users are Zipf-distributed (a few users own most sessions), at most two open sessions each;
* a session is a login (and, for token-based sources, a token issue), a lognormal number of
  requests separated by lognormal think times with occasional pauses of minutes, token
  refreshes through the allowed flow before expiry, and an end: logout, server-side termination
  after ten idle minutes, or nothing (the browser tab was closed);
* five source layouts, as the Elastic integrations write them: a custom application (generic),
  Okta system log, Auth0, HashiCorp Vault audit and Teleport audit;
* one session in ``violation_every`` carries an injected violation, cycling through all twelve
  rule kinds; ``Manifest`` records each one (kind, session, user, offending event).

Normal traffic stays inside the strictest shipped policy (idle < 15 min, lifetime < 12 h, token
TTL 1 h refreshed in time, at most two sessions per user, < 60 requests a minute), so alerts in
the detection benchmark should be the injected violations.

Standard library only, so the unit tests can load this file without the benchmark harness.
Run ``python -m bench.workload --events N -o FILE`` to write a workload.
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import itertools
import json
import math
import random
import sys
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

KINDS = (
    "session_max_lifetime",
    "session_idle_timeout",
    "session_post_logout",
    "token_revoked_use",
    "token_expired_use",
    "token_lifetime_policy",
    "token_renewal_outside_workflow",
    "account_inactive_use",
    "session_ip_binding",
    "session_device_binding",
    "session_request_pattern",
    "session_concurrency",
)
TOKEN_KINDS = frozenset(k for k in KINDS if k.startswith("token_"))
LAYOUTS = ("generic", "okta", "auth0", "vault", "teleport")
LAYOUT_WEIGHTS = (0.35, 0.25, 0.12, 0.13, 0.15)
TOKEN_LAYOUTS = ("generic", "vault")  # sources whose logs carry token ids, issue time and TTL
# What each source can express (and its profile reads); violations go only where they can.
CAPABLE: dict[str, tuple[str, ...]] = {
    "session_max_lifetime": ("generic", "okta", "teleport"),
    "session_idle_timeout": ("generic", "okta", "teleport"),
    "session_post_logout": ("generic", "okta", "teleport"),
    "token_revoked_use": TOKEN_LAYOUTS,
    "token_expired_use": TOKEN_LAYOUTS,
    "token_lifetime_policy": TOKEN_LAYOUTS,
    "token_renewal_outside_workflow": ("generic",),
    "account_inactive_use": ("generic",),
    "session_ip_binding": ("generic", "okta", "auth0", "vault", "teleport"),
    "session_device_binding": ("generic", "okta"),
    "session_request_pattern": ("generic", "vault"),
    "session_concurrency": ("generic", "okta", "auth0", "teleport"),
}

EPOCH = datetime(2026, 3, 2, tzinfo=UTC).timestamp()  # a Monday, 00:00 UTC
TOKEN_TTL = 3600.0
SERVER_IDLE_TIMEOUT = 600.0
ALLOWED_CLIENT = "portal-web"  # the client the shipped organisation policy allows
PATHS = ("/", "/inbox", "/search", "/reports", "/settings", "/api/items", "/api/orders", "/profile")
AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
)


@dataclass(frozen=True)
class Injected:
    kind: str
    session: str
    user: str
    layout: str
    event_id: str  # the first event that must raise the alert


@dataclass
class Manifest:
    injected: list[Injected] = field(default_factory=list)
    events: int = 0
    sessions: int = 0
    by_layout: dict[str, int] = field(default_factory=dict)

    def kinds(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for item in self.injected:
            counts[item.kind] += 1
        return counts


@dataclass
class Event:
    """One event before a source layout renders it."""

    ts: float
    action: str  # the canonical action the source's profile should map it to
    session: str | None
    user: str
    ip: str
    device: str
    agent: str
    outcome: str = "success"
    path: str | None = None
    token: str | None = None
    token_iat: float | None = None
    token_exp: float | None = None
    client: str | None = None
    grant: str | None = None
    target: str | None = None  # the account an account_disable event acts on
    marks: str | None = None  # the violation this event is the first evidence of


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- source layouts ------------------------------------------------------------------------

_OKTA = {
    "login": "user.session.start",
    "reauth": "user.authentication.auth_via_mfa",
    "activity": "policy.evaluate_sign_on",
    "logout": "user.session.end",
    "termination": "user.session.expire",
    "account_disable": "user.lifecycle.suspend",
}
_AUTH0 = {
    "login": ("s", "success-login"),
    "reauth": ("s", "success-login"),
    "activity": ("ssa", "success-silent-auth"),
    "logout": ("slo", "success-logout"),
    "termination": ("slo", "success-logout"),
}
_TELEPORT = {
    "login": "session.start",
    "reauth": "session.join",
    "activity": "session.data",
    "logout": "session.end",
    "termination": "session.end",
    "account_disable": "user.update",
}


def _generic(ev: Event, eid: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@timestamp": iso(ev.ts),
        "event": {
            "id": eid,
            "dataset": "generic.webapp",
            "action": {
                "login": "login",
                "reauth": "reauth",
                "activity": "request",
                "logout": "logout",
                "termination": "session_expired",
                "token_issue": "token_issued",
                "token_refresh": "token_refreshed",
                "token_revoke": "token_revoked",
                "account_disable": "account_disabled",
            }[ev.action],
            "outcome": ev.outcome,
        },
        "user": {"name": ev.user},
        "source": {"ip": ev.ip},
        "device": {"id": ev.device},
        "user_agent": {"original": ev.agent},
        "service": {"name": "webapp"},
    }
    if ev.session is not None:
        doc["session"] = {"id": ev.session}
    if ev.path is not None:
        doc["url"] = {"path": ev.path}
        doc["http"] = {"request": {"method": "GET"}, "response": {"status_code": 200}}
    if ev.token is not None:
        token: dict[str, Any] = {"id": ev.token}
        if ev.token_iat is not None and ev.token_exp is not None:
            token["issued_at"] = iso(ev.token_iat)
            token["expires_at"] = iso(ev.token_exp)
        if ev.client is not None:
            token["client_id"] = ev.client
        if ev.grant is not None:
            token["grant_type"] = ev.grant
        doc["token"] = token
    if ev.target is not None:
        doc["user"]["target"] = {"name": ev.target}
    return doc


def _okta(ev: Event, eid: str) -> dict[str, Any]:
    event_type = _OKTA[ev.action]
    doc: dict[str, Any] = {
        "@timestamp": iso(ev.ts),
        "event": {
            "id": eid,
            "dataset": "okta.system",
            "action": event_type,
            "outcome": ev.outcome,
            "category": ["authentication", "session"],
        },
        "user": {"name": ev.user},
        "source": {"ip": ev.ip},
        "client": {"ip": ev.ip, "user": {"id": ev.user}},
        "user_agent": {"original": ev.agent},
        "okta": {
            "uuid": eid,
            "event_type": event_type,
            "outcome": {"result": "SUCCESS" if ev.outcome == "success" else "FAILURE"},
            "actor": {"alternate_id": ev.user, "type": "User"},
            "client": {"ip": ev.ip, "device": "Computer", "user_agent": {"raw_user_agent": ev.agent}},
            "debug_context": {"debug_data": {"device_fingerprint": ev.device}},
        },
    }
    if ev.path is not None:
        doc["okta"]["debug_context"]["debug_data"]["request_uri"] = ev.path
    if ev.session is not None:
        doc["okta"]["authentication_context"] = {"external_session_id": ev.session}
    if ev.target is not None:
        doc["okta"]["target"] = [{"alternate_id": ev.target, "type": "User"}]
        doc["user"]["target"] = {"name": ev.target}
    return doc


def _auth0(ev: Event, eid: str) -> dict[str, Any]:
    code, action = _AUTH0[ev.action]
    data: dict[str, Any] = {
        "type": code,
        "date": iso(ev.ts),
        "ip": ev.ip,
        "user_name": ev.user,
        "user_agent": ev.agent,
        "client_id": ev.client or ALLOWED_CLIENT,
        "log_id": eid,
        "details": {},
    }
    if ev.session is not None:
        data["details"]["session_id"] = ev.session
    return {
        "@timestamp": iso(ev.ts),
        "event": {"id": eid, "dataset": "auth0.logs", "action": action, "outcome": ev.outcome},
        "user": {"name": ev.user},
        "source": {"ip": ev.ip},
        "user_agent": {"original": ev.agent},
        "auth0": {"logs": {"data": data}},
    }


def _vault(ev: Event, eid: str) -> dict[str, Any]:
    path, operation = {
        "login": ("auth/userpass/login/" + ev.user, "update"),
        "reauth": ("auth/userpass/login/" + ev.user, "update"),
        "activity": (f"secret/data{ev.path or '/app'}", "read"),
        "logout": ("auth/token/revoke-self", "update"),  # Vault has no logout: the token goes
        "termination": ("auth/token/revoke-self", "update"),
        "token_issue": ("auth/token/create", "update"),
        "token_refresh": ("auth/token/renew-self", "update"),
        "token_revoke": ("auth/token/revoke-self", "update"),
    }[ev.action]
    auth: dict[str, Any] = {"display_name": f"userpass-{ev.user}", "client_token": "hmac-sha256:" + eid[-16:]}
    if ev.session is not None:
        auth["accessor"] = ev.session
    if ev.token_iat is not None and ev.token_exp is not None:
        # renewals carry the renewal time, so issue time + TTL is the current expiry
        auth["token_issue_time"] = iso(ev.token_iat)
        auth["token_ttl"] = int(ev.token_exp - ev.token_iat)
    return {
        "@timestamp": iso(ev.ts),
        "event": {"id": eid, "dataset": "hashicorp_vault.audit", "action": operation, "outcome": ev.outcome},
        "user": {"id": ev.user, "name": ev.user},
        "source": {"ip": ev.ip},
        "hashicorp_vault": {
            "audit": {
                "type": "response",
                "auth": auth,
                "request": {"id": eid, "operation": operation, "path": path, "remote_address": ev.ip},
            }
        },
    }


def _teleport(ev: Event, eid: str) -> dict[str, Any]:
    action = _TELEPORT[ev.action]
    audit: dict[str, Any] = {"event": action, "uid": eid, "user": ev.user, "code": "T2000I"}
    if ev.session is not None:
        audit["session"] = {"id": ev.session}
    if ev.target is not None:
        audit["name"] = ev.target
    return {
        "@timestamp": iso(ev.ts),
        "event": {"id": eid, "dataset": "teleport.audit", "action": action, "outcome": ev.outcome},
        "user": {"name": ev.user},
        "source": {"ip": ev.ip},
        "host": {"name": "node-" + ev.device[-4:]},
        "teleport": {"audit": audit},
    }


RENDER: dict[str, Callable[[Event, str], dict[str, Any]]] = {
    "generic": _generic,
    "okta": _okta,
    "auth0": _auth0,
    "vault": _vault,
    "teleport": _teleport,
}


# --- users ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    name: str
    ip_prefix: str  # "198.18.7." or "2001:db8:7:1::"
    host: int
    devices: tuple[tuple[str, str], ...]  # (device id, user agent)

    def ip(self, host: int | None = None) -> str:
        return f"{self.ip_prefix}{host if host is not None else self.host}"


def make_user(index: int, rng: random.Random) -> User:
    if index % 10 == 9:  # one user in ten is on IPv6
        prefix = f"2001:db8:{index % 65536:x}:1::"
    else:
        prefix = f"10.{(index // 256) % 256}.{index % 256}."  # the corporate network
    devices = tuple(
        (f"dev-{index:06d}-{k}", AGENTS[(index + k) % len(AGENTS)]) for k in range(1 + (index % 3 == 0))
    )
    return User(f"user{index:06d}", prefix, rng.randint(2, 250), devices)


class Zipf:
    """Ranks 0..n-1 with P(rank k) proportional to 1 / (k + 1) ** s."""

    def __init__(self, n: int, s: float) -> None:
        weights = (1.0 / (k + 1) ** s for k in range(n))
        self._cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> int:
        return bisect.bisect_left(self._cumulative, rng.random() * self._cumulative[-1])


# --- sessions ------------------------------------------------------------------------------

Token = tuple[str, float, float]  # (id, issued at, expires at)


@dataclass
class Session:
    """One session's events in time order (``events()``), violations included."""

    sid: str
    user: User
    layout: str
    start: float
    rng: random.Random
    violation: str | None = None
    requests: int | None = None  # fixed request count (else drawn)
    login_mark: str | None = None  # the login itself is the evidence (concurrency)
    token_seq: int = 0
    ip: str = ""
    device: tuple[str, str] = ("", "")
    uses_token: bool = False

    def __post_init__(self) -> None:
        self.ip = self.user.ip()
        self.device = self.rng.choice(self.user.devices)
        v = self.violation
        self.uses_token = self.layout == "vault" or (
            self.layout == "generic"
            and (v in TOKEN_KINDS or (v != "session_idle_timeout" and self.rng.random() < 0.5))
        )

    def event(self, ts: float, action: str, **extra: Any) -> Event:
        return Event(
            ts=ts,
            action=action,
            session=extra.pop("session", self.sid),
            user=self.user.name,
            ip=self.ip,
            device=self.device[0],
            agent=self.device[1],
            **extra,
        )

    def new_token(self, ts: float, ttl: float = TOKEN_TTL) -> Token:
        self.token_seq += 1
        token_id = self.sid if self.layout == "vault" else f"{self.sid}-t{self.token_seq}"
        return (token_id, ts, ts + ttl)

    def think(self) -> float:
        """Seconds between two requests: mostly seconds, sometimes minutes, never ten."""
        if self.rng.random() < 0.06:
            return self.rng.uniform(60.0, 480.0)
        return min(540.0, self.rng.lognormvariate(2.8, 0.9))

    def events(self) -> Iterator[Event]:
        v = self.violation
        t = self.start
        token: Token | None = None
        login: dict[str, Any] = {"marks": self.login_mark}
        if self.uses_token:
            ttl = 30 * 86400.0 if v == "token_lifetime_policy" else TOKEN_TTL
            token = self.new_token(t, ttl)
            issued = {"token": token[0], "token_iat": token[1], "token_exp": token[2]}
            issued |= {"client": ALLOWED_CLIENT, "grant": "authorization_code"}
            if v == "token_lifetime_policy":
                issued["marks"] = v
            if self.layout == "vault":  # a Vault login is the token issue
                login |= issued
                yield self.event(t, "login", **login)
            else:
                yield self.event(t, "login", **login)
                t += 0.2
                yield self.event(t, "token_issue", **issued)
        else:
            yield self.event(t, "login", **login)
        if v == "session_max_lifetime":
            count, until = 0, self.start + 25.5 * 3600
        elif v == "token_expired_use":
            count, until = 0, self.start + 75 * 60.0  # keeps using its first token past the hour
        else:
            drawn = int(self.rng.lognormvariate(2.5, 0.9))
            count, until = self.requests or max(2, min(400, drawn)), math.inf
        midpoint = max(1, count // 2) if count else 0
        marked = False
        n = 0
        while (count and n < count) or (not count and t < until):
            n += 1
            gap = self.think() if count else self.rng.uniform(180.0, 540.0)
            mark: str | None = None
            if v == "session_idle_timeout" and n == midpoint:
                gap, mark = self.rng.uniform(2 * 3600.0, 3 * 3600.0), v
            t += gap
            if token is not None and v != "token_expired_use" and t > token[2] - 600:
                token = self.new_token(max(token[2] - 600, t - gap / 2))
                yield self.event(
                    token[1],
                    "token_refresh",
                    token=token[0],
                    token_iat=token[1],
                    token_exp=token[2],
                    client=ALLOWED_CLIENT,
                    grant="refresh_token",
                )
            if n == midpoint and v in INJECTED_MIDWAY:
                t, token = yield from self._inject(t, token)
                marked = True
                continue
            if not marked and v == "token_expired_use" and token is not None and t > token[2]:
                mark, marked = v, True
            if not marked and v == "session_max_lifetime" and t - self.start > 12 * 3600:
                mark, marked = v, True
            yield self.event(
                t,
                "activity",
                path=self.rng.choice(PATHS),
                token=token[0] if token else None,
                outcome="failure" if self.rng.random() < 0.01 else "success",
                marks=mark,
            )
        yield from self._end(t, token)

    def _inject(self, t: float, token: Token | None) -> Generator[Event, None, tuple[float, Token | None]]:
        """Mid-session violations; later events of the session carry the changed state.

        Returns the session's clock and token after the injection.
        """
        v = self.violation
        held = token[0] if token else None
        if v == "token_renewal_outside_workflow" and token is not None:
            token = self.new_token(t)  # renewed with the password grant by an unknown client
            yield self.event(
                t,
                "token_refresh",
                token=token[0],
                token_iat=token[1],
                token_exp=token[2],
                client="legacy-sync",
                grant="password",
                marks=v,
            )
            return t, token
        if v == "session_request_pattern":
            for k in range(240):  # 240 requests in one minute, scraping an export API
                yield self.event(
                    t + k * 0.25,
                    "activity",
                    path=f"/api/export/{k % 40}",
                    token=held,
                    marks=v if k == 0 else None,
                )
            return t + 60.0, token
        if v == "session_ip_binding":
            self.ip = f"203.0.113.{self.rng.randint(1, 254)}"
        elif v == "session_device_binding":
            self.device = (f"dev-foreign-{self.sid[-6:]}", "python-requests/2.32.3")
        elif v == "account_inactive_use":  # the account of a leaver, disabled mid-session
            yield self.event(t, "account_disable", session=None, target=self.user.name)
            t += 30.0
        elif v == "token_revoked_use" and token is not None:
            yield self.event(t, "token_revoke", token=held)
            t += 90.0
        yield self.event(t, "activity", path=self.rng.choice(PATHS), token=held, marks=v)
        return t, token

    def _end(self, t: float, token: Token | None) -> Iterator[Event]:
        v = self.violation
        roll = self.rng.random()
        if v == "session_post_logout" or roll < 0.55:
            t += self.rng.uniform(5.0, 60.0)
            yield self.event(t, "logout")
            if v == "session_post_logout":
                t += self.rng.uniform(120.0, 600.0)
                held = token[0] if token else None
                yield self.event(t, "activity", path=self.rng.choice(PATHS), token=held, marks=v)
        elif roll < 0.70:  # the server ends it after ten idle minutes (stricter than any policy)
            yield self.event(t + SERVER_IDLE_TIMEOUT, "termination")


INJECTED_MIDWAY = frozenset(
    {
        "session_request_pattern",
        "session_ip_binding",
        "session_device_binding",
        "account_inactive_use",
        "token_revoked_use",
        "token_renewal_outside_workflow",
    }
)


# --- the stream ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """A workload: ``events`` raw events over about ``days`` days, reproducible from ``seed``."""

    events: int
    seed: int = 20260302
    days: float = 3.0
    users: int | None = None  # default: one per 100 events, at least 200
    zipf_s: float = 1.1
    violation_every: int = 200  # one session in this many carries an injected violation
    concurrency_extra: int = 6  # extra parallel sessions of a session_concurrency violation

    @property
    def user_count(self) -> int:
        return self.users or max(200, self.events // 100)


MEAN_EVENTS_PER_SESSION = 21.0


def diurnal(ts: float) -> float:
    """Relative session arrival rate at ``ts``: 0.2 at night, 1.0 at the afternoon peak."""
    hour = (ts % 86400.0) / 3600.0
    if 6.0 <= hour <= 20.0:
        return 0.2 + 0.8 * math.sin(math.pi * (hour - 6.0) / 14.0)
    return 0.2


class Workload:
    """Iterate for raw event documents (exactly ``spec.events``); then read ``manifest``."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.manifest = Manifest()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        spec = self.spec
        rng = random.Random(spec.seed)
        users = [make_user(i, random.Random(spec.seed * 7919 + i)) for i in range(spec.user_count)]
        zipf = Zipf(len(users), spec.zipf_s)
        open_count = dict.fromkeys((u.name for u in users), 0)
        mean_rate = spec.events / (spec.days * 86400.0) / MEAN_EVENTS_PER_SESSION
        peak_rate = mean_rate / 0.497  # the mean of diurnal() over a day
        heap: list[tuple[float, int, Event, Iterator[Event], Session]] = []
        seq = itertools.count()
        started = 0
        clock = EPOCH
        emitted = 0
        prefix = f"bw{spec.seed}-"

        def start(session: Session) -> None:
            open_count[session.user.name] = open_count.get(session.user.name, 0) + 1
            stream = session.events()
            first = next(stream)
            heapq.heappush(heap, (first.ts, next(seq), first, stream, session))
            self.manifest.by_layout[session.layout] = self.manifest.by_layout.get(session.layout, 0) + 1

        def pick_user() -> User:
            for _ in range(8):  # Zipf, but nobody holds more than two sessions
                index = zipf.draw(rng)
                if open_count[users[index].name] < 2:
                    return users[index]
            return users[rng.randrange(len(users))]

        def next_arrival(now: float) -> float:
            while True:  # thinning: a Poisson process at the peak rate, kept with diurnal(t)
                now += rng.expovariate(peak_rate)
                if rng.random() < diurnal(now):
                    return now

        arrival = next_arrival(clock)
        while emitted < spec.events:
            if not heap or arrival <= heap[0][0]:
                index = started
                started += 1
                every = spec.violation_every
                violation = KINDS[(index // every) % len(KINDS)] if index % every == 3 else None
                session_rng = random.Random(spec.seed * 1_000_003 + index)
                user = pick_user()
                if violation == "account_inactive_use":  # a leaver: seen in this session only
                    user = make_user(spec.user_count + index, random.Random(spec.seed + index))
                if violation is None:
                    layout = session_rng.choices(LAYOUTS, LAYOUT_WEIGHTS)[0]
                else:
                    layout = session_rng.choice(CAPABLE[violation])
                sid = f"s{spec.seed % 1000:03d}{index:09d}"
                if violation == "session_concurrency":
                    for k in range(spec.concurrency_extra + 1):
                        last = k == spec.concurrency_extra
                        start(
                            Session(
                                f"{sid}c{k}",
                                user,
                                layout,
                                arrival + 20.0 * k,
                                random.Random(spec.seed * 1_000_003 + index + k * 7),
                                requests=40,
                                login_mark=violation if last else None,
                            )
                        )
                else:
                    start(Session(sid, user, layout, arrival, session_rng, violation=violation))
                arrival = next_arrival(arrival)
                continue
            _, _, event, stream, session = heapq.heappop(heap)
            event_id = f"{prefix}{emitted:09d}"
            emitted += 1
            if event.marks is not None:
                self.manifest.injected.append(
                    Injected(event.marks, event.session or session.sid, event.user, session.layout, event_id)
                )
            yield RENDER[session.layout](event, event_id)
            following = next(stream, None)
            if following is None:
                open_count[session.user.name] -= 1
            else:
                heapq.heappush(heap, (following.ts, next(seq), following, stream, session))
        self.manifest.events = emitted
        self.manifest.sessions = started


def open_sessions(
    sessions: int, rounds: int = 3, seed: int = 20260302, round_seconds: float = 300.0
) -> Iterator[dict[str, Any]]:
    """``sessions`` sessions all open at once: every login first, then ``rounds`` requests each.

    The memory benchmark's workload: at the end every session is still open (no logout). Each
    round takes ``round_seconds``, so every session makes a request every five minutes and the
    event rate grows with the number of sessions, as it would in production.
    """
    step = round_seconds / max(1, sessions)
    rng = random.Random(seed)
    users = [make_user(i, random.Random(seed * 7919 + i)) for i in range(max(1, sessions // 3))]
    live = [
        Session(f"o{i:08d}", users[i % len(users)], rng.choices(LAYOUTS, LAYOUT_WEIGHTS)[0], 0.0, rng)
        for i in range(sessions)
    ]
    t = EPOCH
    emitted = 0
    for session in live:
        token = session.new_token(t) if session.uses_token else None
        fields: dict[str, Any] = {}
        if token is not None:
            fields = {
                "token": token[0],
                "token_iat": token[1],
                "token_exp": token[2],
                "client": ALLOWED_CLIENT,
            }
        yield RENDER[session.layout](session.event(t, "login", **fields), f"ow-{emitted:09d}")
        emitted += 1
        t += step
    for _ in range(rounds):
        for session in live:
            token_id = f"{session.sid}-t1" if session.uses_token and session.layout != "vault" else None
            event = session.event(t, "activity", path=rng.choice(PATHS), token=token_id or None)
            yield RENDER[session.layout](event, f"ow-{emitted:09d}")
            emitted += 1
            t += step


def dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def write(spec: Spec, out: TextIO) -> Manifest:
    workload = Workload(spec)
    for doc in workload:
        out.write(dumps(doc) + "\n")
    return workload.manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, required=True)
    parser.add_argument("--seed", type=int, default=Spec.seed)
    parser.add_argument("--days", type=float, default=Spec.days)
    parser.add_argument("-o", "--output", default="-")
    parser.add_argument("--manifest", help="write the injected violations here (JSON)")
    args = parser.parse_args(argv)
    spec = Spec(events=args.events, seed=args.seed, days=args.days)
    if args.output == "-":
        manifest = write(spec, sys.stdout)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            manifest = write(spec, out)
    summary = {
        "events": manifest.events,
        "sessions": manifest.sessions,
        "by_layout": manifest.by_layout,
        "injected": manifest.kinds(),
    }
    print(json.dumps(summary), file=sys.stderr)
    if args.manifest:
        with open(args.manifest, "w", encoding="utf-8") as out:
            json.dump([item.__dict__ for item in manifest.injected], out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
