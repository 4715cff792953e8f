"""The coverage matrix an auditor asks for: rules x compliance controls x ATT&CK techniques x
source profiles (taken from the fixtures each rule is proven on), with the gaps shown.

One data model (``build``), two renderings (``markdown``, ``html``); both deterministic.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sessionwatch.enrichers import ProfileRegistry
from sessionwatch.fixtures_root import fixture_path
from sessionwatch.rules.catalog import Catalog
from sessionwatch.rules.errors import SessionwatchError
from sessionwatch.rules.kinds import Kind, Status
from sessionwatch.rules.model import Rule, RuleCase

GAP = "gap"


@dataclass(frozen=True)
class RuleRow:
    name: str
    title: str
    kind: str
    policy: str
    severity: str
    status: str
    positive: int
    negative: int
    profiles: tuple[str, ...]
    controls: tuple[tuple[str, str], ...]  # (framework, control)
    techniques: tuple[str, ...]

    @property
    def active(self) -> bool:
        return self.status != Status.DEPRECATED.value


@dataclass(frozen=True)
class Coverage:
    rules: tuple[RuleRow, ...]
    catalog: Catalog
    profiles: tuple[str, ...]  # every known input profile

    @property
    def active(self) -> tuple[RuleRow, ...]:
        return tuple(r for r in self.rules if r.active)

    def rules_for_kind(self, kind: str) -> list[str]:
        return [r.name for r in self.active if r.kind == kind]

    def rules_for_control(self, framework: str, control: str) -> list[str]:
        return [r.name for r in self.active if (framework, control) in r.controls]

    def rules_for_technique(self, technique: str) -> list[str]:
        return [r.name for r in self.active if technique in r.techniques]

    def kind_profiles(self, kind: str) -> set[str]:
        return {p for r in self.active if r.kind == kind for p in r.profiles}


def case_profiles(rule: Rule, case: RuleCase, registry: ProfileRegistry) -> set[str]:
    """The input profiles a case's fixture exercises (forced, or chosen per event by dataset)."""
    if case.profile:
        return {case.profile}
    found: set[str] = set()
    try:
        path = fixture_path(rule, case)
    except SessionwatchError:
        return found
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
            except json.JSONDecodeError:
                continue
            profile = registry.for_event(doc) if isinstance(doc, dict) else None
            if profile is not None:
                found.add(profile.name)
    return found


def build(rules: Iterable[Rule], catalog: Catalog, registry: ProfileRegistry) -> Coverage:
    rows = []
    for rule in sorted(rules, key=lambda r: (r.kind.value, r.name)):
        profiles: set[str] = set()
        for case in rule.tests:
            profiles |= case_profiles(rule, case, registry)
        rows.append(
            RuleRow(
                name=rule.name,
                title=rule.title,
                kind=rule.kind.value,
                policy=rule.policy or "",
                severity=rule.severity.value,
                status=rule.status.value,
                positive=sum(1 for c in rule.tests if c.expect),
                negative=sum(1 for c in rule.tests if not c.expect),
                profiles=tuple(sorted(profiles)),
                controls=tuple((fw, c) for fw, controls in sorted(rule.compliance.items()) for c in controls),
                techniques=tuple(rule.attack),
            )
        )
    return Coverage(rules=tuple(rows), catalog=catalog, profiles=tuple(registry.names))


# --- tables: one neutral form for both renderings -------------------------------------------


@dataclass(frozen=True)
class Table:
    title: str
    intro: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def _names(names: Sequence[str]) -> str:
    return ", ".join(names) if names else GAP


