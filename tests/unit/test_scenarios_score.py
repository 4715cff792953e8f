"""The scenario scorer's matching rule (docs/detection-quality.md), on hand-made alerts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import sessionwatch.rules.kinds  # noqa: F401 - the installed package first, then bench/ from the repo

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

from bench.scenarios.model import Label  # noqa: E402
from bench.scenarios.score import SITE_RUN, matches, score, table  # noqa: E402


def _label(label_id: str, kind: str, truth: str = "violation", **extra: Any) -> Label:
    fields: dict[str, Any] = {
        "label_id": label_id,
        "kind": kind,
        "truth": truth,
        "vendor": "generic",
        "description": f"{label_id} described",
        "event_ids": ["e-5", "e-6"],
        "start": "2026-03-02T10:00:00.000Z",
        "end": "2026-03-02T10:30:00.000Z",
        "session": "s-1",
        "account": "alice",
    }
    fields.update(extra)
    return Label(**fields)


def _alert(
    kind: str,
    at: str,
    *,
    session: str | None = "s-1",
    user: str = "alice",
    ids: list[str] | None = None,
    rule: str = "r-1",
) -> dict[str, Any]:
    alert: dict[str, Any] = {
        "@timestamp": at,
        "rule": {"category": kind, "name": rule},
        "user": {"name": user},
        "sessionwatch": {
            "evidence": {"event_ids": ids or ["x"], "facts": {"sessionwatch.session.idle_seconds": 1.0}}
        },
    }
    if session is not None:
        alert["sessionwatch"]["session"] = {"id": session}
    return alert


IDLE = "session_idle_timeout"


def test_match_needs_kind_session_or_account_and_interval() -> None:
    label = _label("vi-1", IDLE)
    assert matches(_alert(IDLE, "2026-03-02T10:10:00Z"), label)
    assert matches(_alert(IDLE, "2026-03-02T10:30:00.000Z"), label)  # the interval is closed
    assert not matches(_alert("session_post_logout", "2026-03-02T10:10:00Z"), label)
    assert not matches(_alert(IDLE, "2026-03-02T10:10:00Z", session="s-2", user="bob"), label)
    assert matches(_alert(IDLE, "2026-03-02T10:10:00Z", session=None), label)  # account-level alert
    assert not matches(_alert(IDLE, "2026-03-02T11:10:00Z"), label)
    assert matches(_alert(IDLE, "2026-03-02T11:10:00Z", ids=["e-6"]), label)  # evidence names the event


def test_several_alerts_on_one_violation_count_once_and_are_not_false_positives() -> None:
    labels = [_label("vi-1", IDLE)]
    alerts = [_alert(IDLE, "2026-03-02T10:10:00Z", rule=r) for r in ("pci-15m", "aal3-15m", "aal2-30m")]
    result = score(alerts, labels)[IDLE]
    assert (result.tp, result.fp, result.fn, result.duplicates) == (1, 0, 0, 2)
    assert result.precision == 1.0
    assert result.recall == 1.0


def test_near_miss_and_clean_false_positives_say_why() -> None:
    labels = [_label("vi-1", IDLE), _label("ne-2", IDLE, truth="near_miss", session="s-9", account="carol")]
    alerts = [
        _alert(IDLE, "2026-03-02T10:05:00Z", session="s-9", user="carol"),
        _alert(IDLE, "2026-03-02T18:00:00Z", session="s-7", user="dave"),
    ]
    result = score(alerts, labels)[IDLE]
    assert (result.tp, result.fp, result.fn) == (0, 2, 1)
    assert result.false_positives[0].startswith("near miss ne-2 (generic): ne-2 described")
    assert result.false_positives[1].startswith("clean traffic")
    assert result.false_negatives[0].startswith("vi-1 (generic)")
    assert result.precision == 0.0
    assert result.recall == 0.0
    text = table(score(alerts, labels))
    assert "FN session_idle_timeout: vi-1" in text
    assert "FP x1" in text


def test_violations_whose_rule_is_off_are_out_of_scope() -> None:
    kind = "session_ip_binding"
    labels = [
        _label("vi-1", kind, needs=["site"]),
        _label("vi-2", "token_lifetime_policy", needs=["set:organisation"]),
    ]
    default = score([], labels)[kind]
    assert (default.tp, default.fn, default.out_of_scope, default.recall) == (0, 0, 1, None)
    assert score([], labels)["token_lifetime_policy"].out_of_scope == 1
    configured = score([], labels, enabled=SITE_RUN)
    assert (configured[kind].tp, configured[kind].fn, configured[kind].recall) == (0, 1, 0.0)
    assert configured["token_lifetime_policy"].fn == 1
    found = score([_alert(kind, "2026-03-02T10:10:00Z")], labels)[kind]
    assert found.fp == 0  # an alert on a real violation is never a false positive
