"""The facts engine: NDJSON events in, enriched events out, bad lines to a dead letter.

Two stages. The *front* parses each line, picks its profile, maps it to a ``CanonicalEvent``,
holds it in the reorder window and, in time order, runs the stream-scoped enrichers (state keyed
by token or actor). The *back* runs the session-scoped enrichers on the session's own state and
builds the output document. One process runs both; ``parallel`` runs the front once and the back
in N workers partitioned by session key, with the same output.

Nothing is dropped: every input line is written enriched, passed through unchanged (no profile
claims it), or dead-lettered with its line number and reason; ``Counts`` proves
``read == enriched + passed_through + dead_letter``. One event never stops the stream: whatever
fails for one event (its JSON, a value a fact cannot use, an enricher's error) dead-letters that
event alone; a field Elasticsearch would refuse is repaired or dropped and recorded on the event
(``admission``). Output is always strict JSON (no NaN or Infinity).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sessionwatch.enrichers.admission import ORIGINAL_VALUES, REPAIRED_FIELDS, record
from sessionwatch.enrichers.base import CanonicalEvent, Enricher, FactWriter, fact_writer, scope_of
from sessionwatch.enrichers.canonical import BadEvent, canonical_fields, canonical_groups, parse_timestamp
from sessionwatch.enrichers.events import nest_facts
from sessionwatch.enrichers.facts import FACTS, KEYWORD_LIMIT
from sessionwatch.enrichers.mapper import Mapped, Mapper
from sessionwatch.enrichers.output import (
    Counts,
    DeadLetter,
    Output,
    append_facts,
    appendable,
    dead_reason,
    dump,
    redump,
    splice,
)
from sessionwatch.enrichers.profiles import Profile, ProfileRegistry
from sessionwatch.enrichers.reorder import ReorderBuffer
from sessionwatch.enrichers.state import STATE_FORMAT, Limits, SessionStore
from sessionwatch.rules.errors import EnrichError

SWEEP_EVERY = 4096
LONG_IDS = (
    "sessionwatch.session.id",
    "sessionwatch.token.id",
    "sessionwatch.actor.name",
    "sessionwatch.device.id",
    "sessionwatch.url.path",
    "sessionwatch.token.client_id",
    "sessionwatch.event.id",
)
OUT_OF_ORDER = "sessionwatch.quality.out_of_order"
STATE_EVICTED = "sessionwatch.quality.state_evicted"


class Released(NamedTuple):
    """An event leaving the reorder window, with the stream-scoped facts computed for it."""

    line: int
    event: CanonicalEvent
    facts: dict[str, Any]
    raw: str


@dataclass(frozen=True)
class EngineOptions:
    reorder_window: float = 0.0  # seconds of lateness absorbed; 0 processes in input order
    max_buffered: int = 1_000_000  # events held in the reorder window at most
    limits: Limits = field(default_factory=Limits)
    enricher_options: Mapping[str, Any] = field(default_factory=dict)
    # the facts wanted (e.g. those the enabled rules read); None: all. An enricher that
    # produces none of them is not run, so a fact nobody reads costs nothing
    facts: frozenset[str] | None = None


def configure(enrichers: Iterable[Enricher], options: EngineOptions) -> None:
    settings = {"idle_horizon": options.limits.idle_horizon, **options.enricher_options}
    for enricher in enrichers:
        hook = getattr(enricher, "configure", None)
        if hook is not None:
            hook(settings)


class Front:
    """Parse, choose a profile, canonicalize, reorder, run stream-scoped enrichers."""

    def __init__(
        self,
        profiles: ProfileRegistry,
        enrichers: list[Enricher],
        forced_profile: Profile | None,
        options: EngineOptions,
        counts: Counts,
    ) -> None:
        self.profiles = profiles
        self.enrichers = enrichers
        self.forced_profile = forced_profile
        self.counts = counts
        self.state: dict[str, dict[str, Any]] = {e.name: {} for e in enrichers}
        self.buffer: ReorderBuffer[Mapped] = ReorderBuffer(options.reorder_window, options.max_buffered)
        self._since_sweep = 0
        self.mapper = Mapper(profiles, forced_profile, counts)

    def feed(self, number: int, raw: bytes | str) -> Iterator[Output | Released]:
        """Map one input line and push it into the reorder window: what leaves it."""
        mapped = self.mapper.map(number, raw)
        if isinstance(mapped, Output):
            yield mapped
        elif mapped is not None:
            yield from self.push(mapped)

    def push(self, mapped: Mapped) -> Iterator[Output | Released]:
        """Hold a mapped event in the reorder window; release what leaves it, in time order."""
        for released in self.buffer.push(mapped.event.timestamp, mapped.line, mapped):
            yield self._release(*released)

    def flush(self) -> Iterator[Released | Output]:
        for item in self.buffer.flush():
            yield self._release(*item)

    def _release(
        self, number: int, event: CanonicalEvent, text: str, repaired: dict[str, Any] | None
    ) -> Released | Output:
        facts = self.stream_facts(number, event, text, repaired)
        return facts if isinstance(facts, Output) else Released(number, event, facts, text)

    def stream_facts(
        self, number: int, event: CanonicalEvent, text: str, repaired: dict[str, Any] | None
    ) -> dict[str, Any] | Output:
        """The stream-scoped facts of an event leaving the reorder window, or its dead letter."""
        facts: dict[str, Any] = {}
        try:
            for enricher in self.enrichers:
                facts.update(enricher.facts(event, self.state[enricher.name]))
        except Exception as exc:  # an enricher that cannot use a value: this event only
            return self._dead(number, f"enricher failed: {dead_reason(exc)}", text)
        self.counts.enriched += 1
        if repaired:
            self.counts.repaired += 1
            facts.update(record(repaired))
        self._since_sweep += 1
        if self._since_sweep >= SWEEP_EVERY:
            self._since_sweep = 0
            for enricher in self.enrichers:
                sweep = getattr(enricher, "sweep", None)
                if sweep is not None:
                    sweep(self.state[enricher.name], event.timestamp)
        return facts

    def _dead(self, number: int, reason: str, text: str) -> Output:
        self.counts.dead_letter += 1
        return Output(number, dead=DeadLetter(number, reason, text))


class Back:
    """Session-scoped enrichers over each session's own state; builds the output document."""

    def __init__(self, enrichers: list[Enricher], limits: Limits, counts: Counts) -> None:
        self.enrichers = [(e.name, e.facts) for e in enrichers]
        writers = [(e.name, fact_writer(e)) for e in enrichers]
        # every enricher writes its facts into the nested object itself: no flat names to nest
        self._writers: list[tuple[str, FactWriter]] | None = (
            [(name, write) for name, write in writers if write is not None]
            if all(write is not None for _, write in writers)
            else None
        )
        self.store = SessionStore(limits)
        self.counts = counts
        self._since_sweep = 0

    def enrich(self, event: CanonicalEvent, stream_facts: Mapping[str, Any]) -> dict[str, Any]:
        """The output document for ``event``."""
        out = dict(event.doc)
        out["sessionwatch"] = self.facts(event, stream_facts)
        return out

    def facts(self, event: CanonicalEvent, stream_facts: Mapping[str, Any]) -> dict[str, Any]:
        """The ``sessionwatch`` object for ``event``: built nested when every enricher writes
        nested facts and the stream-scoped facts are plain (``_flat_facts`` gives the same)."""
        writers = self._writers
        if writers is None or not _plain(stream_facts):
            return self._flat_facts(event, stream_facts)
        out = canonical_groups(event)
        sid = event.session_id
        if sid is None:
            _merge(out, stream_facts)
            return out
        ts, action, accepted, store = event.timestamp, event.action, event.outcome != "failure", self.store
        state, evicted = store.open(sid, ts, action, accepted)
        if state is None:
            self.counts.out_of_order += 1
            quality = out["quality"] = {"out_of_order": True}
            if REPAIRED_FIELDS in stream_facts:
                quality["repaired_fields"] = stream_facts[REPAIRED_FIELDS]
                quality["original_values"] = stream_facts[ORIGINAL_VALUES]
            return out
        _merge(out, stream_facts)
        if evicted:
            self.counts.state_evicted += 1
            out.setdefault("quality", {})["state_evicted"] = True
        try:
            for name, write in writers:
                own = state.get(name)
                if own is None:
                    own = state[name] = {}
                write(event, own, out)
        except Exception as exc:  # keep the session's state; this event alone fails
            raise BadEvent(f"enricher failed: {dead_reason(exc)}") from exc
        finally:
            store.close(sid, state, ts, action, accepted)
        self._since_sweep += 1  # (``_count_for_sweep``, inlined)
        if self._since_sweep >= SWEEP_EVERY:
            self._since_sweep = 0
            store.sweep(ts)
        return out

    def _count_for_sweep(self, ts: float) -> None:
        """After each session event: every ``SWEEP_EVERY`` of them, drop the expired sessions."""
        self._since_sweep += 1
        if self._since_sweep >= SWEEP_EVERY:
            self._since_sweep = 0
            self.store.sweep(ts)

    def _flat_facts(self, event: CanonicalEvent, stream_facts: Mapping[str, Any]) -> dict[str, Any]:
        """``facts`` through flat names (any enricher's ``facts``), nested at the end."""
        facts = canonical_fields(event)
        for name in LONG_IDS:  # beyond the indexed length a rule could not match the value
            value = facts.get(name)
            if value is not None and len(value) > KEYWORD_LIMIT:
                facts[name] = "sha256:" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
        sid = event.session_id
        if sid is None:
            facts.update(stream_facts)
        else:
            ts, action, accepted = event.timestamp, event.action, event.accepted
            state, evicted = self.store.open(sid, ts, action, accepted)
            if state is None:
                self.counts.out_of_order += 1
                facts[OUT_OF_ORDER] = True
                if REPAIRED_FIELDS in stream_facts:
                    facts[REPAIRED_FIELDS] = stream_facts[REPAIRED_FIELDS]
                    facts[ORIGINAL_VALUES] = stream_facts[ORIGINAL_VALUES]
            else:
                facts.update(stream_facts)
                if evicted:
                    self.counts.state_evicted += 1
                    facts[STATE_EVICTED] = True
                try:
                    for name, compute in self.enrichers:
                        own = state.get(name)
                        if own is None:
                            own = state[name] = {}
                        facts.update(compute(event, own))
                except Exception as exc:  # keep the session's state; this event alone fails
                    raise BadEvent(f"enricher failed: {dead_reason(exc)}") from exc
                finally:
                    self.store.close(sid, state, ts, action, accepted)
                self._count_for_sweep(ts)
        return nest_facts(facts)


