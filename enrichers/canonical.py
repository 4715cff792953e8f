"""From a raw document and its profile to a ``CanonicalEvent``; bad values raise ``BadEvent``."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sessionwatch.enrichers.base import CanonicalEvent, event_maker
from sessionwatch.enrichers.events import compile_path, has_dotted_keys
from sessionwatch.enrichers.facts import KEYWORD_LIMIT
from sessionwatch.enrichers.profiles import Profile
from sessionwatch.enrichers.timefmt import isoformat, remember


class BadEvent(ValueError):
    """Why an input line cannot be enriched (becomes the dead-letter reason)."""


_TIMESTAMP = compile_path("@timestamp")


ACCOUNT_ACTIONS = frozenset({"account_disable", "account_enable"})
LATEST = 253402300799.0  # 9999-12-31T23:59:59Z: the last second datetime can format


def _float(value: float | str) -> float:
    try:
        return float(value)
    except (OverflowError, ValueError):  # 10**400 in JSON, or not a number at all
        return float("nan")


def _in_range(seconds: float, what: str) -> float:
    if not 0.0 <= seconds <= LATEST:  # also rejects NaN
        raise BadEvent(f"{what} is out of range (1970 to 9999): {seconds!r}")
    return seconds


def _iso(value: str, what: str) -> float:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadEvent(f"{what} is not ISO-8601: {value[:64]!r}") from None
    if moment.tzinfo is None:
        raise BadEvent(f"{what} has no UTC offset: {value[:64]!r}")
    return _in_range(moment.timestamp(), what)


def parse_timestamp(value: Any) -> float:
    """``@timestamp`` as epoch seconds: ISO-8601 with an offset, or epoch milliseconds."""
    if isinstance(value, bool) or value is None:
        raise BadEvent("missing @timestamp")
    if isinstance(value, int | float):
        return _in_range(_float(value) / 1000.0, "@timestamp")
    if not isinstance(value, str):
        raise BadEvent(f"@timestamp has type {type(value).__name__}, expected a string")
    return _iso(value, "@timestamp")


def parse_token_time(value: Any, what: str) -> float | None:
    """A token time: ISO-8601 with an offset, or epoch *seconds* (the JWT ``iat``/``exp`` unit)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadEvent(f"{what} has type bool, expected a date")
    if isinstance(value, int | float):
        return _in_range(_float(value), what)
    if isinstance(value, str):
        return _iso(value, what)
    raise BadEvent(f"{what} has type {type(value).__name__}, expected a date")


def parse_seconds(value: Any, what: str) -> float | None:
    if value is None:
        return None
    number = (
        _float(value)
        if isinstance(value, int | float | str) and not isinstance(value, bool)
        else float("nan")
    )
    if 0.0 <= number <= LATEST:
        return number
    raise BadEvent(f"{what} is not a number of seconds: {str(value)[:64]!r}")


