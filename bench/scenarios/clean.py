"""Clean behaviour drawn from distributions, run by an IdP that enforces the strictest policy.

* users: Zipf activity weights (a few users do most of the work), a laptop and a phone, a
  time zone, an office /24 and a VPN-egress /24 (home work goes through the VPN);
* working days: start ~ N(08:45, 45 min) local, length ~ N(8.5 h, 1 h), 10 % of users off a day;
* at most 3 sessions per account within 15 minutes: an application's sessions follow one another,
  the next starting after the previous one has expired;
* sessions: think times lognormal (median 2-6 min by user weight, sigma 0.9); a pause longer
  than the idle limit ends the session on the IdP's side (termination or silent expiry) or is
  closed by a re-authentication; no session lives past the lifetime limit minus 20 minutes;
* addresses move inside the session's /24 now and then (carrier-grade / office NAT);
* 3 % of Okta events are delivered 5-40 s late (the System Log API is not in time order);
* tokens live one hour and are refreshed (approved client, ``refresh_token`` grant) before expiry.
"""

from __future__ import annotations

import math
import random

from bench.scenarios.builder import Builder
from bench.scenarios.model import Act, Device, User
from bench.scenarios.vendors import base
from bench.scenarios.vendors.base import Vendor

OFFICE_NETS = ["81.2.69", "216.160.83"]
VPN_NETS = ["89.160.20", "67.43.156", "175.16.199"]
OUTSIDE_NETS = ["2.125.160", "1.128.0"]  # never used by clean traffic
CARRIER_NETS = ["202.196.224"]  # phones approving MFA pushes
WORKFORCE_EXTRA = ["google_workspace", "salesforce", "generic", "onepassword", "slack", "zscaler_zpa"]
ENGINEER_TOOLS = ["teleport", "system_auth", "hashicorp_vault", "keycloak"]
LOGIN_LOGOUT_ONLY = frozenset({"salesforce", "system_auth", "google_workspace", "slack"})
SIGN_IN_ONLY = frozenset({"onepassword"})  # the stream shows sign-ins, nothing after them
_CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
_UAS = [
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {_CHROME}",
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {_CHROME}",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
]
_MOBILE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def population(rng: random.Random, count: int) -> list[User]:
    users = []
    for rank in range(1, count + 1):
        name = f"user{rank:03d}"
        uid = f"00u{rng.getrandbits(60):015x}"
        laptop = Device(f"fp-{rng.getrandbits(64):016x}", rng.choice(_UAS), "Computer")
        phone = Device(f"fp-{rng.getrandbits(64):016x}", _MOBILE_UA, "Mobile")
        role = rng.random()
        if role < 0.2:  # customers of the customer portal (Auth0)
            vendors = ["auth0"]
        else:
            vendors = ["okta" if rng.random() < 0.6 else "entra"]
            if vendors[0] == "okta" and rng.random() < 0.5:
                vendors.append("cisco_duo")  # Okta sign-ins approved by a Duo push
            vendors += [v for v in WORKFORCE_EXTRA if rng.random() < 0.4]
            if role > 0.75:
                vendors += ENGINEER_TOOLS
        users.append(
            User(
                name=name,
                email=f"{name}@example.com",
                uid=uid,
                weight=1.0 / rank**0.8,
                home_net=rng.choice(VPN_NETS),
                office_net=rng.choice(OFFICE_NETS),
                devices=[laptop, phone],
                vendors=vendors,
                tz_offset_h=rng.choice([0, 0, 1, -5]),
            )
        )
    return users


def address(rng: random.Random, net: str) -> str:
    return f"{net}.{rng.randint(2, 254)}"


