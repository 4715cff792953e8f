"""Injected violations and near misses on the vendors added last: Salesforce Apex, AWS
CloudTrail, Microsoft 365, GitHub and Google Workspace admin; and dormancy.

Same rules as inject.py: own accounts, wide margins for violations, near misses just inside.
"""

from __future__ import annotations

from bench.scenarios.clean import OFFICE_NETS, OUTSIDE_NETS, address
from bench.scenarios.inject import HOUR, WIDE_IDLE, Ctx, N, V, drive
from bench.scenarios.model import Act


def vendor_sessions(ctx: Ctx, t: float) -> None:
    """Idle, post-logout and address binding on sessions whose activity the new layouts show."""
    b, lim = ctx.b, ctx.b.limits
    for vendor in ("salesforce_apex", "aws_cloudtrail", "o365"):
        s = ctx.start(vendor, t)
        drive(ctx, s, t + 1800)
        late = s.last + WIDE_IDLE
        b.label(
            "session_idle_timeout",
            V,
            s,
            f"{vendor}: used after {WIDE_IDLE / HOUR:.0f} h idle",
            [(b.use(s, late), late)],
        )
        s = ctx.start(vendor, t + 300)
        drive(ctx, s, t + 1200)
        near = s.last + lim.idle - 20
        b.label(
            "session_idle_timeout", N, s, f"{vendor}: gap 20 s under the idle limit", [(b.use(s, near), near)]
        )
        t += 600
    # Salesforce: the login key's Apex activity after the logout
    s = ctx.start("salesforce_apex", t)
    drive(ctx, s, t + 1200)
    out = b.end(s, s.last + 60)
    after = s.last + 60 + 300
    b.label(
        "session_post_logout",
        V,
        s,
        "salesforce_apex: Apex call 5 min after the logout",
        [(b.use(s, after), after)],
    )
    s = ctx.start("salesforce_apex", t + 600)
    drive(ctx, s, t + 1500)
    out_at = s.last + 60
    out = b.end(s, out_at)
    b.label(
        "session_post_logout",
        N,
        s,
        "salesforce_apex: Apex call 10 s after the logout (inside the grace)",
        [(out, out_at), (b.use(s, out_at + 10), out_at + 10)],
    )
    # AWS: the role session's credentials used from another network
    s = ctx.start("aws_cloudtrail", t + 900, net=OFFICE_NETS[0])
    drive(ctx, s, t + 2100)
    moved = s.last + 300
    ip = address(b.rng, OUTSIDE_NETS[0])
    spans = [(b.use(s, moved, ip=ip), moved)]
    b.label("session_ip_binding", V, s, "aws_cloudtrail: role credentials used from another network", spans)
    s = ctx.start("aws_cloudtrail", t + 1200, net=OFFICE_NETS[1])
    drive(ctx, s, t + 2100)
    moved = s.last + 300
    nat = address(b.rng, s.ip.rsplit(".", 1)[0])
    b.label(
        "session_ip_binding",
        N,
        s,
        "aws_cloudtrail: NAT move inside the /24",
        [(b.use(s, moved, ip=nat), moved)],
    )


