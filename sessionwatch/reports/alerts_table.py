"""Alerts for people: a table grouped by rule, each finding as *actual vs limit*.

``detect`` picks its output the way ``gh`` and ``kubectl`` do: a table on a terminal, NDJSON
when piped, and ``--format table|ndjson|json`` overrides. NDJSON and JSON are the contract;
the table is for reading and may change. Colour only on a terminal, never with ``NO_COLOR``.

What "actual vs limit" says for each kind is declared with the kind (``KindSpec.describe``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

from sessionwatch.reports.human import Painter, isatty, plural, use_colour
from sessionwatch.rules.kinds import Describe, Kind
from sessionwatch.rules.kinds import alert_field as _get
from sessionwatch.rules.kinds import human_duration as human_duration  # re-exported for callers
from sessionwatch.rules.model import Rule

TABLE, NDJSON, JSON = "table", "ndjson", "json"
FORMATS = (TABLE, NDJSON, JSON)

Alert = Mapping[str, Any]
Params = Mapping[str, Any]


class _Wordings(Mapping[str, Describe]):
    """Each declared kind's wording of its findings (``KindSpec.describe``), keyed by kind name;
    a kind declared without one is not in it."""

    def __getitem__(self, kind: str) -> Describe:
        try:
            describe = Kind(kind).spec.describe
        except ValueError:
            describe = None
        if describe is None:
            raise KeyError(kind)
        return describe

    def __iter__(self) -> Iterator[str]:
        return (kind.value for kind in Kind if kind.spec.describe is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


# What each kind's finding says: a view of the kind declarations (``rules/kinds/<kind>.py``).
ACTUAL_VS_LIMIT: Mapping[str, Describe] = _Wordings()


def actual_vs_limit(alert: Alert, params: Params) -> str:
    """The finding in words: "idle 27m > 15m", "used 11m after logout", "7 sessions > 3"."""
    describe = ACTUAL_VS_LIMIT.get(str(_get(alert, "rule.category")))
    if describe is None:  # an unknown kind, or one declared without wording: what the alert says
        return str(alert.get("message", ""))
    return describe(alert, params)


# --- choosing and writing a format ------------------------------------------------------------


def choose_format(requested: str | None, stream: TextIO) -> str:
    """``requested``, else a table on a terminal and NDJSON anywhere else."""
    if requested:
        return requested
    return TABLE if isatty(stream) else NDJSON


_SEVERITY_STYLE = {"critical": "magenta", "high": "red", "medium": "yellow", "low": "cyan"}
SEVERITY_NAMES = ((99, "critical"), (73, "high"), (47, "medium"), (0, "low"))


def severity_name(score: Any) -> str:
    """ECS ``event.severity`` back to the rule's level (``73`` → ``high``)."""
    if not isinstance(score, int | float):
        return "?"
    return next(name for floor, name in SEVERITY_NAMES if score >= floor)


def _time(alert: Alert) -> str:
    stamp = str(alert.get("@timestamp") or "?")
    return stamp.replace("T", " ").replace(".000Z", "Z")


def format_table(
    alerts: Sequence[Alert], params_by_rule: Mapping[str, Params], *, colour: bool = False
) -> str:
    """The table: one block per rule (most severe first), one line per finding, a summary line."""
    paint = Painter(colour)
    if not alerts:
        return paint("no alerts", "bold") + "\n"
    groups: dict[str, list[Alert]] = {}
    for alert in alerts:
        groups.setdefault(str(_get(alert, "rule.name")), []).append(alert)
    order = sorted(groups, key=lambda name: (-(_get(groups[name][0], "event.severity") or 0), name))
    header = ("TIME", "SESSION", "USER", "ACTUAL vs LIMIT")
    rows = {
        name: [
            (
                _time(a),
                str(_get(a, "sessionwatch.session.id") or "—"),
                str(_get(a, "user.name") or "—"),
                actual_vs_limit(a, params_by_rule.get(name, {})),
            )
            for a in sorted(groups[name], key=lambda a: (str(a.get("@timestamp")), _time(a)))
        ]
        for name in order
    }
    widths = [max(len(h), *(len(r[i]) for rs in rows.values() for r in rs)) for i, h in enumerate(header[:3])]

    def line(cells: Sequence[str]) -> str:
        return "  " + "  ".join(c.ljust(w) for c, w in zip(cells[:3], widths, strict=True)) + "  " + cells[3]

    out: list[str] = []
    for name in order:
        first = groups[name][0]
        severity = severity_name(_get(first, "event.severity"))
        title = _get(first, "rule.description") or ""
        out.append(
            f"{paint(name, 'bold')}  {paint(severity, _SEVERITY_STYLE.get(severity, ''))}  "
            f"{_get(first, 'rule.category')}  {paint(plural(len(rows[name]), 'alert'), 'bold')}"
        )
        if title:
            out.append(f"  {paint(str(title), 'dim')}")
        out.append(paint(line(header), "dim"))
        out += [line(row) for row in rows[name]]
        out.append("")
    out.append(summary_line(alerts, paint))
    return "\n".join(out) + "\n"


def summary_line(alerts: Sequence[Alert], paint: Painter | None = None) -> str:
    """ "6 alerts from 3 rules: 4 high, 2 medium · 2 sessions · 2 users"."""
    paint = paint or Painter(False)
    by_severity: dict[str, int] = {}
    for alert in alerts:
        name = severity_name(_get(alert, "event.severity"))
        by_severity[name] = by_severity.get(name, 0) + 1
    levels = ", ".join(
        paint(f"{by_severity[name]} {name}", _SEVERITY_STYLE[name])
        for _, name in SEVERITY_NAMES
        if name in by_severity
    )
    rules = {_get(a, "rule.name") for a in alerts}
    sessions = {_get(a, "sessionwatch.session.id") for a in alerts} - {None}
    users = {_get(a, "user.name") for a in alerts} - {None}
    return (
        f"{paint(plural(len(alerts), 'alert'), 'bold')} from {plural(len(rules), 'rule')}: {levels}"
        f" · {plural(len(sessions), 'session')} · {plural(len(users), 'user')}"
    )


def params_by_rule(rules: Iterable[Rule]) -> dict[str, Params]:
    return {rule.name: dict(rule.params) for rule in rules}


def write_alerts(
    alerts: Sequence[Alert],
    requested: str | None,
    rules: Callable[[], Iterable[Rule]],
    out: TextIO,
) -> None:
    """Write ``alerts`` to ``out`` in the requested format (or the one ``out`` calls for).

    ``rules`` is called only for the table, whose limits come from the rules' parameters.
    """
    fmt = choose_format(requested, out)
    if fmt == NDJSON:
        out.writelines(json.dumps(a, sort_keys=True, ensure_ascii=False) + "\n" for a in alerts)
    elif fmt == JSON:
        out.write(json.dumps(list(alerts), sort_keys=True, ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(format_table(alerts, params_by_rule(rules()), colour=use_colour(out)))
    out.flush()
