"""Compile a profile's field paths into one straight-line Python function.

Reading ~30 paths per event is the engine's hottest loop; a generated function with one
``dict.get`` per path step and no loop or call per path is about three times faster than
walking a plan. Path parts only ever appear as ``repr()`` string literals in the generated
source, and composite keys are called through a namespace, so no profile text becomes code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

Extractor = Callable[[Mapping[str, Any]], dict[str, Any]]
ValuesExtractor = Callable[[Mapping[str, Any]], tuple[Any, ...]]
Step = tuple[str, ...] | Callable[..., Any]  # nested path parts, or a composite-key reader


def compile_extractor(plan: Sequence[tuple[str, Sequence[Step]]]) -> Extractor:
    """``plan``: (canonical name, paths in order) pairs → ``extract(doc)`` for documents without
    dotted keys: the first non-empty value of each canonical field."""
    lines = ["def extract(doc):", "    out = {}", "    get = doc.get"]
    namespace: dict[str, Any] = {}
    for canonical, steps in plan:
        lines.append("    while True:")
        lines += _first_value(steps, f"out[{canonical!r}]", namespace)
        lines.append("        break")
    lines.append("    return out")
    exec(compile("\n".join(lines), "<profile extractor>", "exec"), namespace)  # noqa: S102 - see module doc
    extract: Extractor = namespace["extract"]
    return extract


def compile_values(plan: Sequence[tuple[str, Sequence[Step]]], names: Sequence[str]) -> ValuesExtractor:
    """Like ``compile_extractor``, but ``values(doc)`` returns the first non-empty value of each
    of ``names`` (None when absent or not in ``plan``) as one tuple, in the order of ``names``."""
    steps_of = dict(plan)
    lines = ["def values(doc):", "    get = doc.get"]
    namespace: dict[str, Any] = {}
    # each top-level object read by a nested path is read once, up front (None unless an object)
    parents = [s[0] for name in names for s in steps_of.get(name, ()) if isinstance(s, tuple) and len(s) > 1]
    hoisted = {first: f"h{index}" for index, first in enumerate(dict.fromkeys(parents))}
    for first, local in hoisted.items():
        lines += [
            f"    {local} = get({first!r})",
            f"    if type({local}) is not dict:",
            f"        {local} = None",
        ]
    for index, canonical in enumerate(names):
        target = f"f{index}"
        lines.append("    while True:")
        lines += _first_value(steps_of.get(canonical, ()), target, namespace, hoisted)
        lines += [f"        {target} = None", "        break"]
    lines.append(f"    return ({''.join(f'f{i}, ' for i in range(len(names)))})")
    exec(compile("\n".join(lines), "<profile values>", "exec"), namespace)  # noqa: S102 - see module doc
    values: ValuesExtractor = namespace["values"]
    return values


def _first_value(
    steps: Iterable[Step], target: str, namespace: dict[str, Any], hoisted: Mapping[str, str] | None = None
) -> list[str]:
    """Lines (inside a ``while True:``) that store in ``target`` the first value ``steps`` give
    and break; a composite-key reader is put in ``namespace`` and called by its generated name."""
    lines: list[str] = []
    for step in steps:
        if isinstance(step, tuple):
            lines += _walk(step, target, hoisted or {})
        else:
            name = f"_reader{len(namespace)}"
            namespace[name] = step
            lines += [
                f"        v = {name}(doc, False)",
                "        if v is not None:",
                f"            {target} = v",
                "            break",
            ]
    return lines


def _walk(parts: tuple[str, ...], target: str, hoisted: Mapping[str, str]) -> list[str]:
    """One nested ``if`` per step, so a missing parent skips the rest of the path; a truthy value
    is not empty (a JSON value is falsy when empty, or 0 / 0.0 / false, which are not).
    ``hoisted``: top-level objects already read into a local (None unless an object)."""
    first, *rest = parts
    local = hoisted.get(first) if rest else None
    if local is None:
        out = [f"        v = get({first!r})"]
        pad = "        "
    else:
        out = [f"        if {local} is not None:", f"            v = {local}.get({rest[0]!r})"]
        pad = "            "
        rest = rest[1:]
    for part in rest:
        out += [f"{pad}if type(v) is dict:", f"{pad}    v = v.get({part!r})"]
        pad += "    "
    out += [
        f"{pad}if v or (v is not None and v != '' and v != [] and v != {{}}):",
        f"{pad}    {target} = v",
        f"{pad}    break",
    ]
    return out