_SPLITS: dict[str, tuple[str, str]] = {}  # "sessionwatch.<group>.<leaf>" -> (group, leaf)


def _plain(flat: Mapping[str, Any]) -> bool:
    """Whether every fact in ``flat`` is ``sessionwatch.<group>.<leaf>`` and not None (else only
    ``nest_facts`` gives the exact result); learns the names ``_merge`` splits."""
    if None in flat.values():
        return False
    splits = _SPLITS
    if splits.keys() >= flat.keys():  # every name split before (one set comparison, in C)
        return True
    for name in flat:
        if name not in splits:
            parts = name.split(".")
            if len(parts) != 3 or parts[0] != "sessionwatch" or len(splits) >= 4096:
                return False
            splits[name] = (parts[1], parts[2])
    return True


def _merge(out: dict[str, Any], flat: Mapping[str, Any]) -> None:
    """Add ``_plain`` facts to the nested ``out``."""
    splits = _SPLITS
    for name, value in flat.items():
        group, leaf = splits[name]
        found = out.get(group)
        if found is None:
            out[group] = {leaf: value}
        else:
            found[leaf] = value


def produced_by(enricher: Enricher) -> frozenset[str] | None:
    """The facts ``enricher`` produces: its ``produces`` attribute, else the facts vocabulary's
    entries naming it as their source; None when unknown (then it always runs)."""
    declared = getattr(enricher, "produces", None)
    if declared is not None:
        return frozenset(declared)
    return frozenset(f.name for f in FACTS if f.source == enricher.name) or None


