"""The enricher extension point and the canonical event it sees."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Any, Literal, Protocol, runtime_checkable

Scope = Literal["session", "stream"]


@dataclass(frozen=True, slots=True)
class CanonicalEvent:
    """An event as a profile maps it: canonical values plus the untouched original document."""

    timestamp: float  # seconds since the epoch, UTC
    event_id: str
    profile: str
    action: str
    outcome: str
    session_id: str | None
    token_id: str | None
    actor: str | None
    source_ip: str | None
    device_id: str | None
    doc: Mapping[str, Any]
    user_agent: str | None = None
    token_issued_at: float | None = None
    token_expires_at: float | None = None
    client_id: str | None = None
    grant_type: str | None = None
    url_path: str | None = None
    revoke_target: str | None = None
    account_target: str | None = None

    @property
    def accepted(self) -> bool:
        return self.outcome != "failure"


@runtime_checkable
class Enricher(Protocol):
    """Computes threshold-free facts for one event from explicit, JSON-serialisable state.

    ``name`` must be unique. Optional attributes the engine honours:

    * ``scope``: ``"session"`` (the default) — ``state`` is this enricher's private dict for the
      event's session, created empty, kept between events of that session, evicted with it and
      saved with it; enrichers of this scope run in the worker that owns the session.
      ``"stream"`` — ``state`` is one dict for the whole stream, seen in time order by every
      event (the place for state keyed by actor or token); the enricher keeps it bounded and
      may define ``sweep(state, now)`` to drop what is older than the engine's horizon.
    * ``reads`` (stream scope): the ``CanonicalEvent`` fields ``facts`` reads (``outcome`` for
      ``accepted``). With workers only those travel to the process running this scope; without
      it every field does.
    * ``configure(options)``: receives the engine's options mapping (inventory path, …) once.

    ``facts`` returns flat dotted fact names → values (None values are dropped).

    A faster form (the built-ins use it): subclass ``WritesFacts`` and define ``write_facts``.
    """

    name: str

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]: ...


@cache
def event_maker() -> Callable[..., CanonicalEvent]:
    """``CanonicalEvent(*values)`` (positional, every field) at half the cost: the frozen class's
    ``__init__`` sets each slot through ``object.__setattr__``; this sets the slots directly."""
    names = [f.name for f in fields(CanonicalEvent)]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": CanonicalEvent}
    lines = [f"def make({', '.join(names)}):", "    event = new(cls)"]
    for index, name in enumerate(names):
        namespace[f"set{index}"] = CanonicalEvent.__dict__[name].__set__
        lines.append(f"    set{index}(event, {name})")
    lines.append("    return event")
    exec(compile("\n".join(lines), "<canonical event>", "exec"), namespace)  # noqa: S102 - field names only
    make: Callable[..., CanonicalEvent] = namespace["make"]
    return make


FactWriter = Callable[[CanonicalEvent, dict[str, Any], dict[str, Any]], None]


class WritesFacts:
    """An enricher that writes its facts straight into the nested ``sessionwatch`` object the
    engine builds, which spares the engine nesting flat names per event. ``write_facts(event,
    state, out)`` sets ``out[group][leaf] = value`` (creating the group when absent; None values
    are left out) for each fact ``sessionwatch.<group>.<leaf>``, in the order ``facts`` would
    list them; no fact may be one an earlier stage wrote. ``facts`` is derived from it."""

    def facts(self, event: CanonicalEvent, state: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, dict[str, Any]] = {}
        self.write_facts(event, state, out)
        return {f"sessionwatch.{g}.{leaf}": v for g, values in out.items() for leaf, v in values.items()}

    def write_facts(self, event: CanonicalEvent, state: dict[str, Any], out: dict[str, Any]) -> None:
        raise NotImplementedError


def fact_writer(enricher: Enricher) -> FactWriter | None:
    """``enricher.write_facts`` when its ``facts`` is the one derived from it (not overridden,
    on its class or on the instance), else None."""
    derived: object = WritesFacts.facts
    if getattr(type(enricher), "facts", None) is not derived or "facts" in getattr(enricher, "__dict__", {}):
        return None
    writer: FactWriter = getattr(enricher, "write_facts")  # noqa: B009 - typed through the check above
    return writer


def scope_of(enricher: Enricher) -> Scope:
    return "stream" if getattr(enricher, "scope", "session") == "stream" else "session"