def _text(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        value = value[0]  # ECS allows arrays for keyword fields; the first names the thing
    if isinstance(value, str):
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate from a JSON \ud800 escape
                raise BadEvent(f"{what} is not valid Unicode: {value[:64]!r}") from None
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise BadEvent(f"{what} has type {type(value).__name__}, expected a string")


_IP_CACHE: dict[str, str] = {}


def _ip(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list) and value:
        value = value[0]
    if not isinstance(value, str):
        raise BadEvent(f"source IP has type {type(value).__name__}, expected a string")
    found = _IP_CACHE.get(value)
    if found is not None:
        return found
    try:
        found = str(ipaddress.ip_address(value))
    except ValueError:
        raise BadEvent(f"invalid IP address {value[:64]!r}") from None
    if len(_IP_CACHE) >= 65536:
        _IP_CACHE.clear()
    _IP_CACHE[value] = found
    return found


def canonicalize(
    doc: Mapping[str, Any], profile: Profile, raw: str, dotted: bool | None = None
) -> CanonicalEvent:
    if dotted is None:
        dotted = has_dotted_keys(doc)
    if not dotted:
        return _canonicalize_plain(doc, profile, raw)
    got = profile.extract(doc, dotted).get
    event_id = _text(got("event_id"), "event id")
    if event_id is None:
        event_id = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    issued = expires = None
    if profile.has_token_times:
        issued = parse_token_time(got("token_issued_at"), "token issue time")
        expires = parse_token_time(got("token_expires_at"), "token expiry")
        ttl = parse_seconds(got("token_ttl"), "token TTL")
        if expires is None and issued is not None and ttl:  # TTL 0: no expiry (Vault root tokens)
            expires = _in_range(issued + ttl, "token issue time + TTL")
    stamp = _TIMESTAMP(doc, dotted)
    timestamp = parse_timestamp(stamp)
    if type(stamp) is str:
        remember(timestamp, stamp)  # session start, account last seen: formatted for free
    return CanonicalEvent(  # positional: this runs once per event
        timestamp,
        event_id,
        profile.name,
        profile.action(doc, dotted, got("action")),
        profile.outcome(doc, dotted, got("outcome")),
        _text(got("session_id"), "session id"),
        _text(got("token_id"), "token id"),
        _text(got("actor"), "actor"),
        _ip(got("source_ip")),
        _text(got("device_id"), "device id"),
        doc,
        _text(got("user_agent"), "user agent"),
        issued,
        expires,
        _text(got("client_id"), "client id"),
        _text(got("grant_type"), "grant type"),
        _text(got("url_path"), "url path"),
        _text(got("revoke_target"), "revocation target"),
        _text(got("account_target"), "account target"),
    )


def _canonicalize_plain(doc: Mapping[str, Any], profile: Profile, raw: str) -> CanonicalEvent:
    """``canonicalize`` of a document without dotted keys: the same values, checks and errors in
    the same order, from one tuple of the profile's values; ``_text`` only for what is not None
    or an ASCII string (which it would return unchanged)."""
    (
        event_id,
        issued,
        expires,
        ttl,
        action,
        outcome,
        session_id,
        token_id,
        actor,
        source_ip,
        device_id,
        user_agent,
        client_id,
        grant_type,
        url_path,
        revoke_target,
        account_target,
    ) = profile.canonical_values(doc)
    if event_id is None:
        event_id = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
    elif type(event_id) is not str or not event_id.isascii():
        event_id = _text(event_id, "event id")
    if profile.has_token_times:
        issued = parse_token_time(issued, "token issue time")
        expires = parse_token_time(expires, "token expiry")
        ttl = parse_seconds(ttl, "token TTL")
        if expires is None and issued is not None and ttl:  # TTL 0: no expiry (Vault root tokens)
            expires = _in_range(issued + ttl, "token issue time + TTL")
    else:
        issued = expires = None
    stamp = _TIMESTAMP(doc, False)
    timestamp = parse_timestamp(stamp)
    if type(stamp) is str:
        remember(timestamp, stamp)
    action = profile.action(doc, False, action)
    outcome = profile.outcome(doc, False, outcome)
    if session_id is not None and (type(session_id) is not str or not session_id.isascii()):
        session_id = _text(session_id, "session id")
    if token_id is not None and (type(token_id) is not str or not token_id.isascii()):
        token_id = _text(token_id, "token id")
    if actor is not None and (type(actor) is not str or not actor.isascii()):
        actor = _text(actor, "actor")
    source_ip = _ip(source_ip)
    if device_id is not None and (type(device_id) is not str or not device_id.isascii()):
        device_id = _text(device_id, "device id")
    if user_agent is not None and (type(user_agent) is not str or not user_agent.isascii()):
        user_agent = _text(user_agent, "user agent")
    if client_id is not None and (type(client_id) is not str or not client_id.isascii()):
        client_id = _text(client_id, "client id")
    if grant_type is not None and (type(grant_type) is not str or not grant_type.isascii()):
        grant_type = _text(grant_type, "grant type")
    if url_path is not None and (type(url_path) is not str or not url_path.isascii()):
        url_path = _text(url_path, "url path")
    if revoke_target is not None and (type(revoke_target) is not str or not revoke_target.isascii()):
        revoke_target = _text(revoke_target, "revocation target")
    if account_target is not None and (type(account_target) is not str or not account_target.isascii()):
        account_target = _text(account_target, "account target")
    return event_maker()(
        timestamp,
        event_id,
        profile.name,
        action,
        outcome,
        session_id,
        token_id,
        actor,
        source_ip,
        device_id,
        doc,
        user_agent,
        issued,
        expires,
        client_id,
        grant_type,
        url_path,
        revoke_target,
        account_target,
    )


def _keyword(value: str) -> str:
    """``value``, or ``sha256:<hex>`` of it when it is longer than a keyword field indexes (a rule
    could not match it there)."""
    if len(value) > KEYWORD_LIMIT:
        return "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    return value


def canonical_groups(event: CanonicalEvent) -> dict[str, Any]:
    """The canonical fields as the start of the nested ``sessionwatch`` object: what
    ``nest_facts`` makes of ``canonical_fields`` once long identifiers are hashed (absent values
    left out), built directly."""
    outcome = event.outcome
    out: dict[str, Any] = {
        "event": {
            "id": event.event_id if len(event.event_id) <= KEYWORD_LIMIT else _keyword(event.event_id),
            "profile": event.profile,
            "action": event.action,
            "outcome": outcome,
            "accepted": outcome != "failure",
        }
    }
    value = event.session_id
    if value is not None:
        out["session"] = {"id": value if len(value) <= KEYWORD_LIMIT else _keyword(value)}
    token: dict[str, Any] | None = None
    value = event.token_id
    if value is not None:
        token = out["token"] = {"id": value if len(value) <= KEYWORD_LIMIT else _keyword(value)}
    value = event.client_id
    if value is not None:
        if token is None:
            token = out["token"] = {}
        token["client_id"] = value if len(value) <= KEYWORD_LIMIT else _keyword(value)
    value = event.grant_type
    if value is not None:
        if token is None:
            token = out["token"] = {}
        token["grant_type"] = value
    value = event.actor
    if value is not None:
        out["actor"] = {"name": value if len(value) <= KEYWORD_LIMIT else _keyword(value)}
    value = event.source_ip
    if value is not None:
        out["source"] = {"ip": value}
    value = event.device_id
    if value is not None:
        out["device"] = {"id": value if len(value) <= KEYWORD_LIMIT else _keyword(value)}
    value = event.url_path
    if value is not None:
        out["url"] = {"path": value if len(value) <= KEYWORD_LIMIT else _keyword(value)}
    if event.action in ACCOUNT_ACTIONS and event.account_target is not None:
        out["account"] = {"target": event.account_target}
    moment = event.token_issued_at
    if moment is not None:
        if token is None:
            token = out["token"] = {}
        token["issued_at"] = isoformat(moment)
    moment = event.token_expires_at
    if moment is not None:
        if token is None:
            token = out["token"] = {}
        token["expires_at"] = isoformat(moment)
    return out


def canonical_fields(event: CanonicalEvent) -> dict[str, Any]:
    """The canonical fields as facts (absent values are left out)."""
    out: dict[str, Any] = {
        "sessionwatch.event.id": event.event_id,
        "sessionwatch.event.profile": event.profile,
        "sessionwatch.event.action": event.action,
        "sessionwatch.event.outcome": event.outcome,
        "sessionwatch.event.accepted": event.outcome != "failure",
    }
    for name, value in (
        ("sessionwatch.session.id", event.session_id),
        ("sessionwatch.token.id", event.token_id),
        ("sessionwatch.token.client_id", event.client_id),
        ("sessionwatch.token.grant_type", event.grant_type),
        ("sessionwatch.actor.name", event.actor),
        ("sessionwatch.source.ip", event.source_ip),
        ("sessionwatch.device.id", event.device_id),
        ("sessionwatch.url.path", event.url_path),
    ):
        if value is not None:
            out[name] = value
    if event.action in ACCOUNT_ACTIONS and event.account_target is not None:
        # the account acted on, never the actor (an admin suspending someone stays active)
        out["sessionwatch.account.target"] = event.account_target
    if event.token_issued_at is not None:
        out["sessionwatch.token.issued_at"] = isoformat(event.token_issued_at)
    if event.token_expires_at is not None:
        out["sessionwatch.token.expires_at"] = isoformat(event.token_expires_at)
    return out