def needed(enrichers: Iterable[Enricher], requested: frozenset[str] | None) -> list[Enricher]:
    """The enrichers that produce at least one requested fact (all when ``requested`` is None)."""
    if requested is None:
        return list(enrichers)
    keep = []
    for enricher in enrichers:
        produces = produced_by(enricher)
        if produces is None or produces & requested:
            keep.append(enricher)
    return keep


def split_enrichers(
    enrichers: Iterable[Enricher], requested: frozenset[str] | None = None
) -> tuple[list[Enricher], list[Enricher]]:
    """(stream-scoped, session-scoped) among those ``needed`` for ``requested``, in order."""
    listed = needed(enrichers, requested)
    return [e for e in listed if scope_of(e) == "stream"], [e for e in listed if scope_of(e) == "session"]


class Engine:
    """Both stages in one process."""

    def __init__(
        self,
        profiles: ProfileRegistry,
        enrichers: Iterable[Enricher],
        forced_profile: Profile | None = None,
        options: EngineOptions | None = None,
    ) -> None:
        self.options = options or EngineOptions()
        self.counts = Counts()
        stream, session = split_enrichers(enrichers, self.options.facts)
        configure([*stream, *session], self.options)
        self.front = Front(profiles, stream, forced_profile, self.options, self.counts)
        self.back = Back(session, self.options.limits, self.counts)

    def process(self, lines: Iterable[bytes | str], first_line: int = 1) -> Iterator[Output]:
        """One ``Output`` per non-blank line; enriched events leave in time order. (``Front.feed``
        and ``_finish`` per line, with the steps between them inlined: this is the hot loop.)"""
        front = self.front
        map_line, hold, stream_facts, write = (
            front.mapper.map,
            front.buffer.push,
            front.stream_facts,
            self._write,
        )
        for number, raw in enumerate(lines, start=first_line):
            mapped = map_line(number, raw)
            if isinstance(mapped, Mapped):
                for line, event, text, repaired in hold(mapped.event.timestamp, number, mapped):
                    facts = stream_facts(line, event, text, repaired)
                    yield facts if isinstance(facts, Output) else write(line, event, facts, text)
            elif mapped is not None:
                yield mapped
        for item in front.flush():
            yield item if isinstance(item, Output) else self._finish(item)

    def _finish(self, item: Released) -> Output:
        return self._write(item.line, item.event, item.facts, item.raw)

    def _write(self, line: int, event: CanonicalEvent, stream_facts: dict[str, Any], text: str) -> Output:
        """The output of a released event: its session facts, its line written."""
        try:
            facts = self.back.facts(event, stream_facts)
            source = event.doc
            if text[-1:] == "}" and source and "sessionwatch" not in source:  # ``appendable``
                written = f'{text[:-1]},"sessionwatch":{dump(facts)}}}'  # ``append_facts``
            else:
                written = splice(text, source, facts)
        except Exception as exc:  # one event never stops the stream
            self.counts.enriched -= 1
            self.counts.dead_letter += 1
            reason = str(exc) if isinstance(exc, BadEvent) else dead_reason(exc)
            return Output(line, dead=DeadLetter(line, reason, text))
        return Output(line, source=source, enriched=True, raw=text, facts=facts, written=written)

    @property
    def open_sessions(self) -> int:
        return len(self.back.store.sessions)

    def state(self) -> dict[str, Any]:
        """Everything needed to resume after a restart (call after ``process`` has finished)."""
        return {"format": STATE_FORMAT, "stream": self.front.state, **self.back.store.to_json()}

    def load_state(self, data: Mapping[str, Any], origin: str = "state") -> None:
        check_state(data, origin)
        for name, value in data.get("stream", {}).items():
            if name in self.front.state:
                self.front.state[name] = value
        self.back.store.load(dict(data))


def check_state(data: Mapping[str, Any], origin: str) -> None:
    if not isinstance(data, Mapping) or data.get("format") != STATE_FORMAT:
        raise EnrichError(f"{origin}: not a sessionwatch state file (expected format {STATE_FORMAT})")


__all__ = [
    "BadEvent",
    "Counts",
    "DeadLetter",
    "Engine",
    "EngineOptions",
    "Output",
    "append_facts",
    "appendable",
    "dump",
    "parse_timestamp",
    "redump",
    "splice",
]
