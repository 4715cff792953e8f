"""Input profiles: data that maps a source's ECS layout onto sessionwatch's canonical fields.

A profile is chosen per event from ``event.dataset`` / ``data_stream.dataset``. Profiles are YAML
files (validated by a JSON Schema); third parties add more through the ``sessionwatch.profiles``
entry point, whose object is a callable returning ``Profile`` objects. Every field path is
compiled once; matching an event costs a few dict lookups, never a regular expression.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator

from sessionwatch.enrichers.events import Getter, compile_path, empty, get_path
from sessionwatch.enrichers.extractor import Extractor, ValuesExtractor, compile_extractor, compile_values
from sessionwatch.rules import plugins
from sessionwatch.rules.errors import Location, PluginError
from sessionwatch.rules.yaml_source import parse_yaml

ACTIONS = (
    "login",
    "reauth",
    "activity",
    "logout",
    "termination",
    "token_issue",
    "token_refresh",
    "token_revoke",
    "account_disable",
    "account_enable",
)
# the canonical fields a profile maps, in the order ``canonicalize`` reads them
CANONICAL_NAMES = (
    "event_id",
    "token_issued_at",
    "token_expires_at",
    "token_ttl",
    "action",
    "outcome",
    "session_id",
    "token_id",
    "actor",
    "source_ip",
    "device_id",
    "user_agent",
    "client_id",
    "grant_type",
    "url_path",
    "revoke_target",
    "account_target",
)
ENTRY_POINT_GROUP = "sessionwatch.profiles"
PathSpec = str | Mapping[str, Any]  # "a.b" or {"join": ["a", "b"], "separator": "|"}


def _selecting(path: str) -> Getter:
    """A reader for ``list.path[key=value].rest``: the first element of the array at
    ``list.path`` whose ``key`` equals ``value`` (case-insensitive; ``[]`` takes any element),
    then ``rest`` inside it. A single object at ``list.path`` counts as a one-element array.
    Nothing else is ever read instead: no element matching means no value."""
    head, _, tail = path.partition("[")
    selector, _, rest = tail.partition("]")
    key, _, wanted = selector.partition("=")
    read_list = compile_path(head)
    read_key = compile_path(key) if key else None
    read_rest = compile_path(rest.lstrip(".")) if rest.strip(".") else None
    wanted = wanted.lower()

    def select(doc: Mapping[str, Any], dotted: bool = True) -> Any:
        found = read_list(doc, dotted)
        items = found if isinstance(found, list) else [found] if isinstance(found, dict) else []
        for item in items:
            if not isinstance(item, dict):
                continue
            if read_key is not None:
                label = read_key(item, True)
                if not isinstance(label, str) or label.lower() != wanted:
                    continue
            value = item if read_rest is None else read_rest(item, True)
            if not empty(value):
                return value
        return None

    return select


def _reader(spec: PathSpec) -> Getter:
    if isinstance(spec, str):
        return _selecting(spec) if "[" in spec else compile_path(spec)
    parts = [compile_path(p) for p in spec["join"]]
    separator = str(spec.get("separator", "|"))

    def joined(doc: Mapping[str, Any], dotted: bool = True) -> Any:
        values = [read(doc, dotted) for read in parts]
        if any(empty(v) or isinstance(v, dict | list) for v in values):
            return None  # a composite key needs every part
        return separator.join(str(v) for v in values)

    return joined


def _plain(spec: PathSpec) -> tuple[str, ...] | None:
    """The parts of a plain dotted path (the extractor walks those inline), else None."""
    return tuple(spec.split(".")) if isinstance(spec, str) and "[" not in spec else None


def _values(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    return [
        item.lower() if isinstance(item, str) else str(item).lower() for item in items if item is not None
    ]


@dataclass(frozen=True)
class Condition:
    """One test on one field: ``equals`` / ``prefix`` / ``suffix`` / ``contains`` (any of, case-
    insensitive; list-valued fields match when any element does) or ``exists``."""

    path: str
    op: str
    values: tuple[str, ...] = ()
    exists: bool = True
    _read: Getter = field(init=False, repr=False, compare=False)
    _test: Callable[[str], bool] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_read", _reader(self.path))
        values = self.values
        tests: dict[str, Callable[[str], bool]] = {
            "equals": frozenset(values).__contains__,
            "prefix": lambda item: item.startswith(values),
            "suffix": lambda item: item.endswith(values),
            "contains": lambda item: any(v in item for v in values),
        }
        object.__setattr__(self, "_test", tests.get(self.op, lambda item: False))

    def matches(self, doc: Mapping[str, Any], dotted: bool = True) -> bool:
        raw = self._read(doc, dotted)
        if self.op == "exists":
            return empty(raw) != self.exists
        if raw is None or empty(raw):
            return False
        test = self._test
        if type(raw) is str:
            return test(raw.lower())
        return any(test(item) for item in _values(raw))


@dataclass(frozen=True)
class ActionRule:
    """Every condition holds → the event's canonical action is ``action``."""

    action: str
    when: tuple[Condition, ...]

    def matches(self, doc: Mapping[str, Any], dotted: bool = True) -> bool:
        for condition in self.when:  # noqa: SIM110 - cheaper than a generator, per event
            if not condition.matches(doc, dotted):
                return False
        return True


