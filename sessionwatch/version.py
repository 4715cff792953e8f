"""``sessionwatch --version``: the package, the rule schema, the installed rule packs and the
Elasticsearch client, each with its version (what a bug report needs)."""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from typing import Any

from sessionwatch import __version__
from sessionwatch.rule_sources import ENTRY_POINT_GROUP, packs
from sessionwatch.rules.loader import discover, rule_schema

RULE_SCHEMA_ID_PREFIX = "urn:sessionwatch:schema:rule:"


def rule_schema_version() -> str:
    """The rule format version, from the shipped schema's ``$id`` (``v1``)."""
    schema_id = str(rule_schema().get("$id", ""))
    return schema_id.removeprefix(RULE_SCHEMA_ID_PREFIX) or "unknown"


def pack_versions() -> list[str]:
    """``NAME VERSION (DISTRIBUTION, N rules)`` for every installed rule pack."""
    dists = {
        e.name: (e.dist.name, e.dist.version) if e.dist is not None else ("?", "?")
        for e in metadata.entry_points(group=ENTRY_POINT_GROUP)
    }
    lines = []
    for name, pack in sorted(packs().items()):
        dist, version = dists.get(name, ("?", "?"))
        lines.append(f"{name} {version} ({dist}, {len(discover([pack.folder]))} rules)")
    return lines


def version_text() -> str:
    packs = pack_versions()
    return "\n".join(
        [
            f"sessionwatch {__version__}",
            f"rule schema: {rule_schema_version()}",
            f"rule packs: {'; '.join(packs) if packs else 'none installed'}",
            f"elasticsearch client: {metadata.version('elasticsearch')}",
            f"python: {platform.python_version()}",
        ]
    )


class VersionAction(argparse.Action):
    """``--version``: computed when asked for, not when the parser is built."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        sys.stdout.write(version_text() + "\n")
        parser.exit()
