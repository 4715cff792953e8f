"""The registry of rule kinds: every public module of this package declares one (``KIND``).

Adding a kind is adding a module here (plus its query template and fixtures): nothing else lists
kinds. Modules are found and imported on first use, never at import time.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from functools import cache
from typing import Any

from sessionwatch.rules.kinds._spec import KindSpec

PACKAGE = "sessionwatch.rules.kinds"


@cache
def _declared() -> dict[str, KindSpec]:
    package = importlib.import_module(PACKAGE)
    specs: dict[str, KindSpec] = {}
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if module.name.startswith("_"):
            continue
        spec = importlib.import_module(f"{PACKAGE}.{module.name}").KIND
        if not isinstance(spec, KindSpec) or spec.name != module.name:
            raise TypeError(f"{PACKAGE}.{module.name}.KIND must be the KindSpec named {module.name!r}")
        specs[spec.name] = spec
    return dict(sorted(specs.items(), key=lambda item: (item[1].position, item[0])))


def specs() -> list[KindSpec]:
    """Every declared kind, by name."""
    return list(_declared().values())


_INTERNED: dict[str, Kind] = {}


class _KindType(type):
    def __iter__(cls) -> Iterator[Kind]:
        return (Kind(name) for name in _declared())

    def __len__(cls) -> int:
        return len(_declared())


class Kind(str, metaclass=_KindType):
    """A declared rule kind's name; ``Kind("x")`` raises ``ValueError`` for an undeclared kind.

    Iterating over ``Kind`` yields every declared kind; ``kind.spec`` is its declaration.
    """

    def __new__(cls, value: Any) -> Kind:
        name = str(value)
        known = _INTERNED.get(name)
        if known is not None:
            return known
        if name not in _declared():
            raise ValueError(f"{value!r} is not a rule kind; known: {', '.join(_declared())}")
        return _INTERNED.setdefault(name, super().__new__(cls, name))  # one object per kind, like an enum

    @property
    def value(self) -> str:
        return str.__str__(self)

    @property
    def spec(self) -> KindSpec:
        return _declared()[self.value]

    def __repr__(self) -> str:
        return f"Kind({self.value!r})"
