"""docs/profiles.md, generated from the shipped profile files (so the reference cannot drift)."""

from __future__ import annotations

from collections.abc import Iterable

from sessionwatch.enrichers.profiles import ACTIONS, Condition, PathSpec, Profile, load_builtin

INTRO = (
    """# Input profiles

<!-- Generated from enrichers/profiles/*.yml by `python -m sessionwatch.enrichers profiles`; do not edit. -->

A profile maps one source's ECS layout — as the corresponding Elastic integration writes it —
onto sessionwatch's canonical fields: session id, token id, actor, normalized action, outcome,
source IP, device, and the token, client and path details some facts need. Profiles are data
(YAML validated by `enrichers/profile_schema.json`), not code.

## How a profile is chosen

Per event, from `event.dataset`, else `data_stream.dataset`: a profile that names the dataset
exactly wins, then one whose pattern (`generic.*`) matches. An event without either label goes
to the profile with `claims_unlabelled: true` (the generic one). One mixed stream therefore
needs no flag; `enrich --profile NAME` forces one profile for every event. An event that no
profile claims is **passed through unchanged** (byte for byte) and counted as `passed_through`.
When an event's `event.dataset` names no profile, its `data_stream.dataset` is tried next (a
custom pipeline may rename one of them).

When more than half of an input's events went to the generic profile or passed through, `enrich`
says so on stderr: the datasets it saw and the `--profile NAME` flag to name their source. Events
that look like a vendor API's own JSON (Okta `eventType`/`uuid`, CloudTrail `eventName`, …) get a
line saying that the ECS layout the Elastic integration writes is expected: the profiles read
the integrations' field paths, not the vendors' raw records.

## The format

```yaml
name: acme                       # unique; [a-z0-9_.-]
description: ACME portal access log
datasets: ["acme.portal", "acme.*"]
claims_unlabelled: false         # true: also take events with no dataset label
fields:                          # canonical field -> paths tried in order, first non-empty wins
  session_id:
    - acme.session.id
    - {join: [host.hostname, process.pid], separator: ":"}   # composite key: every part needed
  token_id: [acme.token.jti]
  actor: [user.name]
  source_ip: [source.ip]
  device_id: [device.id]
  user_agent: [user_agent.original]
  outcome: [event.outcome]       # values listed under outcomes (case-insensitive; lists allowed)
  event_id: [event.id]           # else a SHA-256 of the raw line
  action: [event.action]         # looked up in `actions`
  token_issued_at: [acme.token.iat]    # ISO-8601 with offset, or epoch seconds
  token_expires_at: [acme.token.exp]   # idem; else issued_at + token_ttl
  token_ttl: [acme.token.ttl]          # seconds; 0 = no expiry
  client_id: [acme.oauth.client_id]
  grant_type: [acme.oauth.grant_type]
  url_path: [url.path]
  revoke_target: [acme.revoked.jti]    # on token_revoke: the token revoked (else its own)
  account_target:                      # on account_disable / account_enable: the account acted on
    - user.target.name                 #   (never the actor: without a target nothing changes)
    - "acme.targets[type=User].name"   # [key=value] picks the array element whose key matches
actions:                         # vendor action value -> canonical action (case-insensitive)
  login: [signin]
  logout: [signout]
action_rules:                    # tried first, in order; every condition must hold
  - action: token_revoke
    when:
      - {field: url.path, prefix: ["/oauth/revoke"]}
      - {field: event.outcome, equals: [success]}
default_action: activity
outcomes: {success: [success], failure: [failure, denied]}
caveats: ["What a reader of alerts from this source must know."]
references:                      # the vendor documentation the action mapping rests on
  - {title: "ACME audit event reference", url: "https://docs.example.com/audit-events"}
```

Canonical actions: """
    + ", ".join(f"`{a}`" for a in ACTIONS)
    + """. Conditions test one field with
`equals`, `prefix`, `suffix`, `contains` (any of the listed strings, case-insensitive; a list-valued
field matches when any element does) or `exists: true|false`. Matching costs a few dictionary
lookups per event: no regular expressions, every path compiled once. A path may enter one array:
`okta.target[type=User].alternate_id` reads the first element whose `type` is `User` (case-insensitive;
`[]` takes any element); when no element matches there is no value — nothing else is read instead.

What the actions mean, whatever the vendor calls them:

- **login** starts or re-authenticates a session; **reauth** re-authenticates inside one (step-up,
  MFA prompt). Both restart the time since authentication.
- **activity** is use of the session (an app opened through single sign-on is use, not authentication).
- **logout** and **termination** end the session. Ending a session is not using it: the use-based
  rule kinds (idle timeout, lifetime, post-logout, IP / device binding, request pattern) never
  fire on these events.
- **account_disable** / **account_enable** act on the *target* account (`account_target`), never on
  the admin who performs them; an enable (unsuspend, activate, reactivate, unlock) restores the
  account from that moment on.

Dates without a UTC offset, IP addresses that do not parse, and ids that are not strings send
the event to the dead letter with the reason; nothing is guessed.

## Third-party profiles

A package adds profiles through the `sessionwatch.profiles` entry point; its object is a
callable returning `Profile` objects (for example `profile_from_yaml(text, origin)` over files
it ships). A name used twice is an error naming both origins.

```toml
[project.entry-points."sessionwatch.profiles"]
acme = "acme_sessionwatch:profiles"
```

## Shipped profiles
"""
)