@dataclass(frozen=True, kw_only=True)
class Profile:
    name: str
    description: str
    datasets: tuple[str, ...]
    fields: Mapping[str, tuple[str, ...]]  # every field path read, composite parts included
    actions: Mapping[str, str]  # lower-cased vendor value -> canonical action
    action_rules: tuple[ActionRule, ...] = ()
    default_action: str = "activity"
    success: frozenset[str] = frozenset({"success"})
    failure: frozenset[str] = frozenset({"failure"})
    claims_unlabelled: bool = False
    caveats: tuple[str, ...] = ()
    references: tuple[tuple[str, str], ...] = ()  # (title, url) of the vendor documentation
    specs: Mapping[str, tuple[PathSpec, ...]] | None = None  # with composite keys; default: ``fields``
    origin: str = field(default="", compare=False)
    _readers: dict[str, tuple[Getter, ...]] = field(init=False, repr=False, compare=False)
    has_token_times: bool = field(init=False, repr=False, compare=False)
    _extract: Extractor = field(init=False, repr=False, compare=False)
    # ``CANONICAL_NAMES``' values of a document without dotted keys, as one tuple
    canonical_values: ValuesExtractor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        source: Mapping[str, tuple[PathSpec, ...]] = self.specs if self.specs is not None else self.fields
        readers = {key: tuple(_reader(spec) for spec in specs) for key, specs in source.items()}
        object.__setattr__(self, "_readers", readers)
        plan = tuple(
            (key, tuple(_plain(spec) or _reader(spec) for spec in specs)) for key, specs in source.items()
        )
        object.__setattr__(self, "_extract", compile_extractor(plan))
        object.__setattr__(self, "canonical_values", compile_values(plan, CANONICAL_NAMES))
        times = {"token_issued_at", "token_expires_at", "token_ttl"}
        object.__setattr__(self, "has_token_times", bool(times & set(readers)))

    def claims(self, dataset: str | None) -> bool:
        if dataset is None:
            return self.claims_unlabelled
        return any(fnmatch.fnmatchcase(dataset, pattern) for pattern in self.datasets)

    def value(self, doc: Mapping[str, Any], canonical: str, dotted: bool = True) -> Any:
        """The first non-empty value among the paths the profile gives for ``canonical``."""
        for read in self._readers.get(canonical, ()):
            value = read(doc, dotted)
            if value is not None and not empty(value):
                return value
        return None

    def extract(self, doc: Mapping[str, Any], dotted: bool = True) -> dict[str, Any]:
        """Every canonical field the profile defines that ``doc`` has (first non-empty path)."""
        out: dict[str, Any] = {}
        if dotted:
            for canonical, readers in self._readers.items():
                for read in readers:
                    value = read(doc, True)
                    if value is not None and not empty(value):
                        out[canonical] = value
                        break
            return out
        return self._extract(doc)

    def action(self, doc: Mapping[str, Any], dotted: bool = True, raw: Any = None) -> str:
        for rule in self.action_rules:
            if rule.matches(doc, dotted):
                return rule.action
        if raw is None:
            raw = self.value(doc, "action", dotted)
        if raw is not None:
            if type(raw) is str:
                found = self.actions.get(raw.lower())
                if found is not None:
                    return found
            else:
                for item in _values(raw):
                    found = self.actions.get(item)
                    if found is not None:
                        return found
        return self.default_action

    def outcome(self, doc: Mapping[str, Any], dotted: bool = True, raw: Any = None) -> str:
        if raw is None:
            raw = self.value(doc, "outcome", dotted)
        if type(raw) is str:
            text = raw.lower()
            return "failure" if text in self.failure else "success" if text in self.success else "unknown"
        items = _values(raw) if raw is not None else []
        if any(item in self.failure for item in items):
            return "failure"
        if any(item in self.success for item in items):
            return "success"
        return "unknown"


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("sessionwatch.enrichers").joinpath("profile_schema.json").read_text()
    return Draft202012Validator(json.loads(text))


def _condition(data: Mapping[str, Any]) -> Condition:
    op = next(key for key in data if key != "field")
    if op == "exists":
        return Condition(data["field"], "exists", exists=bool(data["exists"]))
    return Condition(data["field"], op, tuple(v.lower() for v in data[op]))


def _flatten(specs: Iterable[PathSpec]) -> Iterable[str]:
    for spec in specs:
        if isinstance(spec, str):
            yield spec
        else:
            yield from spec["join"]


