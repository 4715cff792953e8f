"""Typed rule parameters: each kind declares a frozen dataclass; its JSON Schema is generated from it.

A parameter is a dataclass field whose metadata (``DURATION``, ``COUNT``, ``FLAG``, ``strings()``,
``choice()``) carries its schema fragment and its conversion. Values are converted
without validation (the JSON Schema has accepted the document before), so a hostile value in a test
reaches the renderer, which refuses it with a located error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from sessionwatch.rules.durations import parse_duration

DURATION_REF = {"$ref": "#/$defs/duration"}
_SCHEMA, _CONVERT = "schema", "convert"


@dataclasses.dataclass(frozen=True)
class Duration:
    """A duration parameter as written (``15m``); ``seconds`` parses it."""

    text: str

    @property
    def seconds(self) -> int:
        return parse_duration(self.text)

    def __str__(self) -> str:
        return self.text


def _tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value)


def _same(value: Any) -> Any:
    return value


def _meta(schema: Mapping[str, Any], convert: Any = _same) -> Mapping[str, Any]:
    return {_SCHEMA: dict(schema), _CONVERT: convert}


# Field metadata: ``name: Duration = field(metadata=DURATION)`` (required) or
# ``name: Duration | None = field(default=None, metadata=DURATION)`` (optional).
DURATION = _meta(DURATION_REF, lambda v: Duration(str(v)))
COUNT = _meta({"type": "integer", "minimum": 1})
FLAG = _meta({"const": True})  # a switch that can only be turned on


def strings(items: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A non-empty list of distinct strings (each matching ``items``)."""
    schema = {
        "type": "array",
        "minItems": 1,
        "uniqueItems": True,
        "items": dict(items or {"type": "string", "minLength": 1}),
    }
    return _meta(schema, _tuple)


def choice(*values: str, description: str = "") -> Mapping[str, Any]:
    schema: dict[str, Any] = {"enum": list(values)}
    if description:
        schema["description"] = description
    return _meta(schema)


@dataclasses.dataclass(frozen=True)
class Params(Mapping[str, Any]):
    """Base of every kind's parameters. Read typed attributes; the mapping view gives the values as
    written (for templates, policies and tests that vary one parameter)."""

    # Schema constraints across parameters: at least one of each group; ``a`` needs ``b``.
    ANY_OF: ClassVar[tuple[str, ...]] = ()
    DEPENDENT: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> Params:
        """Build from the values as written (already accepted by the schema)."""
        values = {}
        for item in dataclasses.fields(cls):
            if item.name in raw and raw[item.name] is not None:
                values[item.name] = item.metadata[_CONVERT](raw[item.name])
        unknown = set(raw) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown parameters for {cls.__name__}: {', '.join(sorted(unknown))}")
        return cls(**values)

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The ``params`` schema of this kind (generated; checked in as rule-v1.schema.json)."""
        items = dataclasses.fields(cls)
        schema: dict[str, Any] = {"type": "object", "additionalProperties": False}
        required = [f.name for f in items if f.default is dataclasses.MISSING]
        if required:
            schema["required"] = required
        if cls.ANY_OF:
            schema["anyOf"] = [{"required": [name]} for name in cls.ANY_OF]
        if cls.DEPENDENT:
            schema["dependentRequired"] = {k: list(v) for k, v in cls.DEPENDENT.items()}
        schema["properties"] = {f.name: dict(f.metadata[_SCHEMA]) for f in items}
        return schema

    def written(self) -> dict[str, Any]:
        """The parameters that are set, as plain JSON values (durations as written)."""
        out: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is None:
                continue
            if isinstance(value, Duration):
                value = value.text
            elif isinstance(value, tuple):
                value = list(value)
            out[item.name] = value
        return out

    def __getitem__(self, key: str) -> Any:
        return self.written()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.written())

    def __len__(self) -> int:
        return len(self.written())
