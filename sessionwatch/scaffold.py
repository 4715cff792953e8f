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
import tempfile
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sessionwatch.fixtures_root import fixtures_root
from sessionwatch.rules.durations import PATTERN as DURATION_PATTERN
from sessionwatch.rules.errors import Location, RuleErrors, UsageError
from sessionwatch.rules.instants import iso
from sessionwatch.rules.kinds import Kind, Sample
from sessionwatch.rules.loader import load_rule_file

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{2,79}$")  # as in the rule schema
DURATION = re.compile(DURATION_PATTERN)
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


@dataclass(frozen=True)
class Choices:
    """What the author asked for on the command line; the kind's sample fills in the rest."""

    params: Mapping[str, Any] = field(default_factory=dict)  # --param NAME=VALUE
    title: str | None = None  # --title
    policy: str | None = None  # --policy (its thresholds become the defaults of its parameters)
    policy_thresholds: Mapping[str, Any] = field(default_factory=dict)


_UNIT_WORDS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


def spell(value: Any) -> str:
    """A parameter value in words: ``15m`` → ``15 minutes``, ``1h`` → ``1 hour``, ``3`` → ``3``."""
    text = str(value)
    if DURATION.match(text):
        count, unit = int(text[:-1]), _UNIT_WORDS[text[-1]]
        return f"{count} {unit}{'' if count == 1 else 's'}"
    return text


def chosen_params(kind: Kind, choices: Choices) -> dict[str, Any]:
    """The sample's parameters, then the policy's thresholds for them, then ``--param`` values."""
    params = dict(sample(kind).params)
    params.update({k: v for k, v in choices.policy_thresholds.items() if k in params})
    params.update(choices.params)
    return params


def chosen_title(kind: Kind, params: Mapping[str, Any], choices: Choices) -> str:
    """``--title``, else the sample's title with every changed value spelled anew."""
    if choices.title:
        return choices.title
    s = sample(kind)
    title = s.summary
    for name, old in s.params.items():
        if name in params and params[name] != old:
            title = title.replace(spell(old), spell(params[name]))
    return title


def _case_note(kind: Kind, params: Mapping[str, Any], breaks: bool) -> str:
    """What a case's fixture shows, true for the parameters the rule ends up with."""
    changed = {k: v for k, v in sample(kind).params.items() if params.get(k) != v}
    if changed:
        written = ", ".join(f"{k} {v}" for k, v in changed.items())
        now = ", ".join(f"{k} {params[k]}" for k in changed)
        goal = "break" if breaks else "stay within"
        return f"TODO: the sample events were written for {written}; check that they {goal} {now}."
    if breaks:
        return "the sample breaks the threshold once; this alert must be raised."
    return "the sample stays within the threshold; no alert."


def rule_text(kind: Kind, name: str, fixture_dir: str, rule_id: str, choices: Choices | None = None) -> str:
    """The YAML of a new rule whose two cases use ``fixture_dir/{positive,negative}.ndjson``."""
    choices = choices or Choices()
    s = sample(kind)
    params = chosen_params(kind, choices)
    at = iso(max(_last_time(s.positive), _last_time(s.negative)) + timedelta(minutes=5))
    expect = "\n".join(
        ("      - " if i == 0 else "        ") + f"{key}: {_flow(value)}"
        for i, (key, value) in enumerate(s.expect.items())
    )
    compliance = "\n".join(f"  {framework}: {_flow(list(ids))}" for framework, ids in s.compliance.items())
    limits = ", ".join(f"{key} {spell(value)}" for key, value in params.items())
    policy = f"policy: {_flow(choices.policy)}\n" if choices.policy else ""
    return f"""\
id: {rule_id}
name: {name}
title: {_flow(chosen_title(kind, params, choices))}
kind: {kind.value}
description: >
  Scaffolded by `sessionwatch new` with {limits}.
  Say what this rule catches, which policy it enforces, and what an analyst should do with an alert.
severity: medium
status: experimental
version: 1
{policy}params:
{chr(10).join(f"  {key}: {_flow(value)}" for key, value in params.items())}
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
    description: {_flow(_case_note(kind, params, breaks=True))}
    fixture: {fixture_dir}/positive.ndjson
    at: "{at}"
    expect:
{expect}
  - name: negative
    description: {_flow(_case_note(kind, params, breaks=False))}
    fixture: {fixture_dir}/negative.ndjson
    at: "{at}"
    expect: []
"""


def check_text(text: str, name: str) -> None:
    """A ``UsageError`` naming each option value the rule schema refuses, before anything is written."""
    with tempfile.TemporaryDirectory(prefix="sessionwatch-new-") as folder:
        draft = Path(folder) / f"{name}.yml"
        draft.write_text(text, encoding="utf-8")
        try:
            load_rule_file(draft)
        except RuleErrors as exc:
            problems = "; ".join(
                f"{e.message} ({e.location.pointer if e.location else ''})" for e in exc.errors
            )
            raise UsageError(f"the options make an invalid rule: {problems}", Location(name)) from None


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


def scaffold(kind: Kind, name: str, rules_dir: Path, choices: Choices | None = None) -> Scaffolded:
    """Write a new rule and its fixtures; never overwrite a file."""
    if not NAME_PATTERN.match(name):
        raise UsageError(
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
            raise UsageError("already exists; not overwritten", Location(str(path)))
    text = rule_text(kind, name, f"{kind.value}/{name}", str(uuid.uuid4()), choices)
    check_text(text, name)
    s = sample(kind)
    folder.mkdir(parents=True, exist_ok=True)
    rule_path.parent.mkdir(parents=True, exist_ok=True)
    paths.positive.write_text(_ndjson(s.positive), encoding="utf-8")
    paths.negative.write_text(_ndjson(s.negative), encoding="utf-8")
    paths.rule.write_text(text, encoding="utf-8")
    return paths
