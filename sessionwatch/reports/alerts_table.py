"""Alerts for people: a table grouped by rule, each finding as *actual vs limit*.

``detect`` picks its output the way ``gh`` and ``kubectl`` do: a table on a terminal, NDJSON
when piped, and ``--format table|ndjson|json`` overrides. NDJSON and JSON are the contract;
the table is for reading and may change. Colour only on a terminal, never with ``NO_COLOR``.

What "actual vs limit" says for each kind lives in one table, ``ACTUAL_VS_LIMIT``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TextIO

from sessionwatch.reports.human import Painter, isatty, plural, use_colour
from sessionwatch.rules.model import Rule

TABLE, NDJSON, JSON = "table", "ndjson", "json"
FORMATS = (TABLE, NDJSON, JSON)

Alert = Mapping[str, Any]
Params = Mapping[str, Any]


# --- reading an alert -------------------------------------------------------------------------


def _get(doc: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(doc, Mapping):
            return None
        doc = doc.get(part)
    return doc


def _fact(alert: Alert, name: str) -> Any:
    facts = _get(alert, "sessionwatch.evidence.facts") or {}
    return facts.get(f"sessionwatch.{name}")


def _count(alert: Alert, name: str) -> Any:
    return (_get(alert, "sessionwatch.evidence.counts") or {}).get(name)


# --- wording ----------------------------------------------------------------------------------


def human_duration(seconds: Any) -> str:
    """``1200`` → ``20m``, ``901`` → ``15m 1s``, ``97200`` → ``1d 3h``: the two largest units."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return "?"
    left = int(seconds)
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size or (unit == "s" and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
        if parts and (len(parts) == 2 or not left):
            break
    return " ".join(parts)


def _limit(params: Params, name: str) -> str:
    value = params.get(name)
    return "?" if value is None else str(value)


def _over(actual: str, params: Params, name: str) -> str:
    return f"{actual} > {_limit(params, name)}" if name in params else actual


def _duration_over(label: str, seconds: Any, params: Params, name: str) -> str:
    return _over(f"{label} {human_duration(seconds)}".strip(), params, name)


def _listed(values: Any) -> str:
    return ", ".join(str(v) for v in values) if isinstance(values, list | tuple) else str(values)


def _idle(alert: Alert, params: Params) -> str:
    return _duration_over("idle", _fact(alert, "session.idle_seconds"), params, "idle_timeout")


def _lifetime(alert: Alert, params: Params) -> str:
    if params.get("anchor") == "authentication" and _fact(alert, "session.since_auth_seconds") is not None:
        return _duration_over(
            "since login", _fact(alert, "session.since_auth_seconds"), params, "max_lifetime"
        )
    return _duration_over("age", _fact(alert, "session.age_seconds"), params, "max_lifetime")


def _post_logout(alert: Alert, params: Params) -> str:
    end = str(_fact(alert, "session.end_action") or "logout")
    return f"used {human_duration(_fact(alert, 'session.since_end_seconds'))} after {end}"


def _revoked(alert: Alert, params: Params) -> str:
    return f"used {human_duration(_fact(alert, 'token.since_revocation_seconds'))} after revocation"


def _expired(alert: Alert, params: Params) -> str:
    past = human_duration(_fact(alert, "token.past_expiry_seconds"))
    skew = f" > {params['clock_skew']} skew" if "clock_skew" in params else ""
    return f"used {past} past expiry{skew}"


def _token_lifetime(alert: Alert, params: Params) -> str:
    return _duration_over("lifetime", _fact(alert, "token.lifetime_seconds"), params, "max_token_lifetime")


def _renewal(alert: Alert, params: Params) -> str:
    grant, client = _fact(alert, "token.grant_type"), _fact(alert, "token.client_id")
    allowed_grants, allowed_clients = params.get("allowed_grant_types"), params.get("allowed_clients")
    if grant is not None and allowed_grants is not None and grant not in allowed_grants:
        return f"grant {grant} not in {_listed(allowed_grants)}"
    if client is not None and allowed_clients is not None and client not in allowed_clients:
        return f"client {client} not in {_listed(allowed_clients)}"
    age = _fact(alert, "session.age_seconds")
    if age is not None and "max_lifetime" in params:
        return _duration_over("renewed at session age", age, params, "max_lifetime")
    return f"renewed via {grant or '?'} by {client or '?'}"


def _inactive(alert: Alert, params: Params) -> str:
    status = _fact(alert, "account.status")
    if status is not None and status in (params.get("inactive_statuses") or ()):
        return f"account {status}"
    days = _fact(alert, "account.dormant_days")
    if days is not None:
        return _over(f"dormant {human_duration(days * 86400)}", params, "max_dormancy")
    return f"account {status or 'inactive'}"


def _ip(alert: Alert, params: Params) -> str:
    address = _fact(alert, "source.ip") or _get(alert, "source.ip") or "?"
    if "allowed_cidrs" in params:
        return f"{address} outside {_listed(params['allowed_cidrs'])}"
    if "max_addresses" in params and _count(alert, "addresses") is not None:
        return _over(f"{_count(alert, 'addresses')} addresses", params, "max_addresses")
    return f"network changed: {address}, started on {_fact(alert, 'ip.first') or '?'}"


def _device(alert: Alert, params: Params) -> str:
    devices = _fact(alert, "device.distinct")
    actual = _over(f"{devices if devices is not None else '?'} devices", params, "max_devices")
    now, first = _fact(alert, "device.fingerprint") or "?", _fact(alert, "device.first") or "?"
    return f"{actual}: {now}, bound to {first}"


def _requests(alert: Alert, params: Params) -> str:
    rate = _fact(alert, "session.requests_last_minute")
    limit = params.get("max_requests_per_minute")
    if rate is not None and limit is not None and rate > limit:
        return f"{rate} requests/min > {limit}"
    path, since_auth = _fact(alert, "url.path"), _fact(alert, "session.since_auth_seconds")
    if path is not None and "max_auth_age" in params:
        return f"{path} {_duration_over('with login', since_auth, params, 'max_auth_age')} old"
    return f"{rate if rate is not None else '?'} requests/min"


def _concurrency(alert: Alert, params: Params) -> str:
    sessions = _count(alert, "sessions")
    return _over(f"{sessions if sessions is not None else '?'} sessions", params, "max_sessions")


Describe = Callable[[Alert, Params], str]

# What each kind's finding says: the measured value and the rule's limit it broke, keyed by the
# kind's name (``rule.category``). A test checks it covers every declared kind.
ACTUAL_VS_LIMIT: Mapping[str, Describe] = {
    "session_idle_timeout": _idle,
    "session_max_lifetime": _lifetime,
    "session_post_logout": _post_logout,
    "token_revoked_use": _revoked,
    "token_expired_use": _expired,
    "token_lifetime_policy": _token_lifetime,
    "token_renewal_outside_workflow": _renewal,
    "account_inactive_use": _inactive,
    "session_ip_binding": _ip,
    "session_device_binding": _device,
    "session_request_pattern": _requests,
    "session_concurrency": _concurrency,
}


def actual_vs_limit(alert: Alert, params: Params) -> str:
    """The finding in words: "idle 27m > 15m", "used 11m after logout", "7 sessions > 3"."""
    describe = ACTUAL_VS_LIMIT.get(str(_get(alert, "rule.category")))
    if describe is None:  # a kind declared after this table was written: say what the alert says
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
