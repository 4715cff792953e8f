"""The site configuration: which rules and policy sets are on, the values only the site knows,
overrides of any rule limit, and index settings for the cluster.

One file, found in this order: ``--config FILE``, ``$SESSIONWATCH_CONFIG``, then from the working
directory upward the first ``sessionwatch.toml`` or ``pyproject.toml`` with a ``[tool.sessionwatch]``
table (``sessionwatch.toml`` wins in one directory). No file at all is the default configuration:
the ``baseline`` policy set. The file is checked against ``schema/site-config-v1.schema.json``;
every error names ``file:line:col``.

How a rule is switched on (``configure``), first match wins:

1. ``[rules.NAME] enabled = true / false``;
2. a rule file named directly on the command line is on;
3. a rule with ``site_params`` (values only the site can know) is on once every one is given,
   in ``[site]`` or in ``[rules.NAME.params]``;
4. a rule in a directory named on the command line is on;
5. a rule of an installed pack (or ``$SESSIONWATCH_RULE_PATH``) with ``sets`` is on when one of
   its sets is in ``policies``; one without ``sets`` is on.

An enabled rule that needs site values the configuration does not give is a located error.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from jsonschema import Draft202012Validator

from sessionwatch.rules.errors import Location, RuleErrors, RuleSchemaError, SessionwatchError
from sessionwatch.rules.toml_positions import key_positions
from sessionwatch.rules.yaml_source import YamlDocument, escape_pointer_token

ENV_CONFIG = "SESSIONWATCH_CONFIG"
CONFIG_NAME = "sessionwatch.toml"
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = ("tool", "sessionwatch")
DEFAULT_POLICIES = ("baseline",)


class ConfigError(RuleSchemaError):
    """The site configuration is not valid, or does not fit the rules it configures."""


@dataclass(frozen=True, kw_only=True)
class IndexSettings:
    """Settings for one index sessionwatch writes; ``None`` leaves the cluster's default."""

    number_of_shards: int | None = None
    number_of_replicas: int | None = None
    refresh_interval: str | None = None

    def as_settings(self) -> dict[str, int | str]:
        """The given values as Elasticsearch index settings (``{"number_of_shards": 1, ...}``)."""
        values = {
            "number_of_shards": self.number_of_shards,
            "number_of_replicas": self.number_of_replicas,
            "refresh_interval": self.refresh_interval,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True, kw_only=True)
class ClusterSettings:
    alerts: IndexSettings = IndexSettings()
    audit: IndexSettings = IndexSettings()
    state: IndexSettings = IndexSettings()


@dataclass(frozen=True, kw_only=True)
class RuleSetting:
    """``[rules.NAME]``: ``enabled`` (None: decided by sets and site values) and param overrides."""

    enabled: bool | None = None
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, kw_only=True)
class SiteConfig:
    """A parsed configuration; ``path`` is None for the default (no file)."""

    path: Path | None = None
    policies: tuple[str, ...] = DEFAULT_POLICIES
    site: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    inventory: Path | None = None
    inventory_index: str | None = None
    rules: Mapping[str, RuleSetting] = field(default_factory=lambda: MappingProxyType({}))
    cluster: ClusterSettings = ClusterSettings()
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict, compare=False)
    prefix: str = field(default="", compare=False)

    def locate(self, pointer: str) -> Location:
        """Where ``pointer`` (relative to the configuration table) is written."""
        origin = str(self.path) if self.path is not None else "default configuration"
        probe = self.prefix + pointer
        while probe:
            if probe in self.positions:
                line, column = self.positions[probe]
                return Location(origin, line, column, pointer)
            probe = probe.rsplit("/", 1)[0]
        return Location(origin, 1 if self.path else 0, 1 if self.path else 0, pointer)

    def site_value(self, rule: str, param: str) -> tuple[Any, str] | None:
        """A site value for ``rule``'s ``param`` and the config pointer it comes from, if given."""
        setting = self.rules.get(rule)
        if setting is not None and param in setting.params:
            return setting.params[param], f"/rules/{escape_pointer_token(rule)}/params/{param}"
        if param in self.site:
            return self.site[param], f"/site/{param}"
        return None


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("sessionwatch.rules").joinpath("schema/site-config-v1.schema.json").read_text()
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _pointer(parts: Iterable[Any]) -> str:
    return "".join(f"/{escape_pointer_token(str(p))}" for p in parts)


def _schema_errors(data: Any, config: SiteConfig) -> list[SessionwatchError]:
    errors: list[SessionwatchError] = []
    for error in _validator().iter_errors(data):
        pointer = _pointer(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {})) if isinstance(error.schema, dict) else set()
            for extra in sorted(set(error.instance) - allowed):
                child = f"{pointer}/{escape_pointer_token(extra)}"
                known = ", ".join(sorted(allowed))
                errors.append(ConfigError(f"unknown key {extra!r}; known: {known}", config.locate(child)))
            continue
        errors.append(ConfigError(error.message, config.locate(pointer)))
    return errors