def tables(cov: Coverage) -> list[Table]:
    active = cov.active
    kinds = [k.value for k in Kind]
    covered_kinds = sum(1 for k in kinds if cov.rules_for_kind(k))
    used_profiles = sorted({p for r in active for p in r.profiles})
    cited = {c for r in active for c in r.controls}
    catalogue_controls = [(fw.key, c) for fw in cov.catalog.frameworks.values() for c in fw.controls]
    techniques = sorted({t for r in active for t in r.techniques})
    summary = Table(
        "Summary",
        "What the pack covers; deprecated rules are listed but count for nothing.",
        ("measure", "value"),
        (
            ("rules (active / all)", f"{len(active)} / {len(cov.rules)}"),
            ("rule kinds with a rule", f"{covered_kinds} / {len(kinds)}"),
            ("input profiles proven by fixtures", f"{len(used_profiles)} / {len(cov.profiles)}"),
            ("catalogue controls cited", f"{len(cited)} / {len(catalogue_controls)}"),
            ("ATT&CK techniques cited", f"{len(techniques)} / {len(cov.catalog.techniques)}"),
            (
                "test cases (must alert / must stay quiet)",
                f"{sum(r.positive for r in active)} / {sum(r.negative for r in active)}",
            ),
        ),
    )
    matrix = Table(
        "Rules",
        "Every rule with the controls it evidences, the techniques it detects and the input "
        "profiles its fixtures prove it on.",
        ("rule", "title", "kind", "policy", "status", "cases +/-", "controls", "ATT&CK", "profiles"),
        tuple(
            (
                r.name,
                r.title,
                r.kind,
                r.policy or "—",
                r.status,
                f"{r.positive}/{r.negative}",
                ", ".join(f"{fw} {c}" for fw, c in r.controls),
                ", ".join(r.techniques),
                ", ".join(r.profiles) or GAP,
            )
            for r in cov.rules
        ),
    )
    kind_profile = Table(
        "Kinds x source profiles",
        f"`x` = some rule of the kind is proven on a fixture in that profile's layout; `{GAP}` = "
        "a kind without any active rule.",
        ("kind", "rules", *cov.profiles),
        tuple(
            (
                kind,
                _names(cov.rules_for_kind(kind)),
                *("x" if p in cov.kind_profiles(kind) else "" for p in cov.profiles),
            )
            for kind in kinds
        ),
    )
    out = [summary, matrix, kind_profile]
    for fw in cov.catalog.frameworks.values():
        out.append(
            Table(
                f"Compliance: {fw.title}",
                f"Controls of the catalogue and the rules that evidence them; `{GAP}` = no rule.",
                ("control", "title", "rules"),
                tuple(
                    (c, title, _names(cov.rules_for_control(fw.key, c))) for c, title in fw.controls.items()
                ),
            )
        )
    out.append(
        Table(
            f"MITRE ATT&CK ({cov.catalog.attack_version})",
            f"Techniques of the catalogue and the rules that detect their use; `{GAP}` = no rule.",
            ("technique", "name", "rules"),
            tuple(
                (t, name, _names(cov.rules_for_technique(t)))
                for t, name in sorted(cov.catalog.techniques.items())
            ),
        )
    )
    return out


TITLE = "sessionwatch coverage"
PREAMBLE = (
    "Generated by `sessionwatch coverage`; do not edit. Rules x compliance controls x ATT&CK "
    "techniques x source profiles, with the gaps shown."
)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(cov: Coverage) -> str:
    lines = [f"# {TITLE}", "", PREAMBLE, ""]
    for table in tables(cov):
        lines += [f"## {table.title}", "", table.intro, ""]
        lines.append("| " + " | ".join(_md_cell(h) for h in table.header) + " |")
        lines.append("|" + "---|" * len(table.header))
        for row in table.rows:
            cells = [f"**{GAP}**" if cell == GAP else _md_cell(cell) for cell in row]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:2em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.3em 0.6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.gap{background:#fde2e1;color:#a00;font-weight:bold}
td.x{background:#e3f5e1;text-align:center}
"""


def _html_cell(cell: str) -> str:
    if cell == GAP:
        return f'<td class="gap">{GAP}</td>'
    if cell == "x":
        return '<td class="x">✓</td>'
    return f"<td>{html.escape(cell)}</td>"


def html_page(cov: Coverage) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external resources)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(TITLE)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(TITLE)}</h1><p>{html.escape(PREAMBLE)}</p>",
    ]
    for table in tables(cov):
        parts.append(f"<h2>{html.escape(table.title)}</h2><p>{html.escape(table.intro)}</p><table>")
        parts.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.header) + "</tr>")
        parts += ["<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in table.rows]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write(cov: Coverage, folder: Path, formats: Sequence[str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if "md" in formats:
        written.append(folder / "coverage.md")
        written[-1].write_text(markdown(cov), encoding="utf-8")
    if "html" in formats:
        written.append(folder / "coverage.html")
        written[-1].write_text(html_page(cov), encoding="utf-8")
    return written
