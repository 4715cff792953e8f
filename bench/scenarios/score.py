"""Runs ``sessionwatch detect`` as a user would and scores its alerts against the ground truth.

Matching rule (docs/detection-quality.md): an alert matches a label when
1. the alert's ``rule.category`` is the label's kind,
2. it names the label's session (``sessionwatch.session.id``) or the label's account (``user.name``),
3. its offending event lies in the label's interval: ``@timestamp`` within [start, end], or one of
   its evidence ``event_ids`` is one of the label's offending events.
A violation matched by several alerts (several rules of its kind, or one rule on several
offending events) is one true positive; those alerts are duplicates, not false positives. An alert
matching no violation is a false positive: on a near miss (reason: the near miss) or on clean
traffic. A violation whose rule the run leaves off (its ``needs``: site values, or a policy set
beyond the default) is out of scope: it counts for neither recall nor precision, and an alert on
it is never a false positive.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.scenarios.model import Label
from sessionwatch.rules.kinds import Kind

Alert = dict[str, Any]


class DetectFailed(RuntimeError):
    pass


def sessionwatch_command() -> str:
    beside = Path(sys.executable).parent / "sessionwatch"
    found = str(beside) if beside.exists() else shutil.which("sessionwatch")
    if not found:
        raise DetectFailed("the sessionwatch command is not installed in this environment")
    return found


def run_detect(
    events: Path, *, es_url: str | None = None, config: Path | None = None, rules: Path | None = None
) -> list[Alert]:
    """``sessionwatch detect --events FILE``: the installed packs and default configuration, or a
    site configuration (``--config``), or another rule directory (``--rules``)."""
    command = [sessionwatch_command(), "detect", "--events", str(events)]
    if config is not None:
        command += ["--config", str(config)]
    if rules is not None:
        command += ["--rules", str(rules)]
    env = dict(os.environ)
    if es_url:
        env["SESSIONWATCH_ES_URL"] = es_url
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if done.returncode not in (0, 1):
        raise DetectFailed(f"{' '.join(command)} exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    sys.stderr.write(done.stderr)
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def _get(doc: Alert, path: str) -> Any:
    node: Any = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _epoch(value: str) -> float:
    """Seconds since the epoch of an ISO-8601 timestamp, whatever its zone offset."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def matches(alert: Alert, label: Label) -> bool:
    if _get(alert, "rule.category") != label.kind:
        return False
    session = _get(alert, "sessionwatch.session.id")
    who = (session is not None and session == label.session) or _get(alert, "user.name") == label.account
    if not who:
        return False
    evidence = set(_get(alert, "sessionwatch.evidence.event_ids") or [])
    if evidence & set(label.event_ids):
        return True
    stamp = _get(alert, "@timestamp")
    return isinstance(stamp, str) and _epoch(label.start) <= _epoch(stamp) <= _epoch(label.end)


@dataclass
class KindScore:
    kind: str
    tp: int = 0
    fn: int = 0
    fp: int = 0
    duplicates: int = 0
    out_of_scope: int = 0  # violations whose rule this configuration leaves off
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "duplicates": self.duplicates,
            "out_of_scope": self.out_of_scope,
            "precision": self.precision,
            "recall": self.recall,
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
        }


def event_index(events: list[dict[str, Any]]) -> dict[str, str]:
    """Event id (as sessionwatch reads it) -> "dataset action", to say what an alert fired on."""
    index = {}
    for event in events:
        eid = _get(event, "event.id") or _get(event, "event.code") or _get(event, "onepassword.uuid")
        eid = eid or _get(event, "cisco_duo.auth.txid")
        if not eid:  # sessionwatch names an event without an id by the SHA-256 of its line
            line = json.dumps(event, sort_keys=True)
            eid = hashlib.sha256(line.encode("utf-8")).hexdigest()
        if eid:
            index[str(eid)] = f"{_get(event, 'event.dataset')} {_get(event, 'event.action')}"
    return index


def fired_on(alert: Alert, index: dict[str, str]) -> str:
    ids = _get(alert, "sessionwatch.evidence.event_ids") or []
    return index.get(str(ids[-1]), "?") if ids else "?"


