"""What an enrichment run writes, one output line per item: with workers the run writes many
whole lines per call (one process writes one), so tests compare lines, not calls."""

from __future__ import annotations

from typing import Any

from sessionwatch.enrichers import EngineOptions, ProfileRegistry, discover_enrichers
from sessionwatch.enrichers.engine import DeadLetter
from sessionwatch.enrichers.parallel import run


class Lines(list[str]):
    """A ``write`` for ``parallel.run``: keeps each line written, with its newline."""

    def __call__(self, text: str) -> None:
        *lines, rest = text.split("\n")  # (an output line never holds a raw newline)
        assert rest == "", f"a write that does not end a line: {rest[:80]!r}"
        self.extend(line + "\n" for line in lines)


def enrich_lines(
    source: Any,
    workers: int,
    *,
    enrichers: list[Any] | None = None,
    state: Any = None,
    window: float = 20.0,
    keep_state: bool = True,
) -> tuple[list[str], list[DeadLetter], Any]:
    """``parallel.run`` over ``source`` with the installed profiles (and enrichers, unless
    given): the lines written, the dead letters and the result."""
    written = Lines()
    dead: list[DeadLetter] = []
    result = run(
        source,
        written,
        dead.append,
        profiles=ProfileRegistry.discover(),
        enrichers=discover_enrichers() if enrichers is None else enrichers,
        options=EngineOptions(reorder_window=window),
        workers=workers,
        state=state,
        keep_state=keep_state,
    )
    return written, dead, result
