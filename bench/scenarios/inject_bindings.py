"""Injected violations and near misses on accounts, bindings, request patterns and concurrency
(the session and token kinds are in inject.py)."""

from __future__ import annotations

from bench.scenarios.clean import OFFICE_NETS, OUTSIDE_NETS, VPN_NETS, address, duo_push
from bench.scenarios.inject import HOUR, SITE, Ctx, N, Spans, V, drive
from bench.scenarios.model import Act, Device, User


# --------------------------------------------------------------------------- accounts
def account_inactive(ctx: Ctx, t: float) -> None:
    b = ctx.b
    for vendor in ("okta", "generic"):
        victim = ctx.start(vendor, t + 60)
        drive(ctx, victim, t + 1200)
        at = victim.last + 30
        admin = ctx.start(vendor, at - 90)
        b.act(admin, "account_disable", at, target=victim.user)
        spans = drive(ctx, victim, at + 1800)
        b.label(
            "account_inactive_use",
            V,
            victim,
            f"{vendor}: suspended account keeps using its session",
            spans,
            account=victim.user,
        )
        # the admin who suspended someone is not disabled
        after = drive(ctx, admin, at + 1200)
        b.label(
            "account_inactive_use",
            N,
            admin,
            f"{vendor}: the admin keeps working after suspending another user",
            after,
            account=admin.user,
        )
        t += 1800
    google = ctx.v("google_workspace")
    who = ctx.new_user()
    ip = address(b.rng, OFFICE_NETS[0])
    b.emit(google, _act("account_disable", t, who, ip, target=who))
    eid = b.emit(google, _act("login", t + HOUR, who, ip))
    b.label(
        "account_inactive_use",
        V,
        google,
        "google: login 1 h after account_disabled_hijacked",
        [(eid, t + HOUR)],
        account=who,
    )
    # Slack: an admin deactivates a member (the entity), who signs in again 30 min later
    slack = ctx.v("slack")
    admin_user, who = ctx.new_user(), ctx.new_user()
    ip = address(b.rng, OFFICE_NETS[0])
    b.emit(slack, Act("account_disable", t + 600, admin_user, None, ip, admin_user.devices[0], target=who))
    eid = b.emit(slack, Act("login", t + 2400, who, None, ip, who.devices[0]))
    b.label(
        "account_inactive_use",
        V,
        slack,
        "slack: login 30 min after user_deactivated",
        [(eid, t + 2400)],
        account=who,
    )
    eid = b.emit(slack, Act("login", t + 1200, admin_user, None, ip, admin_user.devices[0]))
    b.label(
        "account_inactive_use",
        N,
        slack,
        "slack: the admin who deactivated a member signs in",
        [(eid, t + 1200)],
        account=admin_user,
    )
    who = ctx.new_user()
    b.emit(slack, Act("account_disable", t + 3000, admin_user, None, ip, admin_user.devices[0], target=who))
    b.emit(slack, Act("account_enable", t + 3600, admin_user, None, ip, admin_user.devices[0], target=who))
    eid = b.emit(slack, Act("login", t + 4200, who, None, ip, who.devices[0]))
    b.label(
        "account_inactive_use", N, slack, "slack: reactivated, then a login", [(eid, t + 4200)], account=who
    )
    # suspend, unsuspend, then a new session: the account is active again
    admin = ctx.start("okta", t + 2 * HOUR)
    who = ctx.new_user()
    spans = [(b.act(admin, "account_disable", t + 2 * HOUR + 60, target=who), t + 2 * HOUR + 60)]
    spans.append((b.act(admin, "account_enable", t + 2 * HOUR + 900, target=who), t + 2 * HOUR + 900))
    b.label(
        "account_inactive_use",
        N,
        admin,
        "okta: the admin's own suspend / unsuspend actions",
        spans,
        account=admin.user,
    )
    s = ctx.start("okta", t + 2 * HOUR + 1200, user=who)
    spans = drive(ctx, s, s.start + 1200)
    b.label("account_inactive_use", N, s, "okta: unsuspended, then a new session", spans, account=who)
    # pam_faillock locks expire by themselves (unlock_time, 10 min by default)
    who = ctx.new_user()
    sysauth = ctx.v("system_auth")
    b.emit(sysauth, _act("account_disable", t + 3 * HOUR, who, address(b.rng, VPN_NETS[0]), target=who))
    s = ctx.start("system_auth", t + 4 * HOUR, user=who)
    b.label(
        "account_inactive_use",
        N,
        s,
        "system_auth: login 1 h after a faillock lock (the lock expired)",
        [(s.login_eid, s.start), (b.end(s, s.start + 1800), s.start + 1800)],
        account=who,
    )


def _act(action: str, t: float, user: User, ip: str, *, target: User | None = None) -> Act:
    sid = "pid-" + user.uid if action == "login" else None
    return Act(action, t, user, sid, ip, user.devices[0], target=target)


