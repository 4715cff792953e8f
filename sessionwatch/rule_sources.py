"""Which rules a command works on: the paths given, else every installed rule pack."""

from __future__ import annotations

from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from sessionwatch.rules.errors import Location, PluginError
from sessionwatch.rules.kinds import Status
from sessionwatch.rules.loader import load_rules
from sessionwatch.rules.model import Rule

ENTRY_POINT_GROUP = "sessionwatch.rulepacks"


def installed_packs() -> list[Path]:
    """Directories of the rule packs registered through ``sessionwatch.rulepacks``."""
    folders: list[Path] = []
    for entry in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            folders.append(Path(entry.load()()))
        except Exception as exc:  # third-party code: say which pack failed
            raise PluginError(
                f"rule pack entry point {entry.name!r} failed: {exc}",
                Location(f"entry point {ENTRY_POINT_GROUP}:{entry.name}"),
            ) from None
    return folders


def load_selected(paths: Sequence[str], *, include_deprecated: bool = True) -> list[Rule]:
    folders = [Path(p) for p in paths] if paths else installed_packs()
    rules = load_rules(folders)
    if not include_deprecated:
        rules = [r for r in rules if r.status is not Status.DEPRECATED]
    return rules