def profile_from_yaml(text: str, origin: str) -> Profile:
    """Parse and validate one profile file; errors carry the file, line and pointer."""
    doc = parse_yaml(text, origin)
    for error in sorted(_validator().iter_errors(doc.data), key=lambda e: list(e.absolute_path)):
        pointer = "".join(f"/{p}" for p in error.absolute_path)
        raise PluginError(f"invalid profile: {error.message}", doc.locate(pointer))
    data = doc.data
    actions = {value.lower(): action for action, values in data["actions"].items() for value in values}
    outcomes = data.get("outcomes", {})
    rules = tuple(
        ActionRule(item["action"], tuple(_condition(c) for c in item["when"]))
        for item in data.get("action_rules", [])
    )
    return Profile(
        name=data["name"],
        description=data["description"],
        datasets=tuple(data["datasets"]),
        fields={key: tuple(_flatten(paths)) for key, paths in data["fields"].items()},
        specs={key: tuple(paths) for key, paths in data["fields"].items()},
        actions=actions,
        action_rules=rules,
        default_action=data.get("default_action", "activity"),
        success=frozenset(v.lower() for v in outcomes.get("success", ["success"])),
        failure=frozenset(v.lower() for v in outcomes.get("failure", ["failure"])),
        claims_unlabelled=data.get("claims_unlabelled", False),
        caveats=tuple(data.get("caveats", [])),
        references=tuple((r["title"], r["url"]) for r in data.get("references", [])),
        origin=origin,
    )


def load_builtin() -> list[Profile]:
    """The profiles shipped in ``sessionwatch/enrichers/profiles/*.yml``."""
    return list(_builtin_profiles())


@cache
def _builtin_profiles() -> tuple[Profile, ...]:
    """Parsed and validated once per process (they are package data; ``Profile`` is frozen):
    ``ProfileRegistry.discover()`` runs per rendered Kibana rule and per fixture case."""
    folder = resources.files("sessionwatch.enrichers").joinpath("profiles")
    entries = sorted((p for p in folder.iterdir() if p.name.endswith(".yml")), key=lambda p: p.name)
    return tuple(profile_from_yaml(p.read_text(encoding="utf-8"), f"profiles/{p.name}") for p in entries)


def _entry_point_profiles() -> Iterable[Profile]:
    for entry in plugins.entry_points(ENTRY_POINT_GROUP):
        factory: Callable[[], Iterable[Profile]] = plugins.load(entry, "profile")
        try:
            yield from factory()
        except PluginError:
            raise
        except Exception as exc:  # a third-party plugin may fail in any way; name it
            raise PluginError(
                f"profile entry point {entry.name!r} ({entry.value}) failed: {exc}", plugins.where(entry)
            ) from None


_DATASET_PATHS = (compile_path("event.dataset"), compile_path("data_stream.dataset"))
_NO_LABEL = "\x00unlabelled"


class ProfileRegistry:
    """All known profiles, looked up by name or by an event's dataset (answers are cached)."""

    def __init__(self, profiles: Iterable[Profile]) -> None:
        self._by_name: dict[str, Profile] = {}
        self._by_dataset: dict[str, Profile | None] = {}
        for profile in profiles:
            if profile.name in self._by_name:
                other = self._by_name[profile.name]
                raise PluginError(
                    f"duplicate profile name {profile.name!r} (also defined by {other.origin})",
                    Location(profile.origin),
                )
            self._by_name[profile.name] = profile

    @classmethod
    def discover(cls) -> ProfileRegistry:
        return cls(_entry_point_profiles())

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def all(self) -> list[Profile]:
        return [self._by_name[name] for name in self.names]

    def get(self, name: str) -> Profile:
        try:
            return self._by_name[name]
        except KeyError:
            raise PluginError(f"unknown profile {name!r}; known: {', '.join(self.names)}") from None

    def for_dataset(self, dataset: str | None) -> Profile | None:
        key = _NO_LABEL if dataset is None else dataset
        try:
            return self._by_dataset[key]
        except KeyError:
            pass
        # Specific patterns win over catch-alls: a profile naming the dataset exactly first.
        found = next((p for p in self.all() if dataset is not None and dataset in p.datasets), None)
        if found is None:
            found = next((p for p in self.all() if p.claims(dataset)), None)
        if len(self._by_dataset) < 4096:
            self._by_dataset[key] = found
        return found

    def for_event(self, doc: Mapping[str, Any], dotted: bool = True) -> Profile | None:
        """The profile for ``event.dataset``, else for ``data_stream.dataset`` (indexed documents
        carry both, exports often only one); an event with neither label goes to the profile
        that claims unlabelled events."""
        if not dotted and type(doc) is dict:  # the usual case, answered from the cache
            event = doc.get("event")
            label = event.get("dataset") if type(event) is dict else None
            if type(label) is str:
                known = self._by_dataset.get(label)
                if known is not None:
                    return known
        labelled = False
        for read in _DATASET_PATHS:
            label = read(doc, dotted)
            if isinstance(label, str) and label:
                labelled = True
                found = self.for_dataset(label)
                if found is not None:
                    return found
        return None if labelled else self.for_dataset(None)


__all__ = ["ActionRule", "Condition", "Profile", "ProfileRegistry", "get_path", "load_builtin"]