# --------------------------------------------------------------------------- bindings
def ip_binding(ctx: Ctx, t: float) -> None:
    b = ctx.b
    for vendor in ("generic", "okta"):
        s = ctx.start(vendor, t, net=OFFICE_NETS[0])
        drive(ctx, s, t + 1200)
        s.ip = address(b.rng, OUTSIDE_NETS[0])
        spans = drive(ctx, s, s.last + 1200)
        b.label("session_ip_binding", V, s, f"{vendor}: session moved to another network mid-session", spans)
        b.end(s, s.last + 30)
        s = ctx.start(vendor, t + 300, net=VPN_NETS[1])
        drive(ctx, s, t + 1500)
        s.ip = address(b.rng, VPN_NETS[1])
        spans = drive(ctx, s, s.last + 900)
        b.label("session_ip_binding", N, s, f"{vendor}: NAT moved the address inside its /24", spans)
        b.end(s, s.last + 30)
        t += 1800
    who = ctx.new_user()
    ip = address(b.rng, OFFICE_NETS[1])
    eid = duo_push(b, ctx.v("cisco_duo"), who, t - 30, ip)
    b.label(
        "session_ip_binding",
        N,
        ctx.v("cisco_duo"),
        "cisco_duo: push approved from the phone's carrier network (auth_device.ip != access_device.ip)",
        [(eid, t - 30)],
        account=who,
    )
    s = ctx.start("okta", t, net=OFFICE_NETS[1], user=who)
    drive(ctx, s, t + 900)
    b.end(s, s.last + 30)
    s = ctx.start("generic", t, net=OUTSIDE_NETS[1])
    spans = drive(ctx, s, t + 1200)
    b.label(
        "session_ip_binding",
        V,
        s,
        "generic: whole session from outside the site's networks",
        [(s.login_eid, s.start), *spans],
        needs=SITE,
    )
    b.end(s, s.last + 30)


def device_binding(ctx: Ctx, t: float) -> None:
    b = ctx.b
    other = Device(f"fp-{b.rng.getrandbits(64):016x}", "curl/8.4.0", "Computer")
    for vendor in ("generic", "okta"):
        s = ctx.start(vendor, t)
        drive(ctx, s, t + 1200)
        s.device = other
        spans = drive(ctx, s, s.last + 1200)
        b.label(
            "session_device_binding", V, s, f"{vendor}: session cookie replayed from another device", spans
        )
        b.end(s, s.last + 30)
        t += 1800
    s = ctx.start("salesforce", t)
    end = t + 2 * HOUR
    b.label(
        "session_device_binding",
        N,
        s,
        "salesforce: login (parsed browser) and logout (browser_type), one device",
        [(b.end(s, end), end)],
    )


# --------------------------------------------------------------------------- request pattern
def request_pattern(ctx: Ctx, t: float) -> None:
    b, lim = ctx.b, ctx.b.limits
    s = ctx.start("generic", t)
    drive(ctx, s, t + 900)
    burst_start = s.last + 60
    spans = [(b.use(s, burst_start + i * 0.2, path="/api/export"), burst_start + i * 0.2) for i in range(300)]
    b.label(
        "session_request_pattern", V, s, "generic: 300 requests in one minute", spans[lim.rate_per_minute :]
    )
    b.end(s, s.last + 60)
    s = ctx.start("generic", t + 600)
    drive(ctx, s, t + 1500)
    burst_start = s.last + 60
    spans = [(b.use(s, burst_start + i * 0.6, path="/api/export"), burst_start + i * 0.6) for i in range(100)]
    b.label("session_request_pattern", N, s, "generic: 100 requests in one minute", spans[-1:])
    b.end(s, s.last + 60)
    s = ctx.start("generic", t + 1200)
    drive(ctx, s, t + 3000)
    back = s.last + 60
    b.reauth(s, back)
    b.label(
        "session_request_pattern",
        N,
        s,
        "generic: sensitive action 5 min after re-authentication",
        [(b.use(s, back + 300, path="/payments/transfer"), back + 300)],
    )
    b.end(s, back + 400)
    s = ctx.start("generic", t + 1800)
    drive(ctx, s, t + 1800 + 2 * HOUR)
    now = s.last + 60
    b.label(
        "session_request_pattern",
        V,
        s,
        "generic: password change 2 h after the last authentication",
        [(b.use(s, now, path="/account/password"), now)],
        needs=SITE,
    )
    b.end(s, now + 60)


def concurrency(ctx: Ctx, t: float) -> None:
    b, lim = ctx.b, ctx.b.limits
    victim = ctx.new_user()
    sessions = [ctx.start("generic", t + i * 40, user=victim, net=VPN_NETS[i % 3]) for i in range(6)]
    spans: Spans = [(s.login_eid, s.start) for s in sessions]
    for s in sessions:
        spans += drive(ctx, s, s.start + 900)
    b.label(  # the violation is the burst as a whole: every event of the six sessions
        "session_concurrency",
        V,
        sessions[0].vendor,
        f"generic: 6 sessions of one account within 4 min (limit {lim.max_sessions})",
        spans,
        account=victim,
    )
    for s in sessions:
        b.end(s, s.last + 30)
    user = ctx.new_user()
    three = [ctx.start("okta", t + 3600 + i * 120, user=user) for i in range(lim.max_sessions)]
    spans = [(s.login_eid, s.start) for s in three]
    for s in three:
        spans += drive(ctx, s, s.start + 900)
    b.label(
        "session_concurrency",
        N,
        three[0].vendor,
        "okta: 3 sessions (the limit) within 4 min",
        spans,
        account=user,
    )
