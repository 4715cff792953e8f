"""One input line to a mapped event: parse, choose a profile, admit, canonicalize.

Stateless between lines (counts aside), so any process can map any line: the engine's front
maps in line order; with workers, each worker maps whole chunks of lines for the front.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, NamedTuple

import orjson

from sessionwatch.enrichers.admission import admit, plain_names, record
from sessionwatch.enrichers.base import CanonicalEvent
from sessionwatch.enrichers.canonical import BadEvent, canonicalize
from sessionwatch.enrichers.events import has_dotted_keys, nest_facts
from sessionwatch.enrichers.output import Counts, DeadLetter, Output, dead_reason, redump, splice
from sessionwatch.enrichers.profiles import Profile, ProfileRegistry


class Mapped(NamedTuple):
    """An event its profile mapped, waiting for the reorder window."""

    line: int
    event: CanonicalEvent
    text: str  # the line as written out (re-serialised when admission repaired it)
    repaired: dict[str, Any] | None


_DOTTED_KEY = re.compile(r'\.[^"]*+":').search  # a dot, then the end of a key (see ``map``)


def _no_constant(name: str) -> Any:
    raise BadEvent(f"{name} is not a JSON value")


def read_object(
    body: bytes | str, text: str, pairs: Callable[[list[tuple[str, Any]]], Any] = dict
) -> tuple[Any, bool]:
    """The JSON value of a line (``body``: as read, ``text``: decoded, line end stripped) and
    whether orjson read it exactly: an object that orjson writes back byte for byte. Any other
    line is read by ``json``, objects through ``pairs`` (a repeated key: the last one wins),
    refusing NaN and infinities."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if type(doc) is dict:
        expected = body if isinstance(body, bytes) else body.encode("utf-8", "surrogatepass")
        if orjson.dumps(doc) == expected:
            return doc, True
    return json.loads(text, parse_constant=_no_constant, object_pairs_hook=pairs), False


class Mapper:
    """Counts what it reads, passes through and dead-letters, and the profiles it chose."""

    def __init__(self, profiles: ProfileRegistry, forced_profile: Profile | None, counts: Counts) -> None:
        self.profiles = profiles
        self.forced_profile = forced_profile
        self.counts = counts
        self._duplicates = False
        self._exact = False  # the last line parsed is exactly what orjson writes for its object

    def map(self, number: int, raw: bytes | str) -> Output | Mapped | None:
        """None for a blank line (no event, not counted)."""
        if raw[:1] not in (b"{", "{") and not raw.strip():  # an object's line is not blank: no copy
            return None
        self.counts.read += 1
        if isinstance(raw, bytes):
            try:
                decoded = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                text = raw.decode("utf-8", "backslashreplace").rstrip("\r\n")
                return self._dead(number, f"invalid UTF-8 at byte {exc.start}", text)
        else:
            decoded = raw
        text = decoded.rstrip("\r\n")
        try:
            doc = self._parse(raw, text)
            # a line orjson writes back byte for byte and without a backslash: every key is
            # ``"<no quote>":``, so the text tells whether one holds a dot (never a false "no")
            if self._exact and "\\" not in text:
                dotted = _DOTTED_KEY(text) is not None
            else:
                dotted = has_dotted_keys(doc)
            profile = self.forced_profile or self.profiles.for_event(doc, dotted)
            if self.forced_profile is None:
                self.counts.profiles.record(doc, dotted, profile.name if profile is not None else None)
            repaired = admit(
                doc, keep_bad_timestamp=profile is not None, names_checked=plain_names(text), dotted=dotted
            )
            if self._duplicates:  # Elasticsearch refuses a repeated key; JSON readers keep the last
                repaired["(duplicate keys)"] = True
            if repaired:
                text = redump(doc)
            if profile is None:
                quality = nest_facts(record(repaired)) if repaired else None
                written = splice(text, doc, quality) if quality else None
                self.counts.passed_through += 1
                self.counts.repaired += bool(repaired)
                return Output(number, source=doc, raw=text, facts=quality, written=written)
            event = canonicalize(doc, profile, text, dotted)
        except json.JSONDecodeError as exc:
            return self._dead(number, f"malformed JSON: {exc.msg} at column {exc.colno}", text)
        except (BadEvent, RecursionError) as exc:
            return self._dead(number, str(exc) or type(exc).__name__, text)
        except Exception as exc:  # one event never stops the stream
            return self._dead(number, dead_reason(exc), text)
        return Mapped(number, event, text, repaired or None)

    def _parse(self, raw: bytes | str, text: str) -> dict[str, Any]:
        """The line's JSON object. Fast path: orjson, when writing its result back gives the line
        byte for byte (then the line has no duplicate key, NaN, integer beyond 64 bits, escape
        or float that the two libraries could read differently). Any other line is read by
        ``json`` with the hooks that report duplicate keys and refuse NaN, as always."""
        self._duplicates = False
        body = raw.rstrip(b"\r\n") if isinstance(raw, bytes) else text
        doc, self._exact = read_object(body, text, self._object)
        if type(doc) is not dict:
            raise BadEvent(f"expected a JSON object, got {type(doc).__name__}")
        return doc

    def _object(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(pairs)
        if len(found) != len(pairs):
            self._duplicates = True
        return found

    def _dead(self, number: int, reason: str, text: str) -> Output:
        self.counts.dead_letter += 1
        return Output(number, dead=DeadLetter(number, reason, text))
