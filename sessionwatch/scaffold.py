"""``sessionwatch new``: a new rule of a kind, with a positive and a negative fixture.

The rule goes to ``RULES/<kind>/<name>.yml`` and its fixtures to
``FIXTURES/<kind>/<name>/{positive,negative}.ndjson``, where FIXTURES is the nearest
``fixtures/`` directory above the rule (the one the harness will search), else a new
``fixtures/`` beside RULES. The sample events use the generic input profile; the positive
ones break the sample threshold exactly once, the negative ones stay within it. Each kind declares
its sample in its own module (``rules/kinds/<kind>.py``).
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sessionwatch.fixtures_root import fixtures_root
from sessionwatch.rules.errors import Location, SessionwatchError
from sessionwatch.rules.instants import iso
from sessionwatch.rules.kinds import Kind, Sample

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,79}$")  # as in the rule schema
Event = dict[str, Any]


def sample(kind: Kind) -> Sample:
    """The sample a kind declares (``rules/kinds/<kind>.py``)."""
    return kind.spec.sample()


def _rewrite_targets(doc: Event) -> Event:
    """``user_target`` (a keyword argument) is ``user.target`` in the event."""
    target = doc.pop("user_target", None)
    if target is not None:
        doc["user"]["target"] = target
    return doc


def _ndjson(events: tuple[Event, ...]) -> str:
    return "".join(
        json.dumps(_rewrite_targets(json.loads(json.dumps(e))), separators=(",", ":")) + "\n" for e in events
    )


def _flow(value: Any) -> str:
    """A YAML flow value (JSON is valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def _last_time(events: tuple[Event, ...]) -> datetime:
    return max(datetime.fromisoformat(e["@timestamp"].replace("Z", "+00:00")) for e in events)


def rule_text(kind: Kind, name: str, fixture_dir: str, rule_id: str) -> str:
    """The YAML of a new rule whose two cases use ``fixture_dir/{positive,negative}.ndjson``."""
    s = sample(kind)
    at = iso(max(_last_time(s.positive), _last_time(s.negative)) + timedelta(minutes=5))
    expect = "\n".join(
        ("      - " if i == 0 else "        ") + f"{key}: {_flow(value)}"
        for i, (key, value) in enumerate(s.expect.items())
    )
    compliance = "\n".join(f"  {framework}: {_flow(list(ids))}" for framework, ids in s.compliance.items())
    return f"""\
id: {rule_id}
name: {name}
title: {_flow(s.summary)}
kind: {kind.value}
description: >
  Scaffolded by `sessionwatch new`: say what this rule catches, which policy it enforces,
  and what an analyst should do with an alert.
severity: medium
status: experimental
version: 1
params:
{chr(10).join(f"  {key}: {_flow(value)}" for key, value in s.params.items())}
scope:
  index: sessionwatch-events-*
schedule:
  interval: 5m
  lookback: 1h
compliance:
{compliance}
attack: {_flow(list(s.attack))}
tests:
  - name: positive
    description: the sample breaks the threshold once; this alert must be raised.
    fixture: {fixture_dir}/positive.ndjson
    at: "{at}"
    expect:
{expect}
  - name: negative
    description: the sample stays within the threshold; no alert.
    fixture: {fixture_dir}/negative.ndjson
    at: "{at}"
    expect: []
"""


def _relative(path: Path) -> Path:
    """``path`` relative to the working directory when inside it (as the user would write it)."""
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


@dataclass(frozen=True)
class Scaffolded:
    rule: Path
    positive: Path
    negative: Path


def scaffold(kind: Kind, name: str, rules_dir: Path) -> Scaffolded:
    """Write a new rule and its fixtures; never overwrite a file."""
    if not NAME_PATTERN.match(name):
        raise SessionwatchError(
            f"rule name {name!r} must be 3-80 lower-case letters, digits and '-',"
            " starting with a letter or digit",
            Location(name),
        )
    rule_path = rules_dir / kind.value / f"{name}.yml"
    root = _relative(fixtures_root(rule_path) or rules_dir.resolve().parent / "fixtures")
    folder = root / kind.value / name
    paths = Scaffolded(rule_path, folder / "positive.ndjson", folder / "negative.ndjson")
    for path in (paths.rule, paths.positive, paths.negative):
        if path.exists():
            raise SessionwatchError("already exists; not overwritten", Location(str(path)))
    s = sample(kind)
    folder.mkdir(parents=True, exist_ok=True)
    rule_path.parent.mkdir(parents=True, exist_ok=True)
    paths.positive.write_text(_ndjson(s.positive), encoding="utf-8")
    paths.negative.write_text(_ndjson(s.negative), encoding="utf-8")
    fixture_dir = f"{kind.value}/{name}"
    paths.rule.write_text(rule_text(kind, name, fixture_dir, str(uuid.uuid4())), encoding="utf-8")
    return paths
