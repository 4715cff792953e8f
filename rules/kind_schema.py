"""The per-kind part of the rule JSON Schema, generated from the kind declarations.

``rules/schema/rule-v1.schema.json`` is checked in (so it can be read and reviewed as a file);
a unit test proves its ``allOf`` and ``$defs/kind`` equal what the declarations generate. After
changing a kind's parameters, regenerate them in place::

    python -m sessionwatch.rules.kind_schema --write rules/schema/rule-v1.schema.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from sessionwatch.rules.kinds import specs


def kind_enum() -> list[str]:
    return [spec.name for spec in specs()]


def params_clauses() -> list[dict[str, Any]]:
    """One ``if kind == X then params match X's schema`` clause per kind."""
    return [
        {
            "if": {"properties": {"kind": {"const": spec.name}}, "required": ["kind"]},
            "then": {"properties": {"params": spec.params.json_schema()}},
        }
        for spec in specs()
    ]


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "), ensure_ascii=False)


def _clause_text(clause: dict[str, Any]) -> str:
    params = dict(clause["then"]["properties"]["params"])
    properties = params.pop("properties")
    head = _compact(params)[:-1]
    body = ",\n".join(f"        {_compact(name)}: {_compact(value)}" for name, value in properties.items())
    return (
        "    {\n"
        f'      "if": {_compact(clause["if"])},\n'
        f'      "then": {{"properties": {{"params": {head}, "properties": {{\n'
        f"{body}\n"
        "      }}}}\n"
        "    }"
    )


def _enum_text(names: list[str]) -> str:
    rows = [", ".join(_compact(n) for n in names[i : i + 4]) for i in range(0, len(names), 4)]
    return '"kind": {"enum": [\n      ' + ",\n      ".join(rows) + "\n    ]}"


def regenerate(text: str) -> str:
    """``text`` (the schema file) with its per-kind parts replaced by the generated ones."""
    clauses = ",\n".join(_clause_text(c) for c in params_clauses())
    text, found = re.subn(
        r'(\n  "allOf": \[\n).*?(\n  \],\n)', lambda m: m[1] + clauses + m[2], text, count=1, flags=re.S
    )
    text, found_enum = re.subn(
        r'"kind": \{"enum": \[.*?\]\}', lambda m: _enum_text(kind_enum()), text, count=1, flags=re.S
    )
    if not (found and found_enum):
        raise ValueError("schema file has no top-level allOf or $defs/kind enum to regenerate")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", type=Path, metavar="SCHEMA", help="regenerate SCHEMA in place")
    args = parser.parse_args(argv)
    if args.write is None:
        json.dump({"allOf": params_clauses(), "kind": {"enum": kind_enum()}}, sys.stdout, indent=2)
        print()
        return 0
    old = args.write.read_text(encoding="utf-8")
    new = regenerate(old)
    json.loads(new)  # the result must still parse
    if new != old:
        args.write.write_text(new, encoding="utf-8")
        print(f"rewrote {args.write}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