def _index_settings(raw: Mapping[str, Any] | None) -> IndexSettings:
    raw = raw or {}
    return IndexSettings(
        number_of_shards=raw.get("number_of_shards"),
        number_of_replicas=raw.get("number_of_replicas"),
        refresh_interval=raw.get("refresh_interval"),
    )


def parse_config(text: str, path: Path, *, pyproject: bool = False) -> SiteConfig:
    """One configuration file; ``RuleErrors`` with every problem, located."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r" \(at line (\d+), column (\d+)\)", str(exc))
        line, column = (int(found[1]), int(found[2])) if found else (0, 0)
        message = str(exc)[: found.start()] if found else str(exc)
        raise RuleErrors(
            [ConfigError(f"not valid TOML: {message}", Location(str(path), line, column))]
        ) from None
    prefix = ""
    data: Any = document
    if pyproject:
        for key in PYPROJECT_TABLE:
            data = data.get(key) if isinstance(data, dict) else None
        if data is None:
            raise RuleErrors([ConfigError("no [tool.sessionwatch] table", Location(str(path)))])
        prefix = _pointer(PYPROJECT_TABLE)
    shell = SiteConfig(path=path, positions=key_positions(text), prefix=prefix)
    errors = _schema_errors(data, shell)
    if errors:
        raise RuleErrors(errors)
    site = dict(data.get("site", {}))
    inventory = site.pop("inventory", None)
    inventory_index = site.pop("inventory_index", None)
    rules = {
        name: RuleSetting(enabled=raw.get("enabled"), params=MappingProxyType(dict(raw.get("params", {}))))
        for name, raw in data.get("rules", {}).items()
    }
    cluster = data.get("cluster", {})
    return replace(
        shell,
        policies=tuple(data.get("policies", DEFAULT_POLICIES)),
        site=MappingProxyType(site),
        inventory=(path.parent / inventory) if inventory else None,
        inventory_index=inventory_index,
        rules=MappingProxyType(rules),
        cluster=ClusterSettings(
            alerts=_index_settings(cluster.get("alerts")),
            audit=_index_settings(cluster.get("audit")),
            state=_index_settings(cluster.get("state")),
        ),
    )


def _has_table(path: Path) -> bool:
    try:
        data: Any = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False  # somebody else's broken pyproject is not our configuration
    for key in PYPROJECT_TABLE:
        data = data.get(key) if isinstance(data, dict) else None
    return isinstance(data, dict)


def find_config(
    explicit: str | None = None, *, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path | None:
    """The configuration file in effect: flag, then environment, then the nearest one upward."""
    if explicit:
        return Path(explicit)
    env = (os.environ if environ is None else environ).get(ENV_CONFIG, "").strip()
    if env:
        return Path(env)
    start = (cwd or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and _has_table(pyproject):
            return pyproject
    return None


def load_config(
    explicit: str | None = None, *, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> SiteConfig:
    """The configuration in effect (the default one when no file is found)."""
    path = find_config(explicit, environ=environ, cwd=cwd)
    if path is None:
        return SiteConfig()
    try:
        text = path.read_text(encoding="utf-8")  # a named file that is missing: OSError, exit 2
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        raise RuleErrors(
            [ConfigError(f"not UTF-8 text: {exc.reason}", Location(str(path), line, 1))]
        ) from None
    return parse_config(text, path, pyproject=path.name == PYPROJECT)


@dataclass(frozen=True)
class ConfiguredDocument(YamlDocument):
    """A rule document with values from elsewhere; their pointers locate where they were written."""

    overrides: Mapping[str, Location] = field(default_factory=dict)

    def locate(self, pointer: str, *, key: bool = False) -> Location:
        probe = pointer
        while probe:
            if probe in self.overrides:
                where = self.overrides[probe]
                return replace(where, pointer=where.pointer + pointer[len(probe) :])
            probe = probe.rsplit("/", 1)[0]
        return super().locate(pointer, key=key)


def _with(doc: YamlDocument, data: dict[str, Any], overrides: Mapping[str, Location]) -> YamlDocument:
    previous = doc.overrides if isinstance(doc, ConfiguredDocument) else {}
    return ConfiguredDocument(doc.path, data, doc.values, doc.keys, {**previous, **overrides})


def declared_site_params(doc: YamlDocument) -> dict[str, Any]:
    """``site_params`` of a rule document: param name → the example its own tests use."""
    raw = doc.data.get("site_params") if isinstance(doc.data, dict) else None
    return dict(raw) if isinstance(raw, dict) else {}


def declared_sets(doc: YamlDocument) -> tuple[str, ...]:
    raw = doc.data.get("sets") if isinstance(doc.data, dict) else None
    return tuple(s for s in raw if isinstance(s, str)) if isinstance(raw, list) else ()


def with_examples(doc: YamlDocument) -> YamlDocument:
    """The rule as its own tests see it: each missing site param filled with its example."""
    examples = declared_site_params(doc)
    params = doc.data.get("params") if isinstance(doc.data, dict) else None
    if not examples or not isinstance(params, dict):
        return doc
    filled = {name: value for name, value in examples.items() if name not in params}
    if not filled:
        return doc
    data = {**doc.data, "params": {**params, **filled}}
    return _with(doc, data, {f"/params/{n}": doc.locate(f"/site_params/{n}") for n in filled})


@dataclass(frozen=True)
class Decision:
    """Whether a rule is on, why, and the document to build it from."""

    enabled: bool
    reason: str
    document: YamlDocument


class Chosen(Enum):
    """How the command line reached a rule file."""

    PACK = "pack"
    """Through an installed pack or ``$SESSIONWATCH_RULE_PATH``: policy sets decide."""
    PATH = "path"
    """In a directory named on the command line: on, unless it lacks site values."""
    FILE = "file"
    """The file itself named on the command line: on."""


def _is_on(
    name: str, doc: YamlDocument, config: SiteConfig, chosen: Chosen, missing: list[str]
) -> tuple[bool, str]:
    setting = config.rules.get(name)
    if setting is not None and setting.enabled is not None:
        return setting.enabled, f"[rules.{name}] enabled = {str(setting.enabled).lower()}"
    if chosen is Chosen.FILE:
        return True, "named on the command line"
    if declared_site_params(doc):
        return (not missing), (
            "site values given" if not missing else f"needs site values: {', '.join(missing)}"
        )
    if chosen is Chosen.PATH:
        return True, "in a directory named on the command line"
    sets = declared_sets(doc)
    if not sets:
        return True, "belongs to no policy set"
    active = [s for s in sets if s in config.policies]
    return bool(active), (
        f"policy set {active[0]}" if active else f"policy sets {', '.join(sets)} not enabled"
    )


def _apply(doc: YamlDocument, config: SiteConfig) -> YamlDocument:
    """``doc`` with the site values and ``[rules.NAME.params]`` the configuration gives."""
    data = doc.data if isinstance(doc.data, dict) else {}
    name = str(data.get("name", ""))
    params = dict(data["params"]) if isinstance(data.get("params"), dict) else {}
    overrides: dict[str, Location] = {}
    for param in declared_site_params(doc):
        found = config.site_value(name, param)
        if found is not None:
            params[param], pointer = found
            overrides[f"/params/{param}"] = config.locate(pointer)
    setting = config.rules.get(name)
    tuned = dict(setting.params) if setting is not None else {}
    for param, value in tuned.items():
        params[param] = value
        overrides[f"/params/{escape_pointer_token(param)}"] = config.locate(
            f"/rules/{escape_pointer_token(name)}/params/{escape_pointer_token(param)}"
        )
    if not overrides:
        return doc
    configured = {**data, "params": params}
    if tuned and "policy" in configured:
        del configured["policy"]  # the limits are the site's now, not the policy's text
    return _with(doc, configured, overrides)


def configure(doc: YamlDocument, config: SiteConfig, *, chosen: Chosen = Chosen.PACK) -> Decision:
    """Decide whether the rule in ``doc`` is on, with the site values and overrides applied.

    An enabled rule's document has exactly the configured values; a disabled rule's (for
    validation only) has its examples where the site gives nothing. Raises ``RuleErrors`` when the
    rule is on but a site value it needs is not configured.
    """
    data = doc.data if isinstance(doc.data, dict) else {}
    name = str(data.get("name", ""))
    missing = [p for p in declared_site_params(doc) if config.site_value(name, p) is None]
    enabled, reason = _is_on(name, doc, config, chosen, missing)
    if not enabled:
        return Decision(False, reason, with_examples(_apply(doc, config)))
    if missing:
        where = (
            doc.locate("/site_params")
            if chosen is Chosen.FILE and (name not in config.rules or config.rules[name].enabled is None)
            else config.locate(f"/rules/{escape_pointer_token(name)}/enabled")
        )
        raise RuleErrors(
            [
                ConfigError(
                    f"rule {name!r} is enabled but needs site values it has no default for: "
                    f"{', '.join(missing)} (set them in [site] or in [rules.{name}.params])",
                    where,
                )
            ]
        )
    return Decision(True, reason, _apply(doc, config))


def check_names(
    config: SiteConfig, rule_names: Iterable[str], set_names: Iterable[str]
) -> list[SessionwatchError]:
    """Rules and policy sets the configuration names that no rule file knows."""
    rules, sets = set(rule_names), set(set_names)
    errors: list[SessionwatchError] = []
    for name in config.rules:
        if name not in rules:
            errors.append(
                ConfigError(f"unknown rule {name!r}", config.locate(f"/rules/{escape_pointer_token(name)}"))
            )
    for i, name in enumerate(config.policies):
        if name not in sets:
            known = ", ".join(sorted(sets)) or "none"
            errors.append(
                ConfigError(f"unknown policy set {name!r}; known: {known}", config.locate(f"/policies/{i}"))
            )
    return errors