class CleanDay:
    """One user's clean working day on each of their vendors."""

    def __init__(self, b: Builder, vendors: dict[str, Vendor]) -> None:
        self.b = b
        self.rng = b.rng
        self.vendors = vendors

    def run(self, user: User, day_start: float) -> None:
        rng = self.rng
        if rng.random() < 0.1:
            return
        start = day_start + (8.75 - user.tz_offset_h) * 3600 + rng.gauss(0, 2700)
        stop = start + max(4.0, rng.gauss(8.5, 1.0)) * 3600
        net = user.office_net if rng.random() < 0.6 else user.home_net
        for name in user.vendors:
            if name == "cisco_duo":
                continue  # written with each Okta sign-in
            vendor = self.vendors[name]
            if name in ("okta", "entra", "auth0"):
                self.sessions(vendor, user, start, stop, net)
                if name != "auth0" and rng.random() < 0.15:  # a short phone session
                    t = rng.uniform(start, stop - 3600)
                    self.session(vendor, user, t, t + rng.uniform(300, 1500), net, user.devices[1])
            else:  # 1-3 sessions one after the other, at random times of the day
                t = start
                for _ in range(rng.randint(1, 3)):
                    t = rng.uniform(t, max(t, stop - 1800))
                    end = self.session(vendor, user, t, min(stop, t + rng.uniform(600, 3 * 3600)), net)
                    t = end + self.b.limits.idle + 60  # the previous session has expired by then

    def sessions(self, vendor: Vendor, user: User, start: float, stop: float, net: str) -> None:
        t = start
        while t < stop - 600:
            # a session left open counts until it expires: the next one starts after that
            t = self.session(vendor, user, t, stop, net) + self.b.limits.idle + self.rng.uniform(60, 1800)

    def think(self, user: User) -> float:
        median = 120 + 240 * (1 - math.sqrt(user.weight))
        return self.rng.lognormvariate(math.log(median), 0.9)

    def session(
        self, vendor: Vendor, user: User, t: float, stop: float, net: str, device: Device | None = None
    ) -> float:
        """Drive one clean session from ``t``; returns when it ended."""
        b, rng, limits = self.b, self.rng, self.b.limits
        s = b.start(vendor, user, t, device or user.devices[0], address(rng, net))
        if vendor.name == "okta" and "cisco_duo" in user.vendors:
            duo_push(b, self.vendors["cisco_duo"], user, t - rng.uniform(3, 15), s.ip)
        if vendor.name in SIGN_IN_ONLY:
            return t
        hard_stop = min(stop, t + limits.lifetime - 1200)
        if vendor.name in LOGIN_LOGOUT_ONLY:  # the activity in between is not in these streams
            if vendor.name == "google_workspace" and rng.random() < 0.3:
                b.reauth(s, t + rng.uniform(5, 30))
            end = rng.uniform(t + 600, max(t + 900, hard_stop))
            b.end(s, end)
            return end
        while True:
            gap = self.think(user)
            now = s.last + gap
            if now >= hard_stop:
                break
            if gap >= limits.idle - 30:  # the IdP expired the session
                if base.REAUTH in vendor.caps and rng.random() < 0.3:
                    b.reauth(s, now)
                    b.use(s, now + rng.uniform(2, 20))
                    continue
                if vendor.name == "okta" and rng.random() < 0.5:
                    b.end(s, s.last + limits.idle + rng.uniform(1, 60), how="termination")
                elif base.LOGOUT in vendor.caps and vendor.name != "okta":
                    b.end(s, s.last + rng.uniform(5, 120))
                return s.last + gap
            if s.token is not None and now >= s.token.issued_at + s.token.ttl - 300:
                if base.TOKEN_REFRESH not in vendor.caps:
                    break  # Vault: a new login when the token is near its end
                b.refresh(s, max(s.last + 1, s.token.issued_at + s.token.ttl - rng.uniform(300, 600)))
                continue
            if rng.random() < 0.03:  # NAT moved the address inside its /24
                s.ip = address(rng, s.ip.rsplit(".", 1)[0])
            # the Okta System Log API does not deliver in time order: a few events come late
            late = rng.uniform(5, 40) if vendor.name == "okta" and rng.random() < 0.03 else 0.0
            path = rng.choice(["/app", "/app/reports", "/app/search", "/app/docs"])
            b.use(s, now, path=path, extra={"delivered_after": late})
        if base.LOGOUT in vendor.caps and rng.random() < 0.7:
            b.end(s, s.last + rng.uniform(5, 300))
        return s.last


def duo_push(b: Builder, duo: Vendor, user: User, t: float, ip: str) -> str:
    """A Duo push approved on the user's phone (carrier network) for a sign-in from ``ip``."""
    phone_ip = address(b.rng, CARRIER_NETS[0])
    return b.emit(duo, Act("login", t, user, None, ip, user.devices[-1], extra={"auth_device_ip": phone_ip}))
