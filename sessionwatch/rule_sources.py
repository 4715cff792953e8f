"""Which rules a command works on.

* No paths: every installed rule pack (entry point ``sessionwatch.rulepacks``: the built-in pack
  and any installed package that registers one), plus the directories listed in
  ``$SESSIONWATCH_RULE_PATH`` (separated like ``PATH``).
* Paths: those files and directories; ``pack:NAME`` names an installed pack, so
  ``pack:builtin ./rules`` checks a user's rules next to the built-in ones.

Two rules anywhere in the selection may not share an id or a name: the loader reports both
locations.

The site configuration (``sessionwatch.rules.site_config``) decides which of the selected rules are
on and gives them site values and overrides, before schema validation, so a bad override is an
error located in the configuration file. ``active_config`` is the one way a command gets it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from sessionwatch.rules import plugins
from sessionwatch.rules.errors import (
    Location,
    PluginError,
    RuleErrors,
    RuleSchemaError,
    SessionwatchError,
    UsageError,
)
from sessionwatch.rules.kinds import Status
from sessionwatch.rules.loader import discover, load_rules
from sessionwatch.rules.model import Rule
from sessionwatch.rules.site_config import (
    Chosen,
    SiteConfig,
    check_names,
    configure,
    declared_sets,
    load_config,
    with_examples,
)
from sessionwatch.rules.yaml_source import YamlDocument, parse_yaml

ENTRY_POINT_GROUP = "sessionwatch.rulepacks"
ENV_RULE_PATH = "SESSIONWATCH_RULE_PATH"
PACK_PREFIX = "pack:"
_CONFIG_FLAG: ContextVar[str | None] = ContextVar("sessionwatch_config_flag", default=None)


class Selection(Enum):
    """Which rules ``load_selected`` returns and with which values."""

    ENABLED = "enabled"
    """Only the rules the configuration turns on, with site values and overrides (detection)."""
    EVERY = "every"
    """Every rule: enabled ones configured, the others as written (validation)."""
    AS_WRITTEN = "as-written"
    """Every rule with the values its file gives, so its own test cases hold (the ``test`` command)."""


@contextmanager
def config_flag(path: str | None) -> Iterator[None]:
    """Within this block, ``active_config`` reads ``path`` (the ``--config`` option)."""
    token = _CONFIG_FLAG.set(path)
    try:
        yield
    finally:
        _CONFIG_FLAG.reset(token)


def active_config() -> SiteConfig:
    """The site configuration every command uses: ``--config``, ``$SESSIONWATCH_CONFIG``, the
    nearest ``sessionwatch.toml`` / ``[tool.sessionwatch]`` upward, or the default."""
    return load_config(_CONFIG_FLAG.get())


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
    where = plugins.where(entry)
    target = plugins.load(entry, "rule pack")
    try:
        folder = Path(str(target() if callable(target) else target))
    except Exception as exc:  # third-party code: say which pack failed
        raise PluginError(f"rule pack entry point {entry.name!r} failed: {exc}", where) from None
    if not folder.is_dir():
        raise PluginError(f"rule pack {entry.name!r} points at {folder}, which is not a directory", where)
    return Pack(entry.name, folder, _origin(entry))


def packs() -> dict[str, Pack]:
    """Every installed rule pack by name; two packs with one name are an error naming both."""
    found: dict[str, Pack] = {}
    for entry in plugins.entry_points(ENTRY_POINT_GROUP):
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


class _Configurator:
    """The loader's adjust step: decides each rule with the configuration, remembers names and sets."""

    def __init__(self, config: SiteConfig, selection: Selection, chosen: dict[Path, Chosen]) -> None:
        self.config = config
        self.selection = selection
        self.chosen = chosen
        self.names: set[str] = set()
        self.sets: set[str] = set()

    def __call__(self, doc: YamlDocument, path: Path) -> YamlDocument | None:
        self.names.add(str(doc.data.get("name", path.stem)))
        self.sets.update(declared_sets(doc))
        decision = configure(doc, self.config, chosen=self.chosen.get(path.resolve(), Chosen.PACK))
        if self.selection is Selection.AS_WRITTEN:
            return with_examples(doc)
        if decision.enabled or self.selection is Selection.EVERY:
            return decision.document
        return None


