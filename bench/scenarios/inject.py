"""Injected violations (wide margins) and near misses (just inside each boundary), labelled.

Every injection runs on its own accounts (``victimNNN``, admins included), so clean traffic
cannot add to or hide it; each function records its labels on the builder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bench.scenarios.builder import Builder, Sess
from bench.scenarios.clean import OFFICE_NETS, VPN_NETS, address
from bench.scenarios.model import User
from bench.scenarios.vendors import base
from bench.scenarios.vendors.base import Vendor

HOUR = 3600.0
WIDE_IDLE = 3 * HOUR  # over every shipped idle limit (15 min .. 1 h)
WIDE_AGE = 26 * HOUR  # over every shipped lifetime limit up to 24 h
V, N = "violation", "near_miss"
SITE = ("site",)  # only a rule with site values sees it
ORGANISATION = ("set:organisation",)  # only the organisation policy set's rules see it
Spans = list[tuple[str, float]]


@dataclass
class Ctx:
    b: Builder
    vendors: dict[str, Vendor]
    new_user: Callable[[], User]

    def v(self, name: str) -> Vendor:
        return self.vendors[name]

    def start(
        self, vendor: str, t: float, *, net: str | None = None, ttl: float = 3600, user: User | None = None
    ) -> Sess:
        who = user or self.new_user()
        ip = address(self.b.rng, net or self.b.rng.choice(OFFICE_NETS + VPN_NETS))
        return self.b.start(self.v(vendor), who, t, who.devices[0], ip, ttl=ttl)


def drive(ctx: Ctx, s: Sess, until: float, **fields: object) -> Spans:
    """Clean use every 4-9 minutes until ``until``, refreshing tokens before they expire."""
    b = ctx.b
    spans: Spans = []
    while True:
        now = s.last + b.rng.uniform(240, 540)
        if now > until:
            return spans
        if (
            s.token is not None
            and base.TOKEN_REFRESH in s.vendor.caps
            and now > s.token.issued_at + s.token.ttl - 600
        ):
            spans.append((b.refresh(s, now), now))
            continue
        spans.append((b.use(s, now, **dict(fields)), now))


# --------------------------------------------------------------------------- idle timeout
def idle(ctx: Ctx, t: float) -> None:
    b, lim = ctx.b, ctx.b.limits
    for vendor in ("generic", "okta", "teleport", "auth0"):
        s = ctx.start(vendor, t)
        drive(ctx, s, t + 1800)
        late = s.last + WIDE_IDLE
        spans: Spans = []
        if s.token is not None and base.TOKEN_REFRESH in s.vendor.caps:
            # a fresh token first (the gap alone is the violation); the refresh is a use too
            spans.append((b.refresh(s, late - 5), late - 5))
        spans.append((b.use(s, late), late))
        b.label("session_idle_timeout", V, s, f"{vendor}: used after {WIDE_IDLE / HOUR:.0f} h idle", spans)
        b.end(s, late + 120)
        t += 600
    # near misses: a gap just under the strictest limit; re-authentication before use
    for vendor in ("generic", "okta"):
        s = ctx.start(vendor, t)
        drive(ctx, s, t + 900)
        near = s.last + lim.idle - 20
        b.label(
            "session_idle_timeout", N, s, f"{vendor}: gap 20 s under the idle limit", [(b.use(s, near), near)]
        )
        b.end(s, near + 60)
        s = ctx.start(vendor, t + 300)
        drive(ctx, s, t + 1200)
        back = s.last + WIDE_IDLE
        b.reauth(s, back)
        b.label(
            "session_idle_timeout",
            N,
            s,
            f"{vendor}: re-authenticated after the gap, then used",
            [(b.use(s, back + 15), back + 15)],
        )
        b.end(s, back + 120)
    # near misses: a logout after invisible activity is not use of the session
    for vendor, length in (("salesforce", 5 * HOUR), ("system_auth", 3 * HOUR)):
        s = ctx.start(vendor, t)
        end = t + length
        b.label(
            "session_idle_timeout",
            N,
            s,
            f"{vendor}: logout {length / HOUR:.0f} h after login is not use",
            [(b.end(s, end), end)],
        )


# --------------------------------------------------------------------------- lifetime
def lifetime(ctx: Ctx, t: float) -> None:
    b, lim = ctx.b, ctx.b.limits
    for vendor in ("generic", "okta"):
        s = ctx.start(vendor, t)
        spans = drive(ctx, s, t + WIDE_AGE)
        over = [(e, at) for e, at in spans if at - s.start > lim.lifetime]
        b.label(
            "session_max_lifetime", V, s, f"{vendor}: session used {WIDE_AGE / HOUR:.0f} h after login", over
        )
        renewed = [(e, at) for e, at in spans if e in b.refresh_log and at - s.start > lim.renewal_lifetime]
        if renewed:  # the application kept renewing tokens past the session's lifetime
            b.label(
                "token_renewal_outside_workflow",
                V,
                s,
                f"{vendor}: tokens renewed up to {WIDE_AGE / HOUR:.0f} h into the session",
                renewed,
                needs=SITE,
            )
        b.end(s, s.last + 60)
        s = ctx.start(vendor, t + 600)
        spans = drive(ctx, s, t + 600 + lim.lifetime - 1200)
        b.label(
            "session_max_lifetime", N, s, f"{vendor}: last use 20 min before the lifetime limit", spans[-1:]
        )
        b.end(s, s.last + 60)


# --------------------------------------------------------------------------- post logout
def post_logout(ctx: Ctx, t: float) -> None:
    b, lim = ctx.b, ctx.b.limits
    for vendor in ("generic", "okta", "teleport", "auth0"):
        s = ctx.start(vendor, t)
        drive(ctx, s, t + 1200)
        b.end(s, s.last + 60)
        after = s.last + 60 + 300
        b.label("session_post_logout", V, s, f"{vendor}: used 5 min after logout", [(b.use(s, after), after)])
        t += 900
    s = ctx.start("generic", t)
    drive(ctx, s, t + 1200)
    end = s.last + 60
    b.end(s, end)
    b.label(
        "session_post_logout",
        N,
        s,
        f"generic: request {lim.logout_grace / 3:.0f} s after logout (inside the grace)",
        [(b.use(s, end + lim.logout_grace / 3), end + lim.logout_grace / 3)],
    )
    s = ctx.start("generic", t + 60)
    drive(ctx, s, t + 1300)
    end = s.last + 60
    b.end(s, end)
    early = end - 20
    eid = b.use(s, early, extra={"delivered_after": 45.0})
    b.label(
        "session_post_logout",
        N,
        s,
        "generic: request 20 s before logout, delivered 25 s after it",
        [(eid, early)],
    )
    s = ctx.start("teleport", t + 120)
    drive(ctx, s, t + 1500)
    end = s.last + 30
    b.act(s, "logout", end)
    b.label(
        "session_post_logout",
        N,
        s,
        "teleport: session.upload 2 min after session.end",
        [(b.act(s, "upload", end + 120), end + 120)],
    )
    s = ctx.start("okta", t + 180)
    drive(ctx, s, t + 1500)
    end = s.last + 30
    b.end(s, end)
    again = b.start(s.vendor, s.user, end + 120, s.device, s.ip)
    b.label(
        "session_post_logout",
        N,
        again,
        "okta: logout, then a new session of the same user",
        [(b.use(again, end + 200), end + 200)],
    )
    b.end(again, end + 400)


# --------------------------------------------------------------------------- tokens
def revoked(ctx: Ctx, t: float) -> None:
    b = ctx.b
    admin = ctx.start("hashicorp_vault", t)
    victim = ctx.start("hashicorp_vault", t + 60)
    drive(ctx, victim, t + 900)
    drive(ctx, admin, t + 900)
    assert victim.token is not None
    rev_at = max(admin.last, victim.last) + 30
    b.act(admin, "token_revoke", rev_at, revoked_token=victim.token.token_id)
    use = rev_at + 240
    b.label(
        "token_revoked_use",
        V,
        victim,
        "vault: token used 4 min after revoke-accessor",
        [(b.use(victim, use), use)],
    )
    again = ctx.start("hashicorp_vault", use + 60, user=victim.user)
    b.label(
        "token_revoked_use",
        N,
        again,
        "vault: revoked user's new token after a new login",
        [(b.use(again, use + 120), use + 120)],
    )
    s = ctx.start("generic", t + 1800)
    drive(ctx, s, t + 2400)
    assert s.token is not None
    rev_at = s.last + 30
    b.act(s, "token_revoke", rev_at, revoked_token=s.token.token_id)
    use = rev_at + 240
    b.label(
        "token_revoked_use", V, s, "generic: token used 4 min after its revocation", [(b.use(s, use), use)]
    )
    s = ctx.start("generic", t + 3600)
    drive(ctx, s, t + 4000)
    assert s.token is not None
    rev_at = s.last + 30
    b.act(s, "token_revoke", rev_at, revoked_token=s.token.token_id)
    b.refresh(s, rev_at + 5)
    b.label(
        "token_revoked_use",
        N,
        s,
        "generic: revoked, then a new token used",
        [(b.use(s, rev_at + 60), rev_at + 60)],
    )


def expired(ctx: Ctx, t: float) -> None:
    b, lim = ctx.b, ctx.b.limits
    for vendor in ("hashicorp_vault", "generic"):
        s = ctx.start(vendor, t)
        assert s.token is not None
        exp = s.token.issued_at + s.token.ttl
        spans: Spans = []
        while s.last + 420 < exp + 1.5 * HOUR:
            now = s.last + 420
            spans.append((b.use(s, now), now))
        over = [(e, at) for e, at in spans if at > exp + lim.expiry_skew]
        b.label("token_expired_use", V, s, f"{vendor}: token used up to 1.5 h after its expiry", over)
        t += 600
    s = ctx.start("hashicorp_vault", t)
    assert s.token is not None
    drive(ctx, s, s.token.issued_at + s.token.ttl - 100)
    near = s.token.issued_at + s.token.ttl - 30
    b.label("token_expired_use", N, s, "vault: token used 30 s before expiry", [(b.use(s, near), near)])
    s = ctx.start("generic", t + 60)
    assert s.token is not None
    exp = s.token.issued_at + s.token.ttl
    drive(ctx, s, exp - 200)
    b.label(
        "token_expired_use",
        N,
        s,
        "generic: token used 40 s after expiry (inside the clock skew)",
        [(b.use(s, exp + 40), exp + 40)],
    )


def token_lifetime(ctx: Ctx, t: float) -> None:
    b, lim = ctx.b, ctx.b.limits
    for vendor, ttl in (("hashicorp_vault", 24 * HOUR), ("generic", 12 * HOUR)):
        s = ctx.start(vendor, t, ttl=ttl)
        first = (b.use(s, t + 30), t + 30)
        b.label(
            "token_lifetime_policy",
            V,
            s,
            f"{vendor}: token issued for {ttl / HOUR:.0f} h",
            [(s.login_eid, s.start), first],
            needs=ORGANISATION,  # org-access-token-lifetime-1h is an organisation example value
        )
        drive(ctx, s, t + 1200)
        if base.LOGOUT in s.vendor.caps:
            b.end(s, s.last + 30)
        s = ctx.start(vendor, t + 300, ttl=lim.token_lifetime)
        b.label(
            "token_lifetime_policy",
            N,
            s,
            f"{vendor}: token issued for exactly the limit",
            [(s.login_eid, s.start), (b.use(s, t + 330), t + 330)],
        )
        t += 1800


def renewal(ctx: Ctx, t: float) -> None:
    b, lim = ctx.b, ctx.b.limits
    s = ctx.start("generic", t)
    drive(ctx, s, t + 1200)
    now = s.last + 60
    b.label(
        "token_renewal_outside_workflow",
        V,
        s,
        "generic: token renewed through the password grant",
        [(b.refresh(s, now, grant="password"), now)],
        needs=SITE,
    )
    s = ctx.start("auth0", t + 300)
    drive(ctx, s, t + 1500)
    now = s.last + 60
    eid = b.refresh(s, now, client="legacy-sync-tool")
    b.label(
        "token_renewal_outside_workflow",
        V,
        s.vendor,  # Auth0 writes token exchanges without the session id: an account-level label
        "auth0: refresh by a client the site does not approve",
        [(eid, now)],
        account=s.user,
        needs=SITE,
    )
    # renewal past the session's absolute lifetime: also a lifetime violation of the same session
    s = ctx.start("generic", t + 600)
    spans = drive(ctx, s, t + 600 + 12 * HOUR)
    refresh_ids = b.refresh_log
    over = [(e, at) for e, at in spans if at - s.start > lim.renewal_lifetime]
    b.label(
        "token_renewal_outside_workflow",
        V,
        s,
        "generic: tokens renewed up to 12 h into the session",
        [(e, at) for e, at in over if e in refresh_ids],
        needs=SITE,
    )
    b.label(
        "session_max_lifetime",
        V,
        s,
        "generic: session used 12 h after login (renewal case; over the organisation's 8 h)",
        over,
        needs=ORGANISATION,
    )
    s = ctx.start("generic", t + 900)
    spans = drive(ctx, s, t + 900 + lim.renewal_lifetime - 1800)
    now = s.last + 60
    b.label(
        "token_renewal_outside_workflow",
        N,
        s,
        "generic: approved renewal 30 min before the lifetime",
        [(b.refresh(s, now), now)],
    )
