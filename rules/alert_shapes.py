"""What each rule kind's alerts look like: views over the kind declarations (``rules/kinds/``).

Shared by the alert builder (core) and the Watcher renderer, which must produce the same documents.
The views are read-only and computed on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

from sessionwatch.rules.kinds import Kind, KindSpec, Shape, Threshold, specs

__all__ = ["EVIDENCE_FACTS", "SHAPES", "THRESHOLDS", "Shape", "Threshold"]

T = TypeVar("T")


class _View(Mapping[Kind, T]):
    """``{kind: pick(spec)}`` for every declared kind where ``pick`` gives a value."""

    def __init__(self, pick: Callable[[KindSpec], T | None]) -> None:
        self._pick = pick

    def _items(self) -> dict[Kind, T]:
        picked = {Kind(spec.name): self._pick(spec) for spec in specs()}
        return {kind: value for kind, value in picked.items() if value is not None}

    def __getitem__(self, kind: Kind) -> T:
        return self._items()[kind]

    def __iter__(self) -> Iterator[Kind]:
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())


SHAPES: Mapping[Kind, Shape] = _View(lambda spec: spec.shape)
THRESHOLDS: Mapping[Kind, Threshold] = _View(lambda spec: spec.threshold)
# The facts that explain each kind's verdict, copied into the alert as evidence.
EVIDENCE_FACTS: Mapping[Kind, tuple[str, ...]] = _View(lambda spec: spec.evidence)
