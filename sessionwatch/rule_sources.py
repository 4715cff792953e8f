"""Which rules a command works on.

* No paths: every installed rule pack (entry point ``sessionwatch.rulepacks``: the built-in pack
  and any installed package that registers one), plus the directories listed in
  ``$SESSIONWATCH_RULE_PATH`` (separated like ``PATH``).
* Paths: those files and directories; ``pack:NAME`` names an installed pack, so
  ``pack:builtin ./rules`` checks a user's rules next to the built-in ones.

Two rules anywhere in the selection may not share an id or a name: the loader reports both
locations.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sessionwatch.rules.errors import Location, PluginError, RuleErrors, RuleSchemaError, UsageError
from sessionwatch.rules.kinds import Status
from sessionwatch.rules.loader import discover, load_rules
from sessionwatch.rules.model import Rule

ENTRY_POINT_GROUP = "sessionwatch.rulepacks"
ENV_RULE_PATH = "SESSIONWATCH_RULE_PATH"
PACK_PREFIX = "pack:"


@dataclass(frozen=True)
class Pack:
    """An installed rule pack: its entry-point name, directory and where it comes from."""

    name: str
    folder: Path
    origin: str


def _origin(entry: metadata.EntryPoint) -> str:
    dist = entry.dist
    owner = f" of {dist.name} {dist.version}" if dist is not None else ""
    return f"entry point {ENTRY_POINT_GROUP}:{entry.name}{owner}"


def _load_pack(entry: metadata.EntryPoint) -> Pack:
    where = Location(f"entry point {ENTRY_POINT_GROUP}:{entry.name}")
    try:
        target = entry.load()
        folder = Path(str(target() if callable(target) else target))
    except Exception as exc:  # third-party code: say which pack failed
        raise PluginError(f"rule pack entry point {entry.name!r} failed: {exc}", where) from None
    if not folder.is_dir():
        raise PluginError(f"rule pack {entry.name!r} points at {folder}, which is not a directory", where)
    return Pack(entry.name, folder, _origin(entry))


def packs() -> dict[str, Pack]:
    """Every installed rule pack by name; two packs with one name are an error naming both."""
    found: dict[str, Pack] = {}
    entries = sorted(
        {
            (e.name, e.value, e.dist.name if e.dist else ""): e
            for e in metadata.entry_points(group=ENTRY_POINT_GROUP)
        }.values(),
        key=lambda e: (e.name, e.value),
    )
    for entry in entries:
        pack = _load_pack(entry)
        if pack.name in found:
            first = found[pack.name]
            raise PluginError(
                f"two rule packs are named {pack.name!r}: {first.origin} ({first.folder})"
                f" and {pack.origin} ({pack.folder})",
                Location(pack.origin),
            )
        found[pack.name] = pack
    return found


def installed_packs() -> list[Path]:
    """Directories of the rule packs registered through ``sessionwatch.rulepacks``."""
    return [pack.folder for pack in packs().values()]


def env_packs() -> list[Path]:
    """Directories named by ``$SESSIONWATCH_RULE_PATH``."""
    raw = os.environ.get(ENV_RULE_PATH, "")
    return [Path(part) for part in raw.split(os.pathsep) if part.strip()]


def resolve_sources(paths: Sequence[str]) -> list[Path]:
    """The files and directories ``paths`` stand for (installed and ``$SESSIONWATCH_RULE_PATH``
    packs when empty)."""
    if not paths:
        return installed_packs() + env_packs()
    installed: dict[str, Pack] | None = None
    sources: list[Path] = []
    for item in paths:
        if not item.startswith(PACK_PREFIX):
            if not Path(item).exists():
                raise UsageError("no such file or directory", Location(item))
            sources.append(Path(item))
            continue
        installed = packs() if installed is None else installed
        name = item.removeprefix(PACK_PREFIX)
        if name not in installed:
            known = ", ".join(sorted(installed)) or "none"
            raise PluginError(f"no installed rule pack {name!r} (installed: {known})", Location(item))
        sources.append(installed[name].folder)
    return sources


def selected_files(paths: Sequence[str]) -> list[Path]:
    """Rule files of the selection, each once even when reached through two spellings."""
    seen: set[Path] = set()
    files: list[Path] = []
    for path in discover(resolve_sources(paths)):
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(path)
    return files


def load_selected(paths: Sequence[str], *, include_deprecated: bool = True) -> list[Rule]:
    files = selected_files(paths)
    if not files:
        where = ", ".join(paths) or "installed rule packs"
        raise RuleErrors([RuleSchemaError("no rule files found", Location(where))])
    rules = load_rules(files)
    if not include_deprecated:
        rules = [r for r in rules if r.status is not Status.DEPRECATED]
    return rules