def vendor_accounts(ctx: Ctx, t: float) -> None:
    """Admin lifecycle on Microsoft 365, GitHub and Google Workspace admin: the target, not the admin."""
    b = ctx.b
    # Microsoft 365: the disabled user's session keeps working; the admin is not disabled
    victim = ctx.start("o365", t)
    drive(ctx, victim, t + 1200)
    at = victim.last + 30
    admin = ctx.start("o365", at - 90)
    b.act(admin, "account_disable", at, target=victim.user)
    spans = drive(ctx, victim, at + 1800)
    b.label(
        "account_inactive_use",
        V,
        victim,
        "o365: disabled account keeps using its session",
        spans,
        account=victim.user,
    )
    after = drive(ctx, admin, at + 1200)
    b.label(
        "account_inactive_use",
        N,
        admin,
        "o365: the admin keeps working after disabling a user",
        after,
        account=admin.user,
    )
    # GitHub: a removed member keeps cloning; a member removed and added back
    github = ctx.v("github")
    admin_user, who, back = ctx.new_user(), ctx.new_user(), ctx.new_user()
    ip = address(b.rng, OFFICE_NETS[0])

    def gh(action: str, at: float, actor: object, target: object = None) -> str:
        return b.emit(github, Act(action, at, actor, None, ip, None, target=target))  # type: ignore[arg-type]

    gh("account_disable", t + 600, admin_user, who)
    eid = gh("activity", t + 2400, who)
    b.label(
        "account_inactive_use",
        V,
        github,
        "github: git clone 30 min after org.remove_member",
        [(eid, t + 2400)],
        account=who,
    )
    eid = gh("activity", t + 1200, admin_user)
    b.label(
        "account_inactive_use",
        N,
        github,
        "github: the admin who removed a member keeps working",
        [(eid, t + 1200)],
        account=admin_user,
    )
    gh("account_disable", t + 3000, admin_user, back)
    gh("account_enable", t + 3600, admin_user, back)
    eid = gh("activity", t + 4200, back)
    b.label(
        "account_inactive_use", N, github, "github: added back, then a clone", [(eid, t + 4200)], account=back
    )
    # Google Workspace admin: SUSPEND_USER, then the user's sign-in; UNSUSPEND_USER restores
    google = ctx.v("google_workspace_admin")
    admin_user, who, back = ctx.new_user(), ctx.new_user(), ctx.new_user()
    b.emit(google, Act("account_disable", t + 600, admin_user, None, ip, None, target=who))
    eid = b.emit(google, Act("login", t + HOUR, who, None, ip, who.devices[0]))
    b.label(
        "account_inactive_use",
        V,
        google,
        "google admin: sign-in 1 h after SUSPEND_USER",
        [(eid, t + HOUR)],
        account=who,
    )
    b.emit(google, Act("account_disable", t + 900, admin_user, None, ip, None, target=back))
    b.emit(google, Act("account_enable", t + 1800, admin_user, None, ip, None, target=back))
    eid = b.emit(google, Act("login", t + HOUR, back, None, ip, back.devices[0]))
    b.label(
        "account_inactive_use",
        N,
        google,
        "google admin: UNSUSPEND_USER, then a sign-in",
        [(eid, t + HOUR)],
        account=back,
    )
    eid = b.emit(google, Act("login", t + 1200, admin_user, None, ip, admin_user.devices[0]))
    b.label(
        "account_inactive_use",
        N,
        google,
        "google admin: the admin who suspended a user signs in",
        [(eid, t + 1200)],
        account=admin_user,
    )


DAY = 86400.0


def dormancy(ctx: Ctx, t: float) -> None:
    """An account back after 120 days without activity (over every shipped dormancy limit up to
    90 days), and one back after 89 days; their history is a short session that long ago."""
    b = ctx.b
    for vendor, days, truth in (("okta", 120, V), ("okta", 89, N), ("google_workspace", 120, V)):
        who = ctx.new_user()
        activity = vendor != "google_workspace"  # the login audit shows sign-ins and sign-outs only
        old = ctx.start(vendor, t - days * DAY, user=who)
        if activity:
            drive(ctx, old, old.start + 900)
        b.end(old, old.last + 60)
        s = ctx.start(vendor, t, user=who)
        spans = [(s.login_eid, s.start), *(drive(ctx, s, t + 900) if activity else [])]
        b.label(
            "account_inactive_use",
            truth,
            s,
            f"{vendor}: account used again after {days} days without activity",
            spans[:1] if truth == V else spans,
            account=who,
        )
        t += 600


def google_grants(ctx: Ctx, t: float) -> None:
    """Google Workspace OAuth grants: revoked, authorized again, then used (a near miss). A use
    after the revocation is not injected: token_revoked_use needs a session id, which the token
    audit does not carry (docs/detection-quality.md, what the generator does not cover)."""
    b = ctx.b
    tokens = ctx.v("google_workspace_token")
    who = ctx.new_user()
    ip = address(b.rng, OFFICE_NETS[1])
    for action, at in (
        ("token_issue", t),
        ("activity", t + 300),
        ("token_revoke", t + 900),
        ("token_issue", t + 1500),
    ):
        b.emit(tokens, Act(action, at, who, None, ip, None))
    eid = b.emit(tokens, Act("activity", t + 1800, who, None, ip, None))
    b.label(
        "token_revoked_use",
        N,
        tokens,
        "google_workspace_token: grant revoked, authorized again, then used",
        [(eid, t + 1800)],
        account=who,
    )
