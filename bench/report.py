"""Turn a results JSON of ``bench.run_all`` into the Markdown tables of docs/benchmarks.md.

``python -m bench.report RESULTS.json [MORE.json ...]`` (later files override sections of earlier
ones, so figures from separate runs can be combined; each section says which run it is from).
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _run_line(run: dict[str, Any]) -> str:
    m = run["machine"]
    return (
        f"run {m['date']} ({run['mode']}), commit `{m['commit']}`, load average at start "
        f"{', '.join(_fmt(x) for x in m['load_average'])}, at end "
        f"{', '.join(_fmt(x) for x in m.get('load_average_end', []))}"
    )


def render(runs: list[dict[str, Any]]) -> str:
    sections: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for run in runs:
        for name, body in run["sections"].items():
            sections[name] = (body, run)
    lines: list[str] = []
    for name, (body, run) in sections.items():
        figures = body["figures"]
        lines += [f"### `{name}`", "", f"_{_run_line(run)}_", "", "| figure | value |", "|---|---|"]
        for key, value in figures.items():
            if isinstance(value, dict | list):
                continue
            lines.append(f"| {key} | {_fmt(value)} |")
        lines.append("")
        if "per_rule" in figures:
            lines += [
                "| rule | evaluate() median ms | p95 ms | server took in the _msearch, median ms | alerts |",
                "|---|---|---|---|---|",
            ]
            for rule, row in figures["per_rule"].items():
                took = _fmt(row.get("took_in_msearch_median_ms", ""))
                median_ms, p95_ms = _fmt(row["median_ms"]), _fmt(row["p95_ms"])
                lines.append(f"| {rule} | {median_ms} | {p95_ms} | {took} | {row['alerts']} |")
            lines.append("")
        if "recall_by_kind" in figures:
            lines += ["| kind | injected | detected |", "|---|---|---|"]
            for kind, row in sorted(figures["recall_by_kind"].items()):
                lines.append(f"| {kind} | {row['injected']} | {row['detected']} |")
            lines.append("")
        if "rows" in figures:
            rows = figures["rows"]
            keys = list(rows[0])
            lines += ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
            lines += ["| " + " | ".join(_fmt(r.get(k)) for k in keys) + " |" for r in rows]
            lines.append("")
        if "top" in figures:
            lines += ["| share | tottime s | calls | function |", "|---|---|---|---|"]
            for row in figures["top"]:
                share, spent, calls = f"{row['share']:.1%}", _fmt(row["tottime_s"]), _fmt(row["calls"])
                lines.append(f"| {share} | {spent} | {calls} | `{row['function']}` |")
            lines.append("")
        if "breakdown" in figures:
            lines += ["| call | calls | seconds |", "|---|---|---|"]
            for call, row in figures["breakdown"].items():
                spent = _fmt(row.get("seconds", row.get("wall_s")))
                lines.append(f"| {call} | {_fmt(row.get('calls', ''))} | {spent} |")
            lines.append("")
        for key in ("counts", "workload_by_layout"):
            if key in figures:
                lines += [f"{key}: `{json.dumps(figures[key])}`", ""]
        lines += [f"- note: {note}" for note in body["notes"]]
        if body["notes"]:
            lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    runs = []
    for path in argv:
        with open(path, encoding="utf-8") as handle:
            runs.append(json.load(handle))
    print(render(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
