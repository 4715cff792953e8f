"""The facts vocabulary: one definition from which the docs table and the ES mapping come.

Canonical fields (written by profiles) and facts (written by enrichers) all live under
``sessionwatch.*``; none depends on a policy threshold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

EsType = Literal["keyword", "date", "ip", "long", "double", "boolean"]


@dataclass(frozen=True)
class Fact:
    name: str
    type: EsType
    meaning: str
    source: str  # "profile" for canonical fields, else the enricher that computes it


FACTS: tuple[Fact, ...] = (
    # --- canonical fields, written by the input profile -------------------------------------
    Fact(
        "sessionwatch.event.id",
        "keyword",
        "Event id: `event.id` when the source has one, else a SHA-256 of the raw line.",
        "profile",
    ),
    Fact(
        "sessionwatch.event.profile", "keyword", "Name of the input profile that mapped the event.", "profile"
    ),
    Fact(
        "sessionwatch.event.action",
        "keyword",
        "Normalized action: login, reauth, activity, logout, termination, token_issue, "
        "token_refresh, token_revoke, account_disable, account_enable.",
        "profile",
    ),
    Fact("sessionwatch.event.outcome", "keyword", "success, failure or unknown.", "profile"),
    Fact(
        "sessionwatch.event.accepted",
        "boolean",
        "The source accepted the request (outcome is not failure).",
        "profile",
    ),
    Fact("sessionwatch.session.id", "keyword", "Session id, from the profile's session field.", "profile"),
    Fact("sessionwatch.token.id", "keyword", "Token or credential id, when the source has one.", "profile"),
    Fact("sessionwatch.token.issued_at", "date", "When the token was issued (`iat`), if known.", "profile"),
    Fact(
        "sessionwatch.token.expires_at",
        "date",
        "When the token expires (`exp`, or issue time + TTL), if known.",
        "profile",
    ),
    Fact(
        "sessionwatch.token.client_id",
        "keyword",
        "OAuth client / application that holds the token.",
        "profile",
    ),
    Fact(
        "sessionwatch.token.grant_type",
        "keyword",
        "Flow that issued or renewed the token (refresh_token, authorization_code, …).",
        "profile",
    ),
    Fact("sessionwatch.actor.name", "keyword", "Who acted (user name or id).", "profile"),
    Fact("sessionwatch.source.ip", "ip", "Client address of the request.", "profile"),
    Fact("sessionwatch.device.id", "keyword", "Device id reported by the source.", "profile"),
    Fact(
        "sessionwatch.url.path",
        "keyword",
        "Request path or API operation, when the source has one.",
        "profile",
    ),
    # --- session clock -----------------------------------------------------------------------
    Fact(
        "sessionwatch.session.start",
        "date",
        "Session start: the login event when observed, else the first event seen.",
        "session_clock",
    ),
    Fact(
        "sessionwatch.session.start_observed",
        "boolean",
        "True when session.start is an observed login, false when it is only the first event seen.",
        "session_clock",
    ),
    Fact(
        "sessionwatch.session.sequence",
        "long",
        "1-based position of the event in its session.",
        "session_clock",
    ),
    Fact(
        "sessionwatch.session.age_seconds",
        "double",
        "Seconds from session.start to this event.",
        "session_clock",
    ),
    Fact(
        "sessionwatch.session.idle_seconds",
        "double",
        "Seconds since the session's previous accepted event (absent on the first).",
        "session_clock",
    ),
    Fact(
        "sessionwatch.session.reauth",
        "boolean",
        "This event (re-)authenticates the session: a successful login or reauth.",
        "session_clock",
    ),
    Fact(
        "sessionwatch.session.since_auth_seconds",
        "double",
        "Seconds since the session's latest successful login or reauth (absent if none seen).",
        "session_clock",
    ),
    # --- session lifecycle -------------------------------------------------------------------
    Fact(
        "sessionwatch.session.ended",
        "boolean",
        "A logout or termination of this session was seen before this event.",
        "lifecycle",
    ),
    Fact("sessionwatch.session.end_action", "keyword", "logout or termination: how it ended.", "lifecycle"),
    Fact(
        "sessionwatch.session.since_end_seconds",
        "double",
        "Seconds since that logout or termination.",
        "lifecycle",
    ),
    # --- tokens ------------------------------------------------------------------------------
    Fact(
        "sessionwatch.token.lifetime_seconds",
        "double",
        "Token lifetime as issued: expires_at - issued_at.",
        "token_clock",
    ),
    Fact(
        "sessionwatch.token.past_expiry_seconds",
        "double",
        "Seconds this event comes after the token's expiry (negative while still valid).",
        "token_clock",
    ),
    Fact(
        "sessionwatch.token.revoked",
        "boolean",
        "The token (or its session) was revoked before this event.",
        "token_clock",
    ),
    Fact(
        "sessionwatch.token.since_revocation_seconds",
        "double",
        "Seconds since that revocation.",
        "token_clock",
    ),
    # --- network binding ---------------------------------------------------------------------
    Fact("sessionwatch.ip.first", "ip", "First client address seen in the session.", "ip_binding"),
    Fact("sessionwatch.ip.previous", "ip", "Client address of the session's previous event.", "ip_binding"),
    Fact(
        "sessionwatch.ip.changed", "boolean", "The address differs from the previous event's.", "ip_binding"
    ),
    Fact(
        "sessionwatch.ip.prefix_changed",
        "boolean",
        "The network prefix (/24 IPv4, /64 IPv6) differs from the session's first address.",
        "ip_binding",
    ),
    Fact("sessionwatch.ip.distinct", "long", "Distinct addresses seen in the session so far.", "ip_binding"),
    # --- device binding ----------------------------------------------------------------------
    Fact(
        "sessionwatch.device.fingerprint",
        "keyword",
        "The device id when present, else `ua:` + the first 16 hex digits of the SHA-256 of the user agent.",
        "device_binding",
    ),
    Fact(
        "sessionwatch.device.first", "keyword", "Fingerprint of the session's first device.", "device_binding"
    ),
    Fact(
        "sessionwatch.device.changed",
        "boolean",
        "The fingerprint differs from the session's first device.",
        "device_binding",
    ),
    Fact(
        "sessionwatch.device.distinct",
        "long",
        "Distinct device fingerprints in the session.",
        "device_binding",
    ),
    # --- GeoIP / ASN (only with a MaxMind database) -----------------------------------------
    Fact(
        "sessionwatch.geo.country_iso_code",
        "keyword",
        "Country of the client address (MaxMind City or Country database).",
        "geoip",
    ),
    Fact(
        "sessionwatch.geo.country_changed",
        "boolean",
        "The country differs from the session's first known country.",
        "geoip",
    ),
    Fact("sessionwatch.geo.asn", "long", "Autonomous system number of the client address.", "geoip"),
    Fact("sessionwatch.geo.as_org", "keyword", "Organisation of that autonomous system.", "geoip"),
    Fact(
        "sessionwatch.geo.asn_changed",
        "boolean",
        "The autonomous system differs from the session's first known one.",
        "geoip",
    ),
    # --- account -----------------------------------------------------------------------------
    Fact(
        "sessionwatch.account.status",
        "keyword",
        "active, disabled, deprovisioned or unknown (inventory, then account_disable / "
        "account_enable events on the account).",
        "account_status",
    ),
    Fact(
        "sessionwatch.account.dormant_days",
        "double",
        "Days since the account's previous activity (inventory last-seen or history).",
        "account_status",
    ),
    Fact(
        "sessionwatch.account.last_seen",
        "date",
        "The account's previous accepted activity that dormant_days counts from.",
        "account_status",
    ),
    Fact(
        "sessionwatch.account.target",
        "keyword",
        "On account_disable / account_enable events: the account acted on (the profile's "
        "account_target field; never the actor).",
        "profile",
    ),
    # --- request pattern ---------------------------------------------------------------------
    Fact(
        "sessionwatch.session.requests_last_minute",
        "long",
        "Events of the session in the 60 seconds up to and including this one.",
        "request_pattern",
    ),
    Fact(
        "sessionwatch.session.path_first_use",
        "boolean",
        "First time this session used this url.path.",
        "request_pattern",
    ),
    # --- data quality ------------------------------------------------------------------------
    Fact(
        "sessionwatch.quality.out_of_order",
        "boolean",
        "The event is older than an event its session already processed, even after the reorder "
        "window; only the canonical fields were computed, no other fact.",
        "engine",
    ),
    Fact(
        "sessionwatch.quality.state_evicted",
        "boolean",
        "The session's earlier state had been evicted (idle past the horizon, ended past the "
        "retention, or the memory cap); its facts restart from this event.",
        "engine",
    ),
    Fact(
        "sessionwatch.quality.repaired_fields",
        "keyword",
        "Fields of the input Elasticsearch would have refused (a non-IP `client.ip`, a "
        "`@timestamp` with a space for `T`, an object where a keyword is mapped, a repeated "
        "key): `@timestamp` was rewritten as ISO-8601 UTC, the others removed. Their original "
        "values are kept as JSON text in `sessionwatch.quality.original_values`.",
        "engine",
    ),
    Fact(
        "sessionwatch.quality.original_values",
        "keyword",
        "JSON object text: each repaired field's path and its value as the input had it.",
        "engine",
    ),
)

# ECS fields read by profiles and rules; mapped explicitly so rule scopes and alerts can use them.
ECS_FIELDS: tuple[tuple[str, EsType], ...] = (
    ("@timestamp", "date"),
    ("event.id", "keyword"),
    ("event.action", "keyword"),
    ("event.outcome", "keyword"),
    ("event.category", "keyword"),
    ("event.type", "keyword"),
    ("event.dataset", "keyword"),
    ("event.kind", "keyword"),
    ("data_stream.dataset", "keyword"),
    ("user.name", "keyword"),
    ("user.id", "keyword"),
    ("user.email", "keyword"),
    ("source.ip", "ip"),
    ("client.ip", "ip"),
    ("device.id", "keyword"),
    ("user_agent.original", "keyword"),
    ("host.name", "keyword"),
    ("host.hostname", "keyword"),
    ("url.path", "keyword"),
    ("http.request.method", "keyword"),
)


# Longest keyword indexed, in characters: 8,191 of up to 4 UTF-8 bytes each stay under Lucene's
# 32,766-byte term limit. Longer values are kept in _source but unsearchable, so the engine
# replaces a longer identifier in the facts by ``sha256:<hex>`` of it (see ``canonical``).
KEYWORD_LIMIT = 8191


def fact_names() -> frozenset[str]:
    return frozenset(f.name for f in FACTS)


def _properties(fields: Iterable[tuple[str, EsType]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for name, es_type in fields:
        node = root
        *parents, leaf = name.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        spec: dict[str, Any] = {"type": es_type}
        if es_type == "keyword":
            spec["ignore_above"] = KEYWORD_LIMIT
        node[leaf] = spec
    return root


def events_mapping() -> dict[str, Any]:
    """Mapping for enriched-event indices; unknown vendor fields stay in _source, unindexed."""
    fields = [*ECS_FIELDS, *((f.name, f.type) for f in FACTS)]
    return {"dynamic": False, "properties": _properties(fields)}


def markdown_table() -> str:
    """The facts reference table for the docs."""
    lines = ["| field | type | set by | meaning |", "|---|---|---|---|"]
    lines += [f"| `{f.name}` | {f.type} | {f.source} | {f.meaning} |" for f in FACTS]
    return "\n".join(lines) + "\n"


DOC_HEADER = """# Facts reference

<!-- Generated from enrichers/facts.py by `python -m sessionwatch.enrichers facts`; do not edit. -->

Every enriched event carries these fields under `sessionwatch.*`. *Set by* `profile` means the
input profile maps it from the source's own fields (see [profiles.md](profiles.md)); any other
value names the enricher that computes it (`engine` = the facts engine itself). No fact depends
on a policy threshold: rules apply the thresholds. Durations are seconds (`dormant_days`: days),
dates are ISO-8601 UTC. A fact that cannot be known for an event is absent, never null.

Types are the Elasticsearch field types of the generated index mapping
(`sessionwatch.enrichers.events_mapping()`): `ip` fields accept CIDR `term` queries, numbers
accept `range` queries.

"""


def markdown_document() -> str:
    """The whole of docs/facts.md."""
    return DOC_HEADER + markdown_table()