def _describe(alert: Alert) -> str:
    facts = _get(alert, "sessionwatch.evidence.facts") or {}
    shown = ", ".join(f"{k.removeprefix('sessionwatch.')}={v}" for k, v in sorted(facts.items())[:5])
    session = _get(alert, "sessionwatch.session.id")
    return (
        f"{_get(alert, 'rule.name')} at {_get(alert, '@timestamp')} session={session}"
        f" user={_get(alert, 'user.name')} events={_get(alert, 'sessionwatch.evidence.event_ids')} [{shown}]"
    )


DEFAULT: frozenset[str] = frozenset()
SITE_RUN: frozenset[str] = frozenset({"site", "set:organisation"})  # what sessionwatch.toml turns on


def score(
    alerts: list[Alert],
    labels: list[Label],
    *,
    enabled: frozenset[str] = DEFAULT,
    index: dict[str, str] | None = None,
) -> dict[str, KindScore]:
    """Per-kind scores of ``alerts``; ``enabled`` = the label ``needs`` this run's configuration meets."""
    scores = {kind.value: KindScore(kind.value) for kind in Kind}
    violations = [label for label in labels if label.truth == "violation"]
    near = [label for label in labels if label.truth == "near_miss"]
    hits: dict[str, int] = defaultdict(int)
    for alert in alerts:
        kind = str(_get(alert, "rule.category"))
        entry = scores.setdefault(kind, KindScore(kind))
        matched = [label for label in violations if matches(alert, label)]
        if matched:
            for label in matched:
                hits[label.label_id] += 1
            continue
        missed = next((label for label in near if matches(alert, label)), None)
        reason = (
            f"near miss {missed.label_id} ({missed.vendor}): {missed.description}"
            if missed
            else "clean traffic"
        )
        entry.fp += 1
        on = fired_on(alert, index or {})
        entry.false_positives.append(f"{reason}; {_get(alert, 'rule.name')} on {on} <- {_describe(alert)}")
    for label in violations:
        entry = scores[label.kind]
        if not set(label.needs) <= enabled:
            entry.out_of_scope += 1
            continue
        if hits[label.label_id]:
            entry.tp += 1
            entry.duplicates += hits[label.label_id] - 1
        else:
            entry.fn += 1
            entry.false_negatives.append(
                f"{label.label_id} ({label.vendor}) {label.description}: session="
                f"{label.session} account={label.account} events {label.start}..{label.end}"
            )
    return scores


def fp_groups(scores: dict[str, KindScore]) -> list[tuple[int, str]]:
    """False positives grouped by reason, rule and what they fired on, most frequent first."""
    counts: dict[str, int] = defaultdict(int)
    for entry in scores.values():
        for text in entry.false_positives:
            reason = re.sub(r"^near miss ne-\d+ ", "near miss ", text.split(" <- ")[0])
            counts[f"{entry.kind}: {reason}"] += 1
    return sorted(((n, key) for key, n in counts.items()), reverse=True)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def table(scores: dict[str, KindScore], *, details: int = 5) -> str:
    lines = [f"{'kind':32} {'prec':>5} {'recall':>6} {'TP':>4} {'FP':>5} {'FN':>4} {'dup':>5} {'off':>4}"]
    for entry in scores.values():
        lines.append(
            f"{entry.kind:32} {_fmt(entry.precision):>5} {_fmt(entry.recall):>6} {entry.tp:>4} {entry.fp:>5}"
            f" {entry.fn:>4} {entry.duplicates:>5} {entry.out_of_scope:>4}"
        )
    for count, key in fp_groups(scores):
        lines.append(f"FP x{count:<4} {key}")
    for entry in scores.values():
        for text in entry.false_negatives:
            lines.append(f"FN {entry.kind}: {text}")
        for text in entry.false_positives[:details]:
            lines.append(f"FP {entry.kind}: {text}")
        if len(entry.false_positives) > details:
            lines.append(f"FP {entry.kind}: ... and {len(entry.false_positives) - details} more")
    return "\n".join(lines)