def _spec(spec: PathSpec) -> str:
    if isinstance(spec, str):
        return f"`{spec}`"
    separator = spec.get("separator", "|")
    return "`" + f"` {separator!r} `".join(spec["join"]) + "` (joined)"


def _profile(profile: Profile) -> Iterable[str]:
    yield f"\n### `{profile.name}`\n"
    yield f"{profile.description}\n"
    yield (
        "Datasets: "
        + ", ".join(f"`{d}`" for d in profile.datasets)
        + (" (and events with no dataset label)" if profile.claims_unlabelled else "")
        + "\n"
    )
    yield "| canonical field | read from (first non-empty) |"
    yield "|---|---|"
    specs = profile.specs if profile.specs is not None else profile.fields
    for key, paths in specs.items():
        yield f"| {key} | {', '.join(_spec(p) for p in paths)} |"
    yield ""
    yield from _mapping(profile)
    if profile.caveats:
        yield "Caveats:\n"
        for caveat in profile.caveats:
            yield f"- {caveat}"
        yield ""


def _condition(c: Condition) -> str:
    if c.op == "exists":
        return f"`{c.path}` {'present' if c.exists else 'absent'}"
    return f"`{c.path}` {c.op} " + " / ".join(f"`{v}`" for v in c.values)


def _mapping(profile: Profile) -> Iterable[str]:
    """The vendor event → sessionwatch action table, and the documentation it rests on."""
    yield "| vendor event | sessionwatch action |"
    yield "|---|---|"
    for rule in profile.action_rules:
        yield f"| {' and '.join(_condition(c) for c in rule.when)} | **{rule.action}** |"
    by_action: dict[str, list[str]] = {}
    for value, action in profile.actions.items():
        by_action.setdefault(action, []).append(value)
    for action in ACTIONS:
        for value in by_action.get(action, []):
            yield f"| `{value}` | {action} |"
    yield f"| any other event | {profile.default_action} |"
    yield ""
    if profile.references:
        yield "The mapping rests on the vendor's documentation:\n"
        for title, url in profile.references:
            yield f"- [{title}]({url})"
        yield ""
    else:
        yield "The mapping is sessionwatch's own convention (no vendor documentation applies).\n"


def markdown_document(profiles: Iterable[Profile] | None = None) -> str:
    chosen = sorted(profiles if profiles is not None else load_builtin(), key=lambda p: p.name)
    lines = [INTRO.rstrip("\n")]
    for profile in chosen:
        lines += list(_profile(profile))
    return "\n".join(lines).rstrip("\n") + "\n"