def _chosen(paths: Sequence[str]) -> dict[Path, Chosen]:
    """Rule files the command line names itself or through a directory (not through a pack)."""
    chosen: dict[Path, Chosen] = {}
    for item in paths:
        if item.startswith(PACK_PREFIX):
            continue
        path = Path(item)
        if path.is_file():
            chosen[path.resolve()] = Chosen.FILE
        else:
            for found in discover([path]):
                chosen.setdefault(found.resolve(), Chosen.PATH)
    return chosen


def _known_elsewhere() -> tuple[set[str], set[str]]:
    """Rule names and sets of the default sources, for a configuration checked against a
    selection of a few files."""
    names: set[str] = set()
    sets: set[str] = set()
    for path in discover(installed_packs() + env_packs()):
        try:
            stat = path.stat()
        except OSError:
            continue
        found = _name_and_sets(path, stat.st_mtime_ns, stat.st_size)
        if found is not None:
            names.add(found[0])
            sets.update(found[1])
    return names, sets


@lru_cache(maxsize=4096)
def _name_and_sets(path: Path, mtime_ns: int, size: int) -> tuple[str, frozenset[str]] | None:
    """The name and declared sets of one rule file as it is now (modification time and size in
    the key): parsed once per process, not once per command run in it."""
    try:
        doc = parse_yaml(path.read_text(encoding="utf-8"), str(path))
    except (OSError, UnicodeDecodeError, SessionwatchError):
        return None
    if not isinstance(doc.data, dict):
        return None
    return str(doc.data.get("name", path.stem)), frozenset(declared_sets(doc))


def load_selected(
    paths: Sequence[str],
    *,
    include_deprecated: bool = True,
    config: SiteConfig | None = None,
    selection: Selection = Selection.ENABLED,
    on_error: Callable[[SessionwatchError], None] | None = None,
) -> list[Rule]:
    """The rules of ``paths`` (see the module doc) as the site configuration has them.

    With ``on_error``, a rule file with a problem is reported to it and skipped, and the other
    rules are returned (what ``detect`` and ``run`` do); problems of the configuration itself
    still raise.

    ``config`` defaults to ``active_config()``. Rules named in ``paths`` (a file, or a directory's
    files) are on unless the configuration disables them (or, in a directory, they lack site
    values); the rules of installed packs are on as the configuration's policy sets say.
    """
    config = active_config() if config is None else config
    files = selected_files(paths)
    if not files:
        where = ", ".join(paths) or "installed rule packs"
        raise RuleErrors([RuleSchemaError("no rule files found", Location(where))])
    step = _Configurator(config, selection, _chosen(paths))
    errors: list[SessionwatchError] = []
    try:
        rules = load_rules(files, adjust=step, on_error=on_error)
    except RuleErrors as exc:
        errors.extend(exc.errors)
        rules = []
    names, sets = step.names, step.sets
    if paths and (set(config.rules) - names or set(config.policies) - sets):
        more_names, more_sets = _known_elsewhere()
        names, sets = names | more_names, sets | more_sets
    errors.extend(check_names(config, names, sets))
    if errors:
        raise RuleErrors(errors)
    if not include_deprecated:
        rules = [r for r in rules if r.status is not Status.DEPRECATED]
    return rules


def config_summary(paths: Sequence[str], config: SiteConfig | None = None) -> str:
    """One line: which configuration is in effect and how many of the selected rules it turns on."""
    config = active_config() if config is None else config
    on = load_selected(paths, config=config)
    total = load_selected(paths, config=config, selection=Selection.EVERY)
    source = str(config.path) if config.path is not None else "none found, the default"
    names = ", ".join(config.policies) or "none"
    return f"site configuration: {source} (policies: {names}): {len(on)} of {len(total)} rules on"
