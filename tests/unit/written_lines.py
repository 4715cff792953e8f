"""What an enrichment run writes, one output line per item: with workers the run writes many
whole lines per call (one process writes one), so tests compare lines, not calls."""

from __future__ import annotations


class Lines(list[str]):
    """A ``write`` for ``parallel.run``: keeps each line written, with its newline."""

    def __call__(self, text: str) -> None:
        *lines, rest = text.split("\n")  # (an output line never holds a raw newline)
        assert rest == "", f"a write that does not end a line: {rest[:80]!r}"
        self.extend(line + "\n" for line in lines)
