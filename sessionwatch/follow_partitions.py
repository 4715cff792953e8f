"""Sharing a source among followers: partitions by actor, and the scriptless query of each.

An event belongs to the partition of its **actor** (the account the profile names), by the
actor's last character (before the last ``@`` of an email address: the domain is the same for
everyone): ``0-9a-z`` (either case) are dealt round-robin to ``P`` partitions, any other
character and an event without an actor go to partition 0. An account's whole
history, hence each of its sessions, stays in one partition; so do the stream-scoped facts
(account status, dormancy, tokens). The events that act on *another* account or token
(``account_disable``, ``account_enable``, ``token_revoke``) are read by every partition, which
feeds them to its engine for their effect and writes them only when it owns their actor.

The query a partition reads with is a **superset** of its events, built without scripts from
the mapping (``field_caps``, asked after the point in time is opened, so a field mapped
meanwhile is seen): for every actor path of every profile, a ``regexp`` on the path's keyword
field (``key_regexp``); values too long to be indexed (``_ignored``), actor paths that
are not keyword fields, events with no actor ending in ``[0-9a-zA-Z]`` and lifecycle events are
read by every partition. The follower then keeps exactly the events it owns (``classify``),
from the same profile and actor the engine uses. Nothing is lost when the query is broad; it
only costs reads.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sessionwatch.enrichers.profiles import Profile, ProfileRegistry

if TYPE_CHECKING:  # the command line's defaults read this module without loading the client
    from elasticsearch import Elasticsearch

ALPHABET = string.digits + string.ascii_lowercase
MAX_PARTITIONS = len(ALPHABET)
LIFECYCLE = frozenset({"account_disable", "account_enable", "token_revoke"})
KEYWORD_TYPES = frozenset({"keyword", "constant_keyword", "wildcard"})
Verdict = Literal["own", "observe", "skip"]


def key_character(actor: str | None) -> str | None:
    """The character an actor is partitioned by: the last one before the last ``@`` (an email's
    last character is its domain's, the same for a whole organisation), else the last one;
    None when there is none or it is outside ``0-9a-zA-Z``."""
    if not actor:
        return None
    local = actor.rpartition("@")[0] if "@" in actor else actor
    last = local[-1:] or None
    return last.lower() if last is not None and last.isascii() and last.isalnum() else None


def partition_of(actor: str | None, partitions: int) -> int:
    """The partition of an actor name (0 when it has no key character)."""
    key = key_character(actor)
    return 0 if key is None else ALPHABET.index(key) % partitions


def key_regexp(chars: str) -> str:
    """A Lucene regular expression (flags NONE) matching the names whose key character is in
    ``chars``: no ``@`` and ending in one, or one just before the last ``@``."""
    return f"[^\\@]*[{chars}]|.*[{chars}]\\@[^\\@]*"


def characters(partition: int, partitions: int) -> str:
    """The last characters of the actors in ``partition``, both cases."""
    chars = "".join(c for i, c in enumerate(ALPHABET) if i % partitions == partition)
    return chars + "".join(c.upper() for c in chars if c.isalpha())


def _field(path: str) -> str:
    """The indexed field of a profile path: selectors (``a[k=v].b``) dropped."""
    return re.sub(r"\[[^\]]*\]", "", path).strip(".")


def _fields(profile: Profile, canonical: str) -> list[str]:
    return [_field(path) for path in profile.fields.get(canonical, ())]


def actor(profile: Profile | None, doc: Mapping[str, Any]) -> str | None:
    """The actor name as the engine reads it (the first of a list of names; a number as text)."""
    if profile is None:
        return None
    value = profile.value(doc, "actor")
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value)


@dataclass(frozen=True)
class Share:
    """Partition ``partition`` of ``partitions`` of a source, for one follower."""

    partition: int
    partitions: int
    profiles: ProfileRegistry
    forced: Profile | None = None

    def _profiles(self) -> list[Profile]:
        return [self.forced] if self.forced is not None else self.profiles.all()

    def classify(self, doc: Mapping[str, Any]) -> Verdict:
        """``own`` (enrich and write), ``observe`` (feed to the engine only) or ``skip``."""
        profile = self.forced or self.profiles.for_event(doc)
        if partition_of(actor(profile, doc), self.partitions) == self.partition:
            return "own"
        if profile is not None and profile.action(doc) in LIFECYCLE:
            return "observe"
        return "skip"

    def query(self, client: Elasticsearch, source: str) -> dict[str, Any]:
        """The scriptless filter that reads (at least) this partition's events."""
        if self.partitions == 1:
            return {"match_all": {}}
        actor_paths = sorted({f for p in self._profiles() for f in _fields(p, "actor")})
        action_paths = sorted({f for p in self._profiles() for f in _fields(p, "action")})
        caps = _keyword_fields(client, source, [*actor_paths, *action_paths])
        mine = key_regexp(characters(self.partition, self.partitions))
        should: list[dict[str, Any]] = []
        named: list[dict[str, Any]] = []  # an actor ending in [0-9a-zA-Z], on some keyword field
        for path in actor_paths:
            keyword = caps.get(path)
            if keyword is None:
                if path in caps.mapped:  # mapped, but not as a keyword: everyone reads it
                    should.append({"exists": {"field": path}})
                continue
            should.append({"regexp": {keyword: {"value": mine, "flags": "NONE"}}})
            should.append({"term": {"_ignored": keyword}})  # too long to be indexed
            named.append({"regexp": {keyword: {"value": key_regexp("0-9a-zA-Z"), "flags": "NONE"}}})
        should.append({"bool": {"must_not": named}} if named else {"match_all": {}})
        should.extend(_lifecycle(self._profiles(), caps))
        return {"bool": {"should": should, "minimum_should_match": 1}}


@dataclass(frozen=True)
class _Caps:
    keyword: dict[str, str]  # profile path -> its keyword field (itself or its .keyword)
    mapped: frozenset[str]  # paths mapped with some type

    def get(self, path: str) -> str | None:
        return self.keyword.get(path)


def _keyword_fields(client: Elasticsearch, source: str, paths: Iterable[str]) -> _Caps:
    wanted = sorted(set(paths))
    asked = [*wanted, *(f"{p}.keyword" for p in wanted)]
    response = client.field_caps(index=source, fields=asked, ignore_unavailable=True, allow_no_indices=True)
    fields: Mapping[str, Mapping[str, Any]] = response.get("fields", {})

    def keyword_only(name: str) -> bool:
        types = {t for t in fields.get(name, {}) if t not in {"unmapped"}}
        return bool(types) and types <= KEYWORD_TYPES and "unmapped" not in fields.get(name, {})

    keyword: dict[str, str] = {}
    for path in wanted:
        if keyword_only(path):
            keyword[path] = path
        elif keyword_only(f"{path}.keyword") and set(fields.get(path, {})) <= {"text", "match_only_text"}:
            keyword[path] = f"{path}.keyword"
    mapped = frozenset(p for p in wanted if p in fields or f"{p}.keyword" in fields)
    return _Caps(keyword, mapped)


def _lifecycle(profiles: list[Profile], caps: _Caps) -> list[dict[str, Any]]:
    """Clauses matching the events that act on another account or token (every partition)."""
    clauses: list[dict[str, Any]] = []
    for profile in profiles:
        values = sorted(v for v, action in profile.actions.items() if action in LIFECYCLE)
        for path in _fields(profile, "action") if values else ():
            keyword = caps.get(path)
            if keyword is not None:
                clauses += [{"term": {keyword: {"value": v, "case_insensitive": True}}} for v in values]
            elif path in caps.mapped:
                clauses.append({"exists": {"field": path}})
        for rule in profile.action_rules:
            if rule.action in LIFECYCLE:  # conditions of any kind: read wherever they may hold
                clauses.append(
                    {"bool": {"filter": [{"exists": {"field": _field(c.path)}} for c in rule.when]}}
                )
    return clauses
