"""Input profiles: data that maps a source's ECS layout onto sessionwatch's canonical fields.

A profile is chosen per event from ``event.dataset`` / ``data_stream.dataset``. Profiles are YAML
files (validated by a JSON Schema); third parties add more through the ``sessionwatch.profiles``
entry point, whose object is a callable returning ``Profile`` objects.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata, resources
from typing import Any

from jsonschema import Draft202012Validator
from sessionwatch.enrichers.events import first_present, get_path
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
)
CANONICAL_FIELDS = (
    "session_id",
    "token_id",
    "actor",
    "source_ip",
    "device_id",
    "outcome",
    "event_id",
    "action",
)
ENTRY_POINT_GROUP = "sessionwatch.profiles"


@dataclass(frozen=True, kw_only=True)
class Profile:
    name: str
    description: str
    datasets: tuple[str, ...]
    fields: Mapping[str, tuple[str, ...]]
    actions: Mapping[str, str]  # lower-cased vendor value -> canonical action
    default_action: str = "activity"
    success: frozenset[str] = frozenset({"success"})
    failure: frozenset[str] = frozenset({"failure"})
    claims_unlabelled: bool = False
    origin: str = field(default="", compare=False)

    def claims(self, dataset: str | None) -> bool:
        if dataset is None:
            return self.claims_unlabelled
        return any(fnmatch.fnmatchcase(dataset, pattern) for pattern in self.datasets)

    def value(self, doc: Mapping[str, Any], canonical: str) -> Any:
        return first_present(doc, self.fields.get(canonical, ()))

    def action(self, doc: Mapping[str, Any]) -> str:
        raw = self.value(doc, "action")
        values = raw if isinstance(raw, list) else [raw]
        for item in values:
            if isinstance(item, str) and item.lower() in self.actions:
                return self.actions[item.lower()]
        return self.default_action

    def outcome(self, doc: Mapping[str, Any]) -> str:
        raw = self.value(doc, "outcome")
        text = str(raw).lower() if raw is not None else ""
        if text in self.failure:
            return "failure"
        if text in self.success:
            return "success"
        return "unknown"


@cache
def _validator() -> Draft202012Validator:
    text = resources.files("sessionwatch.enrichers").joinpath("profile_schema.json").read_text()
    return Draft202012Validator(json.loads(text))


def profile_from_yaml(text: str, origin: str) -> Profile:
    """Parse and validate one profile file; errors carry the file, line and pointer."""
    doc = parse_yaml(text, origin)
    for error in sorted(_validator().iter_errors(doc.data), key=lambda e: list(e.absolute_path)):
        pointer = "".join(f"/{p}" for p in error.absolute_path)
        raise PluginError(f"invalid profile: {error.message}", doc.locate(pointer))
    data = doc.data
    actions = {value.lower(): action for action, values in data["actions"].items() for value in values}
    outcomes = data.get("outcomes", {})
    return Profile(
        name=data["name"],
        description=data["description"],
        datasets=tuple(data["datasets"]),
        fields={key: tuple(paths) for key, paths in data["fields"].items()},
        actions=actions,
        default_action=data.get("default_action", "activity"),
        success=frozenset(v.lower() for v in outcomes.get("success", ["success"])),
        failure=frozenset(v.lower() for v in outcomes.get("failure", ["failure"])),
        claims_unlabelled=data.get("claims_unlabelled", False),
        origin=origin,
    )


def load_builtin() -> list[Profile]:
    """The profiles shipped in ``sessionwatch/enrichers/profiles/*.yml``."""
    folder = resources.files("sessionwatch.enrichers").joinpath("profiles")
    entries = sorted((p for p in folder.iterdir() if p.name.endswith(".yml")), key=lambda p: p.name)
    return [profile_from_yaml(p.read_text(encoding="utf-8"), f"profiles/{p.name}") for p in entries]


def _entry_point_profiles() -> Iterable[Profile]:
    for entry in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            factory: Callable[[], Iterable[Profile]] = entry.load()
            yield from factory()
        except PluginError:
            raise
        except Exception as exc:  # a third-party plugin may fail in any way; name it
            raise PluginError(
                f"profile entry point {entry.name!r} ({entry.value}) failed: {exc}",
                Location(f"entry point {ENTRY_POINT_GROUP}:{entry.name}"),
            ) from None


class ProfileRegistry:
    """All known profiles, looked up by name or by an event's dataset."""

    def __init__(self, profiles: Iterable[Profile]) -> None:
        self._by_name: dict[str, Profile] = {}
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

    def get(self, name: str) -> Profile:
        try:
            return self._by_name[name]
        except KeyError:
            raise PluginError(f"unknown profile {name!r}; known: {', '.join(self.names)}") from None

    def for_event(self, doc: Mapping[str, Any]) -> Profile | None:
        dataset = get_path(doc, "event.dataset") or get_path(doc, "data_stream.dataset")
        label = dataset if isinstance(dataset, str) else None
        for name in self.names:
            if self._by_name[name].claims(label):
                return self._by_name[name]
        return None
