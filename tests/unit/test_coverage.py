"""``sessionwatch coverage``: the auditor's matrix, in Markdown and self-contained HTML."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sessionwatch.cli import main
from tests.conftest import RuleWriter


@pytest.fixture
def one_rule(tmp_path: Path, repo: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter) -> Path:
    (tmp_path / "fixtures").symlink_to(repo / "fixtures")
    return write_rule(tmp_path, idle_rule_data)


def _row(markdown: str, first_cell: str) -> str:
    """The table row whose first cell is ``first_cell`` (its row anchor and link markup removed)."""
    for line in markdown.splitlines():
        plain = re.sub(r'<a id="[^"]*"></a>', "", line)
        plain = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", plain)
        if plain.startswith(f"| {first_cell} |"):
            return plain
    raise AssertionError(f"no row {first_cell!r}")


def test_markdown_shows_coverage_and_gaps(capsys: pytest.CaptureFixture[str], one_rule: Path) -> None:
    assert main(["coverage", str(one_rule)]) == 0
    out = capsys.readouterr().out
    assert _row(out, "rule kinds with a rule") == "| rule kinds with a rule | 1 / 12 |"
    assert _row(out, "session_idle_timeout").startswith("| session_idle_timeout | pci-dss-idle-15m |")
    assert _row(out, "session_concurrency").startswith("| session_concurrency | **gap** |")
    assert _row(out, "8.2.8").endswith("| pci-dss-idle-15m |")
    assert _row(out, "8.2.6").endswith("| **gap** |")
    assert _row(out, "T1539").endswith("| pci-dss-idle-15m |")
    assert _row(out, "T1528").endswith("| **gap** |")
    # the profiles come from the fixtures: generic events and the Okta case
    assert "| generic, okta, salesforce |" in _row(out, "pci-dss-idle-15m")


def test_deprecated_rules_count_for_nothing(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    repo: Path,
    idle_rule_data: dict[str, Any],
    write_rule: RuleWriter,
) -> None:
    (tmp_path / "fixtures").symlink_to(repo / "fixtures")
    idle_rule_data["status"] = "deprecated"
    assert main(["coverage", str(write_rule(tmp_path, idle_rule_data))]) == 0
    out = capsys.readouterr().out
    assert _row(out, "rules (active / all)") == "| rules (active / all) | 0 / 1 |"
    assert _row(out, "8.2.8").endswith("| **gap** |")


def test_writes_self_contained_html_and_markdown(one_rule: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    assert main(["coverage", str(one_rule), "--out", str(out)]) == 0
    page = (out / "coverage.html").read_text(encoding="utf-8")
    assert (out / "coverage.md").read_text(encoding="utf-8").startswith("# sessionwatch coverage")
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert not re.search(r"src=", page)  # no external resource; links are navigation only
    hrefs = set(re.findall(r'href="([^"]*)"', page))
    assert hrefs
    assert all(h.startswith(("#", "https://attack.mitre.org/techniques/")) for h in hrefs)
    assert '<td class="gap">gap</td>' in page
    assert '<td><a href="#rule-pci-dss-idle-15m">pci-dss-idle-15m</a></td>' in page


def _page(one_rule: Path, tmp_path: Path) -> str:
    assert main(["coverage", str(one_rule), "--out", str(tmp_path / "r"), "--format", "html"]) == 0
    return (tmp_path / "r" / "coverage.html").read_text(encoding="utf-8")


def test_html_controls_and_techniques_link_to_their_rows_and_docs(one_rule: Path, tmp_path: Path) -> None:
    page = _page(one_rule, tmp_path)
    ids = set(re.findall(r'<tr id="([^"]+)">', page))
    internal = set(re.findall(r'href="#([^"]+)"', page))
    assert internal <= ids  # every in-page link lands on a row
    rule_row = re.search(r'<tr id="rule-pci-dss-idle-15m">(.*?)</tr>', page)
    assert rule_row is not None
    assert '<a href="#control-pci-dss-4-0-8-2-8">pci-dss-4.0 8.2.8</a>' in rule_row.group(1)
    assert '<a href="https://attack.mitre.org/techniques/T1550/004/">T1550.004</a>' in rule_row.group(1)
    control_row = re.search(r'<tr id="control-pci-dss-4-0-8-2-8">(.*?)</tr>', page)
    assert control_row is not None
    assert '<a href="#rule-pci-dss-idle-15m">pci-dss-idle-15m</a>' in control_row.group(1)


def test_html_legend_matches_the_cells_and_markdown_renders(one_rule: Path, tmp_path: Path) -> None:
    page = _page(one_rule, tmp_path)
    section = page.split("<h2>Kinds x source profiles</h2>", 1)[1].split("</table>", 1)[0]
    legend = section.split("</p>", 1)[0]
    cells = set(re.findall(r'<td class="([a-z]+)">([^<]*)</td>', section))
    assert cells == {("covered", "✓"), ("gap", "gap")}
    assert "✓ = some rule of the kind" in legend
    assert "<strong>gap</strong> = a kind without any active rule" in legend
    assert "`" not in page  # Markdown code spans are rendered, not shown
    assert "**" not in page
    assert "<code>sessionwatch coverage</code>" in page


def test_html_escapes_rule_text(
    tmp_path: Path, repo: Path, idle_rule_data: dict[str, Any], write_rule: RuleWriter
) -> None:
    (tmp_path / "fixtures").symlink_to(repo / "fixtures")
    idle_rule_data["title"] = "Idle <b>too</b> long & more"
    path = write_rule(tmp_path, idle_rule_data)
    assert main(["coverage", str(path), "--out", str(tmp_path / "r"), "--format", "html"]) == 0
    assert not (tmp_path / "r" / "coverage.md").exists()
    page = (tmp_path / "r" / "coverage.html").read_text(encoding="utf-8")
    assert "<b>too</b>" not in page
    assert "<td>Idle &lt;b&gt;too&lt;/b&gt; long &amp; more</td>" in page
