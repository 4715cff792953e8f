"""Builds a scenario: clean days for a population, plus (unless ``clean``) every injector once a day."""

# ruff: noqa: S311 - seeded pseudo-random numbers on purpose: scenarios must be reproducible
from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench.scenarios.builder import Builder
from bench.scenarios.clean import OFFICE_NETS, VPN_NETS, CleanDay, population
from bench.scenarios.inject import Ctx, expired, idle, lifetime, post_logout, renewal, revoked, token_lifetime
from bench.scenarios.inject_bindings import (
    account_inactive,
    concurrency,
    device_binding,
    ip_binding,
    request_pattern,
)
from bench.scenarios.model import Label, Limits, Scenario, User
from bench.scenarios.vendors import all_vendors, entra

INJECTORS: tuple[Callable[[Ctx, float], None], ...] = (
    idle,
    lifetime,
    post_logout,
    revoked,
    expired,
    token_lifetime,
    renewal,
    account_inactive,
    ip_binding,
    device_binding,
    request_pattern,
    concurrency,
)
EPOCH = datetime(2026, 3, 2, tzinfo=UTC).timestamp()  # a Monday
APPROVED_CLIENTS = ["cp-web-7Qm2xK9v", "cp-mobile-4Lz8nR1d"]
SENSITIVE_PATHS = ["/account/password", "/payments/transfer", "/admin/users"]
SITE_POLICIES = ["baseline", "organisation"]  # a site run also turns the organisation set on


def generate(
    seed: int, days: int, users: int, *, clean: bool = False, limits: Limits | None = None
) -> Scenario:
    rng = random.Random(seed)
    b = Builder(rng, limits or Limits(), APPROVED_CLIENTS)
    vendors = all_vendors()
    people = population(rng, users)
    day = CleanDay(b, vendors)
    extra: list[User] = []

    def new_user() -> User:
        template = population(rng, 1)[0]
        name = f"victim{len(extra) + 1:03d}"
        fresh = User(
            name,
            f"{name}@example.com",
            template.uid,
            1.0,
            template.home_net,
            template.office_net,
            template.devices,
            ["generic"],
            0,
        )
        extra.append(fresh)
        return fresh

    ctx = Ctx(b, vendors, new_user)
    for index in range(days):
        start = EPOCH + index * 86400
        for user in people:
            day.run(user, start)
        if not clean:
            for slot, injector in enumerate(INJECTORS):
                injector(ctx, start + 7 * 3600 + slot * 900 + rng.uniform(0, 600))
    site = {
        "allowed_cidrs": [f"{net}.0/24" for net in OFFICE_NETS + VPN_NETS],
        "allowed_clients": APPROVED_CLIENTS + entra.APP_IDS,
        "allowed_grant_types": ["refresh_token"],
        "sensitive_paths": SENSITIVE_PATHS,
    }
    return Scenario(b.events(), b.labels, site)


def write(scenario: Scenario, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with (out / "events.ndjson").open("w", encoding="utf-8") as handle:
        for event in scenario.events:
            handle.write(json.dumps(event, sort_keys=True) + "\n")
    (out / "truth.json").write_text(
        json.dumps([label.to_json() for label in scenario.labels], indent=1) + "\n"
    )
    (out / "site.json").write_text(json.dumps(scenario.site, indent=1) + "\n")
    (out / "sessionwatch.toml").write_text(site_toml(scenario.site))


def site_toml(site: dict[str, list[str]]) -> str:
    """The scenario's site configuration (docs/configuration.md): the organisation set on top of
    the baseline, and the site's networks, clients, grant types and sensitive paths."""
    lines = [
        "# Site configuration of a generated scenario (bench/scenarios).",
        f"policies = [{', '.join(json.dumps(p) for p in SITE_POLICIES)}]",
        "",
        "[site]",
    ]
    for key, values in site.items():
        lines.append(f"{key} = [{', '.join(json.dumps(v) for v in values)}]")
    return "\n".join(lines) + "\n"


def read_labels(path: Path) -> list[Label]:
    return [Label.from_json(item) for item in json.loads(path.read_text())]
