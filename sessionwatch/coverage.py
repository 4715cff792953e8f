"""The coverage matrix an auditor asks for: rules x compliance controls x ATT&CK techniques x
source profiles (taken from the fixtures each rule is proven on), with the gaps shown.

One data model (``build``), two renderings (``markdown``, ``html``); both deterministic.
"""

from __future__ import annotations

import html
import json
import re
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
    """One table of the report. ``intro`` and cells are inline Markdown (code, bold, links), rendered
    as such by both renderings; ``anchors`` name rows other cells link to (``#rule-…``)."""

    title: str
    intro: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    anchors: tuple[str, ...] = ()


COVERED = "✓"  # the kinds x profiles cell of a kind proven on a profile; the legend says the same
ATTACK_URL = "https://attack.mitre.org/techniques/"


def slug(*parts: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", "-".join(parts).lower()).strip("-")


def rule_link(name: str) -> str:
    return f"[{name}](#{slug('rule', name)})"


def control_link(framework: str, control: str) -> str:
    return f"[{framework} {control}](#{slug('control', framework, control)})"


def technique_link(technique: str) -> str:
    """To MITRE's own page of the technique (``T1550.004`` → ``…/T1550/004/``)."""
    return f"[{technique}]({ATTACK_URL}{technique.replace('.', '/')}/)"


def _names(names: Sequence[str]) -> str:
    return ", ".join(rule_link(n) for n in names) if names else GAP


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
                ", ".join(control_link(fw, c) for fw, c in r.controls),
                ", ".join(technique_link(t) for t in r.techniques),
                ", ".join(r.profiles) or GAP,
            )
            for r in cov.rules
        ),
        tuple(slug("rule", r.name) for r in cov.rules),
    )
    kind_profile = Table(
        "Kinds x source profiles",
        f"{COVERED} = some rule of the kind is proven on a fixture in that profile's layout; "
        f"**{GAP}** = a kind without any active rule.",
        ("kind", "rules", *cov.profiles),
        tuple(
            (
                kind,
                _names(cov.rules_for_kind(kind)),
                *(COVERED if p in cov.kind_profiles(kind) else "" for p in cov.profiles),
            )
            for kind in kinds
        ),
    )
    out = [summary, matrix, kind_profile]
    for fw in cov.catalog.frameworks.values():
        out.append(
            Table(
                f"Compliance: {fw.title}",
                f"Controls of the catalogue and the rules that evidence them; **{GAP}** = no rule.",
                ("control", "title", "rules"),
                tuple(
                    (c, title, _names(cov.rules_for_control(fw.key, c))) for c, title in fw.controls.items()
                ),
                tuple(slug("control", fw.key, c) for c in fw.controls),
            )
        )
    out.append(
        Table(
            f"MITRE ATT&CK ({cov.catalog.attack_version})",
            f"Techniques of the catalogue and the rules that detect their use; **{GAP}** = no rule.",
            ("technique", "name", "rules"),
            tuple(
                (technique_link(t), name, _names(cov.rules_for_technique(t)))
                for t, name in sorted(cov.catalog.techniques.items())
            ),
            tuple(slug("technique", t) for t in sorted(cov.catalog.techniques)),
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
        anchors = table.anchors or ("",) * len(table.rows)
        for row, anchor in zip(table.rows, anchors, strict=True):
            cells = [f"**{GAP}**" if cell == GAP else _md_cell(cell) for cell in row]
            if anchor:
                cells[0] = f'<a id="{anchor}"></a>{cells[0]}'
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin-bottom:2em;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.3em 0.6em;text-align:left;vertical-align:top}
th{background:#f0f0f0}
td.gap{background:#fde2e1;color:#a00;font-weight:bold}
td.covered{background:#e3f5e1;text-align:center}
tr:target{outline:2px solid #36c}
"""


_LINK = re.compile(r"\[([^\]]+)\]\(((?:https://|#)[^)\s]*)\)")
_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def inline_html(markdown_text: str) -> str:
    """Inline Markdown as HTML: `code`, **bold**, [links](https://… or #anchor); the rest escaped."""
    text = html.escape(markdown_text, quote=True)
    text = _CODE.sub(r"<code>\1</code>", text)
    text = _BOLD.sub(r"<strong>\1</strong>", text)
    return _LINK.sub(r'<a href="\2">\1</a>', text)


def _html_cell(cell: str) -> str:
    if cell == GAP:
        return f'<td class="gap">{GAP}</td>'
    if cell == COVERED:
        return f'<td class="covered">{COVERED}</td>'
    return f"<td>{inline_html(cell)}</td>"


def _html_row(row: tuple[str, ...], anchor: str) -> str:
    opening = f'<tr id="{html.escape(anchor)}">' if anchor else "<tr>"
    return opening + "".join(_html_cell(c) for c in row) + "</tr>"


def html_page(cov: Coverage) -> str:
    """A self-contained HTML page (inline CSS, no scripts, no external resources)."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(TITLE)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(TITLE)}</h1><p>{inline_html(PREAMBLE)}</p>",
    ]
    for table in tables(cov):
        parts.append(f"<h2>{html.escape(table.title)}</h2><p>{inline_html(table.intro)}</p><table>")
        parts.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in table.header) + "</tr>")
        anchors = table.anchors or ("",) * len(table.rows)
        parts += [_html_row(row, anchor) for row, anchor in zip(table.rows, anchors, strict=True)]
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
