"""An event's document, read from its line the first time an enricher looks at it.

With workers, an event's document does not travel between processes (a dictionary of dozens of
keys costs far more to send than its line): the process that runs an enricher on a copy of the
event gives it a ``LazyDoc`` of the line instead, which reads the same document, as the mapper
read it, when first used, and costs one small object when nobody uses it (the built-in
enrichers never do). It travels as its text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sessionwatch.enrichers.mapper import read_object


class LazyDoc(Mapping[str, Any]):
    """The document of the line ``text`` (the line as written out: repairs included)."""

    __slots__ = ("_doc", "_text")

    def __init__(self, text: str) -> None:
        self._text = text
        self._doc: dict[str, Any] | None = None

    def _read(self) -> dict[str, Any]:
        if self._doc is None:
            doc, _ = read_object(self._text, self._text)
            self._doc = doc if type(doc) is dict else {}
        return self._doc

    def __getitem__(self, key: str) -> Any:
        return self._read()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())

    def __contains__(self, key: object) -> bool:
        return key in self._read()

    def __repr__(self) -> str:
        return f"LazyDoc({self._read()!r})"

    def __reduce__(self) -> tuple[type[LazyDoc], tuple[str]]:
        return LazyDoc, (self._text,)
